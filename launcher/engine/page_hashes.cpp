#include "page_hashes.hpp"

#include <xxhash.h>

#include "schema.hpp"

namespace ckpt::engine {

bool ProcessPageHashes::changed(std::uint64_t address, const std::byte* page) {
  const std::uint64_t hash = XXH3_64bits(page, image::kPageSize);
  current_.emplace_back(address, hash);
  if (previous_ == nullptr) return true;
  // Both lists ascend: walk the previous one along.
  while (cursor_ < previous_->size() && (*previous_)[cursor_].first < address) ++cursor_;
  return cursor_ == previous_->size() || (*previous_)[cursor_].first != address ||
         (*previous_)[cursor_].second != hash;
}

ProcessPageHashes PageHashes::begin(pid_t pid) const {
  const auto found = committed_.find(pid);
  return ProcessPageHashes(found == committed_.end() ? nullptr : &found->second);
}

}  // namespace ckpt::engine
