// Reading every chunk of every generation and checking its checksum.
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
// process and chunk. `progress` (optional) is called once per generation.
VerifyReport verify_image(const Image& image,
                          const std::function<void(const GenerationEntry&)>& progress = {});

}  // namespace ckpt::image
