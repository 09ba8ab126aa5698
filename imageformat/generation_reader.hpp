// Reads one generation file. Every chunk read is decoded and checked
// against its xxh3; errors name the generation, process and chunk.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "codec.hpp"
#include "h5_handle.hpp"
#include "schema.hpp"

namespace ckpt::image {

struct GenerationHeader {
  std::uint64_t seq = 0;
  GenerationKind kind = GenerationKind::kFull;
  std::uint64_t parent = 0;
  std::int64_t time_ns = 0;
  Codec codec = Codec::kNone;
  std::string dirty_engine;
  std::string note;
};

class GenerationReader {
 public:
  explicit GenerationReader(const std::string& path);

  const GenerationHeader& header() const { return header_; }
  const std::string& path() const { return path_; }

  std::vector<std::int64_t> pids() const;
  ProcessTables read_tables(std::int64_t pid) const;
  std::vector<std::uint64_t> page_index(std::int64_t pid) const;
  std::vector<std::uint64_t> zero_pages(std::int64_t pid) const;
  std::vector<ChunkRecord> page_chunks(std::int64_t pid) const;
  // Length of the pages dataset of `pid` in bytes (what the writer streamed).
  std::uint64_t page_stream_bytes(std::int64_t pid) const;
  // Reads and verifies page chunk `chunk` of `pid` into `out` (kChunkBytes).
  void read_page_chunk(std::int64_t pid, std::uint64_t chunk, std::span<std::byte> out) const;

  std::vector<FileRecord> files() const;
  std::vector<FileRange> ranges() const;
  const std::vector<ChunkRecord>& storage_chunks() const;
  // Length of the storage data dataset in bytes (0 without a storage section).
  std::uint64_t storage_stream_bytes() const;
  void read_storage_chunk(std::uint64_t chunk, std::span<std::byte> out) const;
  // Reads `length` bytes of the storage data stream at `offset`.
  std::vector<std::byte> read_storage_bytes(std::uint64_t offset, std::uint64_t length) const;

 private:
  struct OpenProcess {
    h5::Handle group;
    h5::Handle pages;
    std::vector<ChunkRecord> chunks;
  };
  OpenProcess& process(std::int64_t pid) const;
  void read_chunk(hid_t dataset, const ChunkRecord& record, std::uint64_t chunk,
                  std::span<std::byte> out, const std::string& where) const;
  std::string where(std::int64_t pid) const;

  std::string path_;
  h5::Handle file_;
  GenerationHeader header_;
  mutable std::map<std::int64_t, OpenProcess> processes_;
  mutable h5::Handle storage_data_;
  mutable std::vector<ChunkRecord> storage_chunks_;
  mutable bool storage_loaded_ = false;
};

}  // namespace ckpt::image
