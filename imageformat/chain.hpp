// Chain resolution: a full generation plus the incrementals after it give
// each process's regions and tables (from the newest generation) and, for
// every page, the generation that holds its newest content. Pages outside
// the newest generation's regions, pages zeroed later, and pages older than
// a region marked fresh drop out. Used by restart, merge and inspect.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "generation_reader.hpp"
#include "image.hpp"

namespace ckpt::image {

struct PageSource {
  std::uint32_t link = 0;  // index into ResolvedChain::links
  std::uint64_t row = 0;   // row in that generation's page stream
};

struct ResolvedProcess {
  ProcessTables tables;
  std::vector<std::uint64_t> addresses;  // ascending
  std::vector<PageSource> sources;       // parallel to addresses
};

// A piece of a resolved file: `length` bytes at `file_offset`, stored in
// generation `link` at `data_offset` of its storage stream.
struct FileSegment {
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
  std::uint32_t link = 0;
  std::uint64_t data_offset = 0;
  bool operator==(const FileSegment&) const = default;
};

struct ResolvedFile {
  FileRecord record;  // newest record: path, kind, size, mode, mtime
  std::vector<FileSegment> segments;  // ascending, non-overlapping; gaps are zeros
};

struct ResolvedChain {
  std::vector<GenerationEntry> links;  // full generation first
  std::vector<std::unique_ptr<GenerationReader>> readers;
  std::vector<ResolvedProcess> processes;  // ascending pid
  std::vector<ResolvedFile> files;         // ascending path; deleted files omitted
};

// Resolves the image's current chain (newest full + incrementals).
// Throws ImageError if the image has no committed generation.
ResolvedChain resolve_chain(const Image& image);
// Resolves an explicit chain (first entry must be a full generation).
ResolvedChain resolve_chain(const Image& image, const std::vector<GenerationEntry>& links);

// Reads resolved pages, keeping one decoded chunk per generation cached.
class PageReader {
 public:
  explicit PageReader(const ResolvedChain& chain);
  // Copies page `index` of `process` into `out` (kPageSize bytes).
  void read_page(const ResolvedProcess& process, std::size_t index, std::byte* out);

 private:
  struct Cached {
    std::int64_t pid = -1;
    std::uint64_t chunk = ~0ull;
    std::vector<std::byte> bytes;
  };
  const ResolvedChain& chain_;
  std::vector<Cached> cache_;
};

// Reads a resolved file's content into `out` (resized to its size).
void read_resolved_file(const ResolvedChain& chain, const ResolvedFile& file,
                        std::vector<std::byte>& out);

}  // namespace ckpt::image
