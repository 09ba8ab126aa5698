// Chunk codecs. The byte layout of each codec is exactly what the matching
// registered HDF5 filter produces, so h5dump (with Debian's lz4 plugin, or
// our zstd plugin) reads chunks that we compressed ourselves in parallel and
// stored with H5Dwrite_chunk.
//   lz4  -> HDF5 filter 32004: be64 original size, be32 block size, then per
//           block be32 compressed size + data (raw if it did not shrink)
//   zstd -> HDF5 filter 32015: one zstd frame
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::image {

enum class Codec : std::uint8_t { kNone, kLz4, kZstd };

inline constexpr unsigned kLz4FilterId = 32004;
inline constexpr unsigned kZstdFilterId = 32015;

std::string_view codec_name(Codec codec);
std::optional<Codec> parse_codec(std::string_view name);

// Worst-case encoded size of `raw_size` bytes.
std::size_t max_encoded_size(Codec codec, std::size_t raw_size);

// Encodes `raw` into `out` (resized to the encoded size). kNone copies.
void encode_chunk(Codec codec, int level, std::span<const std::byte> raw,
                  std::vector<std::byte>& out);

// Decodes `encoded` into `out`, which must have exactly the expected size.
// Returns false if the data is malformed or has another size.
bool decode_chunk(Codec codec, std::span<const std::byte> encoded, std::span<std::byte> out);

// Registers our lz4 and zstd implementations as HDF5 filters 32004/32015 in
// this process (idempotent), so datasets can declare them without plugins.
void register_hdf5_filters();

// 64-bit xxh3 of a chunk's raw bytes.
std::uint64_t chunk_checksum(std::span<const std::byte> raw);

}  // namespace ckpt::image
