// libckpt_h5zstd.so: an HDF5 filter plugin for zstd, registered filter id
// 32015, so standard HDF5 tools (h5dump, h5repack, h5py...) can read images
// written with `--codec zstd`. Debian ships no zstd filter; point
// HDF5_PLUGIN_PATH at the folder holding this library.
//
// Chunk layout (identical to encode_chunk(Codec::kZstd) in
// imageformat/codec.cpp): each chunk is one zstd frame that records its
// decompressed size. Frames without a recorded size, or several frames in
// one chunk, as other writers may produce, are decoded as a stream.
// cd_values[0] is the compression level (used only when writing).
//
// The plugin links libzstd only, not libhdf5: it runs inside whatever HDF5
// the tool was built with. Buffers are exchanged with malloc/free, as the
// HDF5 filter interface requires.
#include <H5PLextern.h>
#include <zstd.h>

#include <cstdlib>
#include <memory>

namespace {

constexpr H5Z_filter_t kZstdFilterId = 32015;
constexpr int kDefaultLevel = 3;

struct FreeWithFree {
  void operator()(void* memory) const { std::free(memory); }
};
using MallocBuffer = std::unique_ptr<void, FreeWithFree>;

struct FreeDecompressContext {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};
struct FreeCompressContext {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};

// Replaces the filter's buffer by `output` holding `size` bytes.
size_t hand_over(MallocBuffer output, size_t size, size_t* buf_size, void** buf) {
  std::free(*buf);
  *buf = output.release();
  *buf_size = size;
  return size;
}

size_t decompress_with_known_size(const void* input, size_t nbytes, unsigned long long raw_size,
                                  size_t* buf_size, void** buf) {
  MallocBuffer output(std::malloc(raw_size > 0 ? raw_size : 1));
  if (!output) return 0;
  std::unique_ptr<ZSTD_DCtx, FreeDecompressContext> context(ZSTD_createDCtx());
  if (!context) return 0;
  const size_t produced = ZSTD_decompressDCtx(context.get(), output.get(), raw_size, input, nbytes);
  if (ZSTD_isError(produced) || produced != raw_size) return 0;
  return hand_over(std::move(output), produced, buf_size, buf);
}

size_t decompress_streaming(const void* input, size_t nbytes, size_t* buf_size, void** buf) {
  std::unique_ptr<ZSTD_DCtx, FreeDecompressContext> context(ZSTD_createDCtx());
  if (!context) return 0;
  size_t capacity = ZSTD_DStreamOutSize();
  MallocBuffer output(std::malloc(capacity));
  if (!output) return 0;
  ZSTD_inBuffer in{input, nbytes, 0};
  ZSTD_outBuffer out{output.get(), capacity, 0};
  size_t remaining = 1;  // non-zero: a frame is still open
  while (in.pos < in.size || remaining != 0) {
    if (out.pos == out.size) {
      capacity *= 2;
      void* grown = std::realloc(output.get(), capacity);
      if (grown == nullptr) return 0;
      static_cast<void>(output.release());
      output.reset(grown);
      out.dst = grown;
      out.size = capacity;
    }
    const size_t before_in = in.pos;
    const size_t before_out = out.pos;
    remaining = ZSTD_decompressStream(context.get(), &out, &in);
    if (ZSTD_isError(remaining)) return 0;
    const bool stuck = in.pos == before_in && out.pos == before_out && out.pos < out.size;
    if (stuck) return 0;  // truncated input
  }
  return hand_over(std::move(output), out.pos, buf_size, buf);
}

size_t decompress(size_t nbytes, size_t* buf_size, void** buf) {
  const unsigned long long raw_size = ZSTD_getFrameContentSize(*buf, nbytes);
  if (raw_size == ZSTD_CONTENTSIZE_ERROR) return 0;
  const size_t first_frame_bytes = ZSTD_findFrameCompressedSize(*buf, nbytes);
  if (ZSTD_isError(first_frame_bytes)) return 0;
  const bool one_frame_of_known_size =
      raw_size != ZSTD_CONTENTSIZE_UNKNOWN && first_frame_bytes == nbytes;
  if (!one_frame_of_known_size) return decompress_streaming(*buf, nbytes, buf_size, buf);
  return decompress_with_known_size(*buf, nbytes, raw_size, buf_size, buf);
}

size_t compress(size_t cd_nelmts, const unsigned int cd_values[], size_t nbytes, size_t* buf_size,
                void** buf) {
  int level = cd_nelmts > 0 ? static_cast<int>(cd_values[0]) : kDefaultLevel;
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) level = kDefaultLevel;
  const size_t capacity = ZSTD_compressBound(nbytes);
  MallocBuffer output(std::malloc(capacity));
  if (!output) return 0;
  std::unique_ptr<ZSTD_CCtx, FreeCompressContext> context(ZSTD_createCCtx());
  if (!context) return 0;
  const size_t written =
      ZSTD_compressCCtx(context.get(), output.get(), capacity, *buf, nbytes, level);
  if (ZSTD_isError(written)) return 0;
  return hand_over(std::move(output), written, buf_size, buf);
}

// The H5Z filter function: 0 tells HDF5 the filter failed.
size_t zstd_filter(unsigned int flags, size_t cd_nelmts, const unsigned int cd_values[],
                   size_t nbytes, size_t* buf_size, void** buf) noexcept {
  if ((flags & H5Z_FLAG_REVERSE) != 0) return decompress(nbytes, buf_size, buf);
  return compress(cd_nelmts, cd_values, nbytes, buf_size, buf);
}

const H5Z_class2_t kZstdFilterClass = {
    H5Z_CLASS_T_VERS,
    kZstdFilterId,
    1,  // encoder present
    1,  // decoder present
    "zstd (ckpt plugin)",
    nullptr,  // can_apply
    nullptr,  // set_local
    zstd_filter,
};

}  // namespace

extern "C" H5PL_type_t H5PLget_plugin_type(void) { return H5PL_TYPE_FILTER; }

extern "C" const void* H5PLget_plugin_info(void) { return &kZstdFilterClass; }
