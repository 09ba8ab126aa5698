// Folding a chain (full + incrementals) into one full generation.
#pragma once

#include <cstdint>
#include <optional>

#include "chain.hpp"
#include "image.hpp"

namespace ckpt::image {

struct MergeResult {
  std::size_t folded = 0;       // generations in the chain that was merged
  std::uint64_t seq = 0;        // the new full generation (0: nothing to do)
  std::uint64_t bytes = 0;      // its file size
};

// Writes everything a resolved chain holds into `writer` (storage, then
// processes in pid order) as full content.
void write_resolved_chain(const ResolvedChain& chain, GenerationWriter& writer);

// Merges the image's current chain. A chain of one full generation is left
// alone. `codec` defaults to the newest generation's codec. Crash-safe: the
// old chain stays the restart point until the new index is in place.
MergeResult merge_current_chain(Image& image, std::optional<Codec> codec = std::nullopt,
                                unsigned workers = 0);

}  // namespace ckpt::image
