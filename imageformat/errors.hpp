// Error types of the image library. Every message is one line that names
// what is wrong and where (image path, generation, process, chunk).
#pragma once

#include <stdexcept>
#include <string>

namespace ckpt::image {

// Anything wrong with an image: missing, unreadable, corrupt, wrong version.
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The image was written by a newer ckpt (format version too high).
class FormatVersionError : public ImageError {
 public:
  using ImageError::ImageError;
};

// A chunk's checksum or encoding is wrong.
class CorruptChunkError : public ImageError {
 public:
  using ImageError::ImageError;
};

}  // namespace ckpt::image
