// Parallel chunk encoder + in-order direct chunk writer.
//
// The caller appends bytes to a stream; every 1 MiB becomes a chunk that a
// pool of worker threads encodes (lz4/zstd) and checksums (xxh3) while the
// caller goes on filling the next one. A writer thread stores finished
// chunks in order with H5Dwrite_chunk, so HDF5's single-threaded filter
// pipeline is bypassed. Slot buffers are allocated once per pipeline and
// reused (freshly mapped memory is slow on our VMs, see notes).
//
// Only the writer thread calls HDF5 while a stream is open; the caller must
// not use HDF5 between begin() and finish().
#pragma once

#include <hdf5.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "codec.hpp"
#include "schema.hpp"

namespace ckpt::image {

class ChunkPipeline {
 public:
  // workers == 0: one per online CPU.
  ChunkPipeline(Codec codec, int level, unsigned workers = 0);
  ~ChunkPipeline();
  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;

  Codec codec() const { return codec_; }
  int level() const { return level_; }

  // Starts a stream into a one-dimensional chunked uint8 dataset created by
  // create_stream_dataset(). `label` names the stream in error messages.
  void begin(hid_t dataset, std::string label);
  // Copies bytes into the stream.
  void append(std::span<const std::byte> bytes);
  // Returns space for exactly `size` bytes (size divides kChunkBytes) that the
  // caller fills before the next call; avoids one copy for whole pages.
  std::byte* reserve(std::size_t size);
  // The rest of the chunk being filled (a fresh chunk when the current one
  // is full); the caller fills a prefix and commits its size (a multiple of
  // what divides kChunkBytes, possibly 0) before any other call.
  std::span<std::byte> open_space();
  void commit(std::size_t size);
  // Flushes the last (zero-padded) chunk, waits for all writes, trims the
  // dataset to the stream length and returns one record per chunk. Throws
  // ImageError if any write failed (e.g. disk full).
  std::vector<ChunkRecord> finish();
  std::uint64_t stream_bytes() const { return stream_bytes_; }

 private:
  enum class SlotState { kFree, kFilled, kEncoded };
  struct Slot {
    std::vector<std::byte> raw;
    std::vector<std::byte> encoded;
    std::size_t raw_bytes = 0;
    std::uint64_t chunk = 0;
    std::uint64_t checksum = 0;
    SlotState state = SlotState::kFree;
  };

  void acquire_next_slot();
  void submit_current();
  void worker_loop();
  void writer_loop();
  void write_chunk(Slot& slot);
  void throw_if_failed();

  const Codec codec_;
  const int level_;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  std::thread writer_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::uint64_t> to_encode_;
  bool stopping_ = false;
  bool stream_open_ = false;
  std::string error_;

  // Stream state. Producer side:
  hid_t dataset_ = H5I_INVALID_HID;
  std::string label_;
  Slot* current_ = nullptr;
  std::uint64_t next_chunk_ = 0;
  std::uint64_t stream_bytes_ = 0;
  // Writer side (guarded by mutex_ for hand-over):
  std::uint64_t next_write_ = 0;
  std::uint64_t extent_ = 0;
  std::vector<ChunkRecord> records_;
};

// Creates an empty, growable, 1 MiB-chunked uint8 dataset whose filter
// matches the codec, so h5dump can decode it with the filter plugin.
hid_t create_stream_dataset(hid_t parent, const char* name, Codec codec, int level);

}  // namespace ckpt::image
