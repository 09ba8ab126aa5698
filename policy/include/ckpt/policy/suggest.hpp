#pragma once
// "did you mean ...?" for misspelt keys and values.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace ckpt::policy {

// Edit distance counting insertions, deletions, substitutions and swaps of
// two neighbouring characters as one edit each.
std::size_t edit_distance(std::string_view from, std::string_view to);

// The candidate closest to word, if it is close enough to be a likely typo
// (at most 2 edits, and fewer edits than word has characters); ties go to
// the earlier candidate.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace ckpt::policy
