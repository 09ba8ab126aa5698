#include "chain.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "errors.hpp"

namespace ckpt::image {
namespace {

struct PageEntry {
  std::uint64_t address;
  PageSource source;
};

bool inside_any(const std::vector<Region>& regions, std::uint64_t address) {
  auto after = std::upper_bound(regions.begin(), regions.end(), address,
                                [](std::uint64_t value, const Region& r) { return value < r.start; });
  if (after == regions.begin()) return false;
  --after;
  return address < after->end;
}

std::vector<Region> sorted_regions(std::vector<Region> regions) {
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.start < b.start; });
  return regions;
}

// Applies one generation's view of a process to the running page list.
std::vector<PageEntry> overlay(const std::vector<PageEntry>& older, const GenerationReader& reader,
                               std::int64_t pid, std::uint32_t link,
                               const std::vector<Region>& regions) {
  const auto index = reader.page_index(pid);
  auto zeroed = reader.zero_pages(pid);
  std::sort(zeroed.begin(), zeroed.end());
  std::vector<Region> fresh;
  for (const auto& region : regions) {
    if ((region.flags & kRegionFresh) != 0) fresh.push_back(region);
  }
  auto keep_older = [&](std::uint64_t address) {
    return inside_any(regions, address) && !inside_any(fresh, address) &&
           !std::binary_search(zeroed.begin(), zeroed.end(), address);
  };
  std::vector<PageEntry> merged;
  merged.reserve(older.size() + index.size());
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < older.size() || j < index.size()) {
    if (j == index.size() || (i < older.size() && older[i].address < index[j])) {
      if (keep_older(older[i].address)) merged.push_back(older[i]);
      ++i;
    } else {
      if (i < older.size() && older[i].address == index[j]) ++i;  // newer wins
      if (inside_any(regions, index[j])) merged.push_back({index[j], {link, j}});
      ++j;
    }
  }
  return merged;
}

// Overlays [offset, offset+length) onto a sorted list of segments.
void overlay_segment(std::vector<FileSegment>& segments, const FileSegment& added) {
  std::vector<FileSegment> result;
  const std::uint64_t start = added.file_offset;
  const std::uint64_t end = added.file_offset + added.length;
  for (const auto& segment : segments) {
    const std::uint64_t s = segment.file_offset;
    const std::uint64_t e = segment.file_offset + segment.length;
    if (e <= start || s >= end) {
      result.push_back(segment);
      continue;
    }
    if (s < start) result.push_back({s, start - s, segment.link, segment.data_offset});
    if (e > end) {
      result.push_back({end, e - end, segment.link, segment.data_offset + (end - s)});
    }
  }
  result.push_back(added);
  std::sort(result.begin(), result.end(),
            [](const FileSegment& a, const FileSegment& b) { return a.file_offset < b.file_offset; });
  segments = std::move(result);
}

void truncate_segments(std::vector<FileSegment>& segments, std::uint64_t size) {
  std::vector<FileSegment> result;
  for (auto segment : segments) {
    if (segment.file_offset >= size) continue;
    segment.length = std::min(segment.length, size - segment.file_offset);
    result.push_back(segment);
  }
  segments = std::move(result);
}

void resolve_files(ResolvedChain& chain) {
  std::map<std::string, ResolvedFile> files;
  for (std::uint32_t link = 0; link < chain.readers.size(); ++link) {
    const auto& reader = *chain.readers[link];
    const auto records = reader.files();
    const auto ranges = reader.ranges();
    if (reader.header().kind == GenerationKind::kFull) files.clear();
    for (const auto& record : records) {
      auto& file = files[record.path];
      const auto kind = static_cast<FileEntryKind>(record.kind);
      if (kind != FileEntryKind::kRanges) file.segments.clear();
      for (std::uint64_t r = 0; r < record.range_count; ++r) {
        if (record.first_range + r >= ranges.size()) {
          throw ImageError(reader.path() + ": storage ranges of " + record.path + " out of bounds");
        }
        const auto& range = ranges[record.first_range + r];
        overlay_segment(file.segments, {range.file_offset, range.length, link, range.data_offset});
      }
      truncate_segments(file.segments, record.size);
      file.record = record;
    }
  }
  for (auto& [path, file] : files) {
    if (static_cast<FileEntryKind>(file.record.kind) == FileEntryKind::kDeleted) continue;
    chain.files.push_back(std::move(file));
  }
}

}  // namespace

ResolvedChain resolve_chain(const Image& image) {
  const auto links = image.current_chain();
  if (links.empty()) throw ImageError(image.path() + ": no committed checkpoint in this image");
  return resolve_chain(image, links);
}

ResolvedChain resolve_chain(const Image& image, const std::vector<GenerationEntry>& links) {
  ResolvedChain chain;
  chain.links = links;
  for (const auto& entry : links) {
    chain.readers.push_back(std::make_unique<GenerationReader>(image.open_generation(entry)));
  }
  if (chain.readers.empty() || chain.readers.front()->header().kind != GenerationKind::kFull) {
    throw ImageError(image.path() + ": chain does not start with a full generation");
  }
  // A process exists in the chain if the newest generation lists it.
  const auto& newest = *chain.readers.back();
  for (const std::int64_t pid : newest.pids()) {
    ResolvedProcess process;
    process.tables = newest.read_tables(pid);
    std::vector<PageEntry> pages;
    for (std::uint32_t link = 0; link < chain.readers.size(); ++link) {
      const auto& reader = *chain.readers[link];
      const auto pids = reader.pids();
      if (!std::binary_search(pids.begin(), pids.end(), pid)) {
        pages.clear();  // the process did not exist then: older pages are not its own
        continue;
      }
      const auto regions = sorted_regions(reader.read_tables(pid).regions);
      pages = overlay(pages, reader, pid, link, regions);
    }
    for (const auto& page : pages) {
      process.addresses.push_back(page.address);
      process.sources.push_back(page.source);
    }
    chain.processes.push_back(std::move(process));
  }
  resolve_files(chain);
  return chain;
}

PageReader::PageReader(const ResolvedChain& chain) : chain_(chain), cache_(chain.readers.size()) {}

void PageReader::read_page(const ResolvedProcess& process, std::size_t index, std::byte* out) {
  const PageSource& source = process.sources.at(index);
  Cached& cached = cache_.at(source.link);
  const std::uint64_t chunk = source.row / kPagesPerChunk;
  const std::int64_t pid = process.tables.info.pid;
  if (cached.pid != pid || cached.chunk != chunk) {
    cached.bytes.resize(kChunkBytes);
    chain_.readers[source.link]->read_page_chunk(pid, chunk, cached.bytes);
    cached.pid = pid;
    cached.chunk = chunk;
  }
  std::memcpy(out, cached.bytes.data() + (source.row % kPagesPerChunk) * kPageSize, kPageSize);
}

void read_resolved_file(const ResolvedChain& chain, const ResolvedFile& file,
                        std::vector<std::byte>& out) {
  out.assign(file.record.size, std::byte{0});
  for (const auto& segment : file.segments) {
    const auto bytes = chain.readers.at(segment.link)->read_storage_bytes(segment.data_offset,
                                                                          segment.length);
    std::memcpy(out.data() + segment.file_offset, bytes.data(), bytes.size());
  }
}

}  // namespace ckpt::image
