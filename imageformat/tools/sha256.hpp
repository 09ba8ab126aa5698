// SHA-256 (FIPS 180-4), streaming. Used for content digests that users can
// reproduce with `sha256sum`, e.g. over the bytes `h5dump -b` writes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ckpt::tools {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> bytes);
  void update_u64_le(std::uint64_t value);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string finish_hex();

 private:
  void compress_block(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> pending_{};
  std::size_t pending_bytes_ = 0;
  std::uint64_t total_bytes_ = 0;
};

}  // namespace ckpt::tools
