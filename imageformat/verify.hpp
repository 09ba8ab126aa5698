// Reading every chunk of every generation and checking its checksum, after
// checking that each generation's tables agree with its chunks
// (structure_check.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "image.hpp"

namespace ckpt::image {

struct VerifyReport {
  std::uint64_t generations = 0;
  std::uint64_t processes = 0;
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;  // raw bytes checked
};

// Throws CorruptChunkError/ImageError naming the first bad generation,
// process (or storage) and chunk (or file); a generation file that is
// missing or is not the generation the index lists is an ImageError too.
// `progress` (optional) is called once per generation.
VerifyReport verify_image(const Image& image,
                          const std::function<void(const GenerationEntry&)>& progress = {});

}  // namespace ckpt::image
