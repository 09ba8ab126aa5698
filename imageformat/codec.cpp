#include "codec.hpp"

#include <hdf5.h>
#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <mutex>

namespace ckpt::image {
namespace {

constexpr std::size_t kLz4HeaderBytes = 12;

struct CompressContextFree {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DecompressContextFree {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

void put_be(std::byte* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<std::byte>(value & 0xff);
    value >>= 8;
  }
}

std::uint64_t get_be(const std::byte* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | std::to_integer<std::uint64_t>(in[i]);
  return value;
}

// One lz4 block per chunk: our chunks are 1 MiB, far below LZ4's limit.
std::size_t lz4_encode(std::span<const std::byte> raw, std::byte* out) {
  const auto size = raw.size();
  put_be(out, size, 8);
  put_be(out + 8, size, 4);
  std::byte* block = out + kLz4HeaderBytes;
  const int capacity = LZ4_compressBound(static_cast<int>(size));
  const int compressed =
      size == 0 ? 0
                : LZ4_compress_default(reinterpret_cast<const char*>(raw.data()),
                                       reinterpret_cast<char*>(block + 4), static_cast<int>(size),
                                       capacity);
  if (compressed <= 0 || static_cast<std::size_t>(compressed) >= size) {
    put_be(block, size, 4);
    if (size > 0) std::memcpy(block + 4, raw.data(), size);
    return kLz4HeaderBytes + 4 + size;
  }
  put_be(block, static_cast<std::uint64_t>(compressed), 4);
  return kLz4HeaderBytes + 4 + static_cast<std::size_t>(compressed);
}

bool lz4_decode(std::span<const std::byte> encoded, std::span<std::byte> out) {
  if (encoded.size() < kLz4HeaderBytes) return false;
  const std::uint64_t total = get_be(encoded.data(), 8);
  const std::uint64_t block_size = get_be(encoded.data() + 8, 4);
  if (total != out.size() || (total > 0 && block_size == 0)) return false;
  std::size_t in = kLz4HeaderBytes;
  std::size_t produced = 0;
  while (produced < total) {
    const std::size_t this_block = std::min<std::uint64_t>(block_size, total - produced);
    if (in + 4 > encoded.size()) return false;
    const std::size_t stored = get_be(encoded.data() + in, 4);
    in += 4;
    if (in + stored > encoded.size()) return false;
    if (stored == this_block) {
      std::memcpy(out.data() + produced, encoded.data() + in, stored);
    } else {
      const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(encoded.data() + in),
                                          reinterpret_cast<char*>(out.data() + produced),
                                          static_cast<int>(stored), static_cast<int>(this_block));
      if (got < 0 || static_cast<std::size_t>(got) != this_block) return false;
    }
    in += stored;
    produced += this_block;
  }
  return in == encoded.size();
}

// ---- HDF5 filter callbacks (used when HDF5 itself filters, e.g. H5Dread) ----

template <Codec codec>
size_t hdf5_filter(unsigned int flags, size_t cd_nelmts, const unsigned int cd_values[],
                   size_t nbytes, size_t* buf_size, void** buf) {
  const auto* input = static_cast<const std::byte*>(*buf);
  if ((flags & H5Z_FLAG_REVERSE) != 0) {
    std::size_t raw_size = 0;
    if constexpr (codec == Codec::kLz4) {
      if (nbytes < kLz4HeaderBytes) return 0;
      raw_size = get_be(input, 8);
    } else {
      const auto frame = ZSTD_getFrameContentSize(input, nbytes);
      if (frame == ZSTD_CONTENTSIZE_ERROR || frame == ZSTD_CONTENTSIZE_UNKNOWN) return 0;
      raw_size = frame;
    }
    void* output = std::malloc(raw_size > 0 ? raw_size : 1);
    if (output == nullptr) return 0;
    if (!decode_chunk(codec, {input, nbytes}, {static_cast<std::byte*>(output), raw_size})) {
      std::free(output);
      return 0;
    }
    std::free(*buf);
    *buf = output;
    *buf_size = raw_size;
    return raw_size;
  }
  const int level = (cd_nelmts > 0 && codec == Codec::kZstd) ? static_cast<int>(cd_values[0]) : 1;
  std::vector<std::byte> encoded;
  encode_chunk(codec, level, {input, nbytes}, encoded);
  void* output = std::malloc(encoded.size());
  if (output == nullptr) return 0;
  std::memcpy(output, encoded.data(), encoded.size());
  std::free(*buf);
  *buf = output;
  *buf_size = encoded.size();
  return encoded.size();
}

}  // namespace

std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::kLz4:
      return "lz4";
    case Codec::kZstd:
      return "zstd";
    default:
      return "none";
  }
}

std::optional<Codec> parse_codec(std::string_view name) {
  if (name == "none") return Codec::kNone;
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  return std::nullopt;
}

std::size_t max_encoded_size(Codec codec, std::size_t raw_size) {
  switch (codec) {
    case Codec::kLz4:
      return kLz4HeaderBytes + 4 +
             std::max<std::size_t>(raw_size, LZ4_compressBound(static_cast<int>(raw_size)));
    case Codec::kZstd:
      return ZSTD_compressBound(raw_size);
    default:
      return raw_size;
  }
}

void encode_chunk(Codec codec, int level, std::span<const std::byte> raw,
                  std::vector<std::byte>& out) {
  out.resize(max_encoded_size(codec, raw.size()));
  std::size_t size = raw.size();
  switch (codec) {
    case Codec::kLz4:
      size = lz4_encode(raw, out.data());
      break;
    case Codec::kZstd: {
      thread_local std::unique_ptr<ZSTD_CCtx, CompressContextFree> context{ZSTD_createCCtx()};
      size = ZSTD_compressCCtx(context.get(), out.data(), out.size(), raw.data(), raw.size(), level);
      if (ZSTD_isError(size)) throw std::runtime_error("zstd compression failed");
      break;
    }
    default:
      if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  }
  out.resize(size);
}

bool decode_chunk(Codec codec, std::span<const std::byte> encoded, std::span<std::byte> out) {
  switch (codec) {
    case Codec::kLz4:
      return lz4_decode(encoded, out);
    case Codec::kZstd: {
      const auto frame = ZSTD_getFrameContentSize(encoded.data(), encoded.size());
      if (frame != out.size()) return false;
      thread_local std::unique_ptr<ZSTD_DCtx, DecompressContextFree> context{ZSTD_createDCtx()};
      const auto got =
          ZSTD_decompressDCtx(context.get(), out.data(), out.size(), encoded.data(), encoded.size());
      return !ZSTD_isError(got) && got == out.size();
    }
    default:
      if (encoded.size() != out.size()) return false;
      if (!out.empty()) std::memcpy(out.data(), encoded.data(), out.size());
      return true;
  }
}

void register_hdf5_filters() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const H5Z_class2_t lz4_class = {H5Z_CLASS_T_VERS, kLz4FilterId, 1, 1, "lz4 (ckpt)",
                                           nullptr, nullptr, hdf5_filter<Codec::kLz4>};
    static const H5Z_class2_t zstd_class = {H5Z_CLASS_T_VERS, kZstdFilterId, 1, 1, "zstd (ckpt)",
                                            nullptr, nullptr, hdf5_filter<Codec::kZstd>};
    H5Zregister(&lz4_class);
    H5Zregister(&zstd_class);
  });
}

std::uint64_t chunk_checksum(std::span<const std::byte> raw) {
  return XXH3_64bits(raw.data(), raw.size());
}

}  // namespace ckpt::image
