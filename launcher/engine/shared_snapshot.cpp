#include "shared_snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "owned_fd.hpp"
#include "process_capture.hpp"
#include "schema.hpp"

namespace ckpt::engine {
namespace {

constexpr std::size_t kPage = image::kPageSize;
constexpr std::size_t kCopyBytes = image::kChunkBytes;  // one read at a time

// Whether [from, to) lies inside one of `ranges` (merged, ascending).
bool covered(const AddressRanges& ranges, std::uint64_t from, std::uint64_t to) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& range) { return range.first <= from && to <= range.second; });
}

void add_merged(AddressRanges& ranges, std::uint64_t from, std::uint64_t to) {
  ranges.emplace_back(from, to);
  std::sort(ranges.begin(), ranges.end());
  AddressRanges merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, range.second);
    } else {
      merged.push_back(range);
    }
  }
  ranges = std::move(merged);
}

std::string hex(std::uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

int open_memory(pid_t pid, int flags) {
  const std::string path = "/proc/" + std::to_string(pid) + "/mem";
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

bool page_is_zero(const std::byte* page) {
  return std::all_of(page, page + kPage, [](std::byte b) { return b == std::byte{0}; });
}

// Copies [start, end) of the stopped `process` (its shared mapping) into
// the same addresses of `twin` (its empty private mapping), all but the
// zero pages (the twin's pages are zero already and stay absent).
void copy_range(pid_t process, pid_t twin, std::uint64_t start, std::uint64_t end,
                std::vector<std::byte>& buffer) {
  const OwnedFd from(open_memory(process, O_RDONLY));
  const OwnedFd to(open_memory(twin, O_WRONLY));
  for (std::uint64_t at = start; at < end;) {
    const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(end - at, kCopyBytes));
    const ssize_t got = ::pread(from.get(), buffer.data(), length, static_cast<off_t>(at));
    if (got != static_cast<ssize_t>(length)) {
      throw std::runtime_error("cannot read memory shared between processes at " + hex(at) + ": " +
                               (got < 0 ? std::strerror(errno) : "short read"));
    }
    for (std::size_t page = 0; page < length;) {
      if (page_is_zero(buffer.data() + page)) {
        page += kPage;
        continue;
      }
      std::size_t run_end = page + kPage;
      while (run_end < length && !page_is_zero(buffer.data() + run_end)) run_end += kPage;
      const ssize_t put =
          ::pwrite(to.get(), buffer.data() + page, run_end - page, static_cast<off_t>(at + page));
      if (put != static_cast<ssize_t>(run_end - page)) {
        throw std::runtime_error("cannot write memory shared between processes into a checkpoint twin at " +
                                 hex(at + page) + ": " + (put < 0 ? std::strerror(errno) : "short write"));
      }
      page = run_end;
    }
    at += length;
  }
}

// Whether the twin put an empty private mapping at `copy` (a mapping
// without PROT_READ is only listed: still the shared one, not saved).
bool replaced_in_twin(const std::vector<image::Region>& twin_regions, const CkptSharedCopy& copy) {
  for (const auto& region : twin_regions) {
    if (region.start <= copy.start && copy.end <= region.end) {
      return (region.flags & image::kRegionShared) == 0 && (region.prot & PROT_READ) != 0;
    }
  }
  return false;
}

}  // namespace

std::vector<std::size_t> choose_object_copies(std::span<const CkptSharedCopy> copies) {
  std::vector<std::size_t> order(copies.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return copies[a].end - copies[a].start > copies[b].end - copies[b].start;
  });
  std::map<std::pair<std::uint64_t, std::uint64_t>, AddressRanges> filled;  // per object: its offsets
  std::vector<std::size_t> chosen;
  for (const std::size_t i : order) {
    const CkptSharedCopy& copy = copies[i];
    if (copy.end <= copy.start) continue;
    const std::uint64_t from = copy.offset;
    const std::uint64_t to = copy.offset + (copy.end - copy.start);
    AddressRanges& object = filled[{copy.dev, copy.inode}];
    if (covered(object, from, to)) continue;
    chosen.push_back(i);
    add_merged(object, from, to);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::map<pid_t, AddressRanges> copy_shared_objects(std::span<const SharedMemoryTwin> twins) {
  std::vector<CkptSharedCopy> copies;
  std::vector<const SharedMemoryTwin*> owners;  // parallel to copies
  for (const auto& twin : twins) {
    std::uint32_t count = 0;
    read_remote(twin.twin, twin.agent_state + offsetof(CkptAgentState, shared_copy_count), &count,
                sizeof count);
    count = std::min<std::uint32_t>(count, CKPT_MAX_SHARED_COPIES);
    if (count == 0) continue;
    std::vector<CkptSharedCopy> listed(count);
    read_remote(twin.twin, twin.agent_state + offsetof(CkptAgentState, shared_copies), listed.data(),
                count * sizeof(CkptSharedCopy));
    const auto twin_regions = read_memory_map(twin.twin);
    for (const auto& copy : listed) {
      if (!replaced_in_twin(twin_regions, copy)) continue;
      copies.push_back(copy);
      owners.push_back(&twin);
    }
  }
  std::map<pid_t, AddressRanges> filled;
  if (copies.empty()) return filled;
  std::vector<std::byte> buffer(kCopyBytes);
  for (const std::size_t i : choose_object_copies(copies)) {
    const SharedMemoryTwin& owner = *owners[i];
    copy_range(owner.process, owner.twin, copies[i].start, copies[i].end, buffer);
    filled[owner.process].emplace_back(copies[i].start, copies[i].end);
  }
  return filled;
}

}  // namespace ckpt::engine
