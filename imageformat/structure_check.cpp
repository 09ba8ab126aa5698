#include "structure_check.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "errors.hpp"

namespace ckpt::image {
namespace {

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// "[start, start+length)", without overflowing.
std::string byte_span(std::uint64_t start, std::uint64_t length) {
  const std::string end =
      length > ~std::uint64_t{0} - start ? "beyond 2^64" : std::to_string(start + length);
  return "[" + std::to_string(start) + ", " + end + ")";
}

// True if [start, start+length) lies inside [0, limit).
bool inside(std::uint64_t start, std::uint64_t length, std::uint64_t limit) {
  return start <= limit && length <= limit - start;
}

// "FILE: generation N, PLACE"
std::string where(const GenerationReader& reader, const std::string& place) {
  return reader.path() + ": generation " + std::to_string(reader.header().seq) + ", " + place;
}

std::string chunk_name(std::uint64_t chunk) {
  return ", chunk " + std::to_string(chunk) + ": ";
}

// Every chunk of a stream holds at most one chunk of raw bytes and only the
// last may be short (the writer fills chunks in order). Returns the stream's
// raw length.
std::uint64_t check_stream_chunks(const std::vector<ChunkRecord>& chunks, const std::string& place,
                                  std::uint64_t unit) {
  std::uint64_t total = 0;
  for (std::uint64_t c = 0; c < chunks.size(); ++c) {
    const std::uint64_t raw = chunks[c].raw_bytes;
    const std::string bytes = std::to_string(raw) + " raw bytes";
    if (raw > kChunkBytes)
      throw ImageError(place + chunk_name(c) + bytes + " is more than one chunk");
    if (raw % unit != 0) {
      throw ImageError(place + chunk_name(c) + bytes + " is not a whole number of pages");
    }
    if (c + 1 < chunks.size() && raw != kChunkBytes) {
      throw ImageError(place + chunk_name(c) + bytes + ", but only the last chunk may be short");
    }
    total += raw;
  }
  return total;
}

void check_stream_length(std::uint64_t dataset_bytes, std::uint64_t chunk_bytes,
                         const std::string& place, const char* dataset, const char* table) {
  if (dataset_bytes != chunk_bytes) {
    throw ImageError(place + ": the " + dataset + " dataset holds " +
                     std::to_string(dataset_bytes) + " bytes, " + table + " lists " +
                     std::to_string(chunk_bytes));
  }
}

void check_page_index(const std::vector<std::uint64_t>& index, const std::string& place) {
  for (std::uint64_t row = 0; row < index.size(); ++row) {
    const std::string name = "page_index row " + std::to_string(row) + " (" + hex(index[row]) + ")";
    if (index[row] % kPageSize != 0) {
      throw ImageError(place + chunk_name(row / kPagesPerChunk) + name + " is not page-aligned");
    }
    if (row > 0 && index[row] <= index[row - 1]) {
      throw ImageError(place + chunk_name(row / kPagesPerChunk) + name + " does not ascend");
    }
  }
}

// Row r of page_index is page r of the stream: chunk r / kPagesPerChunk.
void check_page_count(std::uint64_t listed, const std::vector<ChunkRecord>& chunks,
                      std::uint64_t stream_bytes, const std::string& place) {
  const std::uint64_t stored = stream_bytes / kPageSize;
  if (listed > stored) {
    const std::uint64_t row = stored;
    const std::uint64_t chunk = row / kPagesPerChunk;
    const std::string text = "page_index row " + std::to_string(row);
    if (chunk < chunks.size()) {
      throw ImageError(place + chunk_name(chunk) + text + " points past the chunk's " +
                       std::to_string(chunks[chunk].raw_bytes) + " raw bytes");
    }
    throw ImageError(place + chunk_name(chunk) + text +
                     " points into it, but the chunk table has only " +
                     std::to_string(chunks.size()) + " chunks");
  }
  if (listed < stored) {
    throw ImageError(place + chunk_name(listed / kPagesPerChunk) +
                     "holds pages that page_index does not list (page_index lists " +
                     std::to_string(listed) + " pages, the chunks hold " + std::to_string(stored) +
                     ")");
  }
}

void check_threads(const ProcessTables& tables, const std::string& place) {
  for (const auto& thread : tables.threads) {
    if (!inside(thread.state_offset, thread.state_size, tables.thread_state.size())) {
      throw ImageError(place + ", thread " + std::to_string(thread.tid) + ": state bytes " +
                       byte_span(thread.state_offset, thread.state_size) +
                       " are past the end of the " + std::to_string(tables.thread_state.size()) +
                       " bytes of thread_state");
    }
  }
}

}  // namespace

void check_generation_header(const GenerationEntry& entry, const GenerationReader& reader) {
  const auto& header = reader.header();
  const auto listed_kind = static_cast<GenerationKind>(entry.kind);
  const std::string name = reader.path() + ": generation " + std::to_string(header.seq);
  if (header.kind != listed_kind) {
    throw ImageError(name + " is " + std::string(generation_kind_name(header.kind)) +
                     ", but the index lists it as " +
                     std::string(generation_kind_name(listed_kind)));
  }
  // Only an incremental generation's parent matters for restoring it.
  if (header.kind == GenerationKind::kIncremental && header.parent != entry.parent) {
    throw ImageError(name + " builds on generation " + std::to_string(header.parent) +
                     ", but the index says it builds on generation " +
                     std::to_string(entry.parent));
  }
}

void check_process_structure(const GenerationReader& reader, std::int64_t pid) {
  const std::string place = where(reader, "process " + std::to_string(pid));
  const auto index = reader.page_index(pid);
  const auto chunks = reader.page_chunks(pid);
  check_page_index(index, place);
  const std::uint64_t stream_bytes = check_stream_chunks(chunks, place, kPageSize);
  check_page_count(index.size(), chunks, stream_bytes, place);
  check_stream_length(reader.page_stream_bytes(pid), stream_bytes, place, "pages", "page_chunks");
  check_threads(reader.read_tables(pid), place);
}

void check_storage_structure(const GenerationReader& reader) {
  const std::string place = where(reader, "storage");
  const std::uint64_t data_bytes = check_stream_chunks(reader.storage_chunks(), place, 1);
  check_stream_length(reader.storage_stream_bytes(), data_bytes, place, "data", "data_chunks");
  const auto ranges = reader.ranges();
  for (const auto& file : reader.files()) {
    const std::string name = place + ", file '" + file.path + "'";
    if (!inside(file.first_range, file.range_count, ranges.size())) {
      throw ImageError(name + ": range rows " + byte_span(file.first_range, file.range_count) +
                       " are past the end of the " + std::to_string(ranges.size()) +
                       " rows of the ranges table");
    }
    for (std::uint64_t row = file.first_range; row < file.first_range + file.range_count; ++row) {
      const auto& range = ranges[row];
      if (!inside(range.data_offset, range.length, data_bytes)) {
        throw ImageError(name + ", ranges row " + std::to_string(row) + ": data bytes " +
                         byte_span(range.data_offset, range.length) + " are past the end of the " +
                         std::to_string(data_bytes) + " bytes of storage data");
      }
    }
  }
}

}  // namespace ckpt::image
