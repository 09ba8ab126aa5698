// The records of an image (format version 1, docs/image-format.md).
// One struct per image object; each lists its HDF5 columns in schema.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "h5_table.hpp"

namespace ckpt::image {

inline constexpr std::uint64_t kFormatVersion = 1;
inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kChunkBytes = 1 << 20;  // 256 pages per chunk
inline constexpr std::uint64_t kPagesPerChunk = kChunkBytes / kPageSize;

enum class GenerationKind : std::uint8_t { kFull, kIncremental };
std::string_view generation_kind_name(GenerationKind kind);

// What a memory region is; the engine decides how each kind is restored.
enum class RegionKind : std::uint32_t {
  kAnonymous = 0,
  kHeap = 1,
  kStack = 2,
  kFilePrivate = 3,  // private file mapping: pages saved like anonymous memory
  kFileShared = 4,   // shared file mapping: remapped from the file, pages not saved
  kVdso = 5,
  kVvar = 6,
  kVvarVclock = 7,
  kVsyscall = 8,
  kOther = 9,
};

// Region flags (bit set).
inline constexpr std::uint32_t kRegionShared = 1u << 0;   // MAP_SHARED
inline constexpr std::uint32_t kRegionFresh = 1u << 1;    // no content older than this generation
inline constexpr std::uint32_t kRegionGrowsDown = 1u << 2;
// Its pages are the content of the shared object it maps (device, inode):
// taken once per object with the whole group stopped; other regions that
// map the same bytes hold none of them.
inline constexpr std::uint32_t kRegionSharedContent = 1u << 3;

struct Region {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint32_t prot = 0;  // PROT_READ | PROT_WRITE | PROT_EXEC
  std::uint32_t flags = 0;
  std::uint32_t kind = 0;  // RegionKind
  std::uint64_t file_offset = 0;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::string path;
  bool operator==(const Region&) const = default;
};

// A thread: its saved machine state is an engine-defined blob stored in the
// process's thread_state dataset at [state_offset, state_offset+state_size).
struct ThreadRecord {
  std::uint32_t tid = 0;
  std::uint32_t flags = 0;
  std::uint64_t state_offset = 0;
  std::uint64_t state_size = 0;
  bool operator==(const ThreadRecord&) const = default;
};

enum class DescriptorKind : std::uint32_t {
  kRegularFile = 0,
  kDirectory = 1,
  kCharDevice = 2,
  kPipe = 3,
  kSocket = 4,
  kFifo = 5,
  kOther = 6,
};

struct DescriptorRecord {
  std::int32_t fd = 0;
  std::uint32_t kind = 0;  // DescriptorKind
  std::int32_t open_flags = 0;
  std::int32_t fd_flags = 0;  // FD_CLOEXEC
  std::int64_t offset = 0;
  std::uint64_t shared_id = 0;  // equal ids: one open file description shared
  std::string path;
  bool operator==(const DescriptorRecord&) const = default;
};

struct ProcessInfo {
  std::int64_t pid = 0;
  std::int64_t ppid = 0;
  std::int64_t pgid = 0;
  std::int64_t sid = 0;
  std::string exe;
  std::string cwd;
  std::vector<std::string> argv;
  bool operator==(const ProcessInfo&) const = default;
};

// Everything about a process except its page bytes.
struct ProcessTables {
  ProcessInfo info;
  std::vector<Region> regions;
  std::vector<ThreadRecord> threads;
  std::vector<std::uint8_t> thread_state;
  std::vector<DescriptorRecord> descriptors;
  std::vector<std::uint8_t> misc;  // engine-defined: dispositions, rlimits, timers...
  // engine-defined: pipes and sockets the process holds, with the bytes in
  // flight at the checkpoint (dataset "channels", absent when empty)
  std::vector<std::uint8_t> channels;
  bool operator==(const ProcessTables&) const = default;
};

// One stored chunk of a chunked byte stream (pages or file data).
struct ChunkRecord {
  std::uint64_t raw_bytes = 0;     // bytes before encoding (the last chunk may be short)
  std::uint64_t stored_bytes = 0;  // bytes in the file
  std::uint64_t checksum = 0;      // xxh3-64 of the raw bytes
  bool operator==(const ChunkRecord&) const = default;
};

enum class FileEntryKind : std::uint32_t {
  kWhole = 0,    // data holds the complete content
  kRanges = 1,   // data holds byte ranges over the previous generation's content
  kDeleted = 2,  // the file did not exist at this checkpoint
  kDirectory = 3,
};

// One file of the storage checkpoint. Its ranges are rows
// [first_range, first_range + range_count) of the storage ranges table.
struct FileRecord {
  std::string path;
  std::uint32_t kind = 0;  // FileEntryKind
  std::uint32_t mode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t first_range = 0;
  std::uint64_t range_count = 0;
  bool operator==(const FileRecord&) const = default;
};

// A byte range of a file, stored in the storage data stream at data_offset.
struct FileRange {
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
  std::uint64_t data_offset = 0;
  bool operator==(const FileRange&) const = default;
};

// A row of the index's generation table.
struct GenerationEntry {
  std::uint64_t seq = 0;
  std::uint32_t kind = 0;  // GenerationKind
  std::uint64_t parent = 0;  // seq of the generation this one builds on (0: none)
  std::int64_t time_ns = 0;
  std::uint64_t bytes = 0;  // size of the generation file
  std::string file;         // relative to the index's folder
  bool operator==(const GenerationEntry&) const = default;
};

std::span<const h5::Column<Region>> region_columns();
std::span<const h5::Column<ThreadRecord>> thread_columns();
std::span<const h5::Column<DescriptorRecord>> descriptor_columns();
std::span<const h5::Column<ChunkRecord>> chunk_columns();
std::span<const h5::Column<FileRecord>> file_columns();
std::span<const h5::Column<FileRange>> range_columns();
std::span<const h5::Column<GenerationEntry>> generation_columns();

}  // namespace ckpt::image
