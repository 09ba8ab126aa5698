#include "process_restore.hpp"

#include "process_capture.hpp"
#include "remote_page_writer.hpp"

#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace ckpt::engine {

CkptProcessFacts process_facts(const image::ProcessTables& tables) {
  CkptProcessFacts facts{};
  if (tables.misc.size() != sizeof facts) {
    throw std::runtime_error("process " + std::to_string(tables.info.pid) +
                             ": the image has no engine facts (not written by ckpt-launch)");
  }
  std::memcpy(&facts, tables.misc.data(), sizeof facts);
  if (facts.magic != CKPT_AGENT_MAGIC) {
    throw std::runtime_error("process " + std::to_string(tables.info.pid) + ": damaged engine facts");
  }
  return facts;
}

bool maps_shared_object(const image::Region& region) {
  using image::RegionKind;
  const auto kind = static_cast<RegionKind>(region.kind);
  return (region.flags & image::kRegionShared) != 0 && region.inode != 0 &&
         (kind == RegionKind::kAnonymous || kind == RegionKind::kOther);
}

namespace {

// When the process's twin began copying its shared memory at the
// checkpoint (CkptSharedCopy::copied_ns), from the image's copy of the
// agent state; 0 if that page is not in the image. Only images written
// before kRegionSharedContent need it.
std::uint64_t shared_copy_time(image::PageReader& reader, const image::ResolvedProcess& process) {
  const std::uint64_t address =
      process_facts(process.tables).agent_state + offsetof(CkptAgentState, shared_copies);
  CkptSharedCopy first{};
  auto* out = reinterpret_cast<std::byte*>(&first);
  std::vector<std::byte> page(image::kPageSize);
  for (std::size_t done = 0; done < sizeof first;) {
    const std::uint64_t at = address + done;
    const std::uint64_t page_address = at & ~(image::kPageSize - 1);
    const std::size_t within = static_cast<std::size_t>(at - page_address);
    const std::size_t take = std::min<std::size_t>(sizeof first - done, image::kPageSize - within);
    const auto found =
        std::lower_bound(process.addresses.begin(), process.addresses.end(), page_address);
    if (found != process.addresses.end() && *found == page_address) {  // else a zero page
      reader.read_page(process, static_cast<std::size_t>(found - process.addresses.begin()),
                       page.data());
      std::memcpy(out + done, page.data() + within, take);
    }
    done += take;
  }
  return first.copied_ns;
}

// Whether ascending addresses fall into `ranges` (sorted by start).
class RangeCursor {
 public:
  explicit RangeCursor(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges)
      : ranges_(ranges) {}
  bool contains(std::uint64_t address) {
    while (next_ < ranges_.size() && ranges_[next_].second <= address) ++next_;
    return next_ < ranges_.size() && ranges_[next_].first <= address;
  }

 private:
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges_;
  std::size_t next_ = 0;
};

}  // namespace

SharedObjects::SharedObjects(const image::ResolvedChain& chain,
                             std::span<const image::ResolvedProcess* const> live) {
  // The regions that hold their object's content (taken once, the whole
  // group stopped: kRegionSharedContent).
  for (const auto* process : live) {
    for (const auto& region : process->tables.regions) {
      if (!maps_shared_object(region) || (region.flags & image::kRegionSharedContent) == 0) continue;
      Object& object = objects_[Key{region.device, region.inode}];
      object.content_flagged = true;
      object.content.emplace_back(region.file_offset, region.file_offset + (region.end - region.start));
    }
  }
  // Every object's size; for an object of an image written before that
  // flag, the process whose twin copied it last at the checkpoint.
  image::PageReader reader(chain);
  for (const auto* process : live) {
    const std::int64_t pid = process->tables.info.pid;
    std::uint64_t copied_ns = 0;
    bool copy_time_read = false;
    for (const auto& region : process->tables.regions) {
      if (!maps_shared_object(region)) continue;
      Object& object = objects_[Key{region.device, region.inode}];
      const std::uint64_t length = region.end - region.start;
      object.size = std::max(object.size, region.file_offset + length);
      if (object.content_flagged || !region_content_saved(region)) continue;
      if (!copy_time_read) {
        copied_ns = shared_copy_time(reader, *process);
        copy_time_read = true;
      }
      if (object.writer != pid && (object.writer < 0 || copied_ns >= object.writer_copied_ns)) {
        object.writer = pid;
        object.writer_copied_ns = copied_ns;
        object.content.clear();
      }
      if (object.writer == pid) object.content.emplace_back(region.file_offset, region.file_offset + length);
    }
  }
  for (auto& [key, object] : objects_) {
    object.memfd = ::memfd_create("ckpt-shared", MFD_CLOEXEC);
    if (object.memfd < 0 || ::ftruncate(object.memfd, static_cast<off_t>(object.size)) != 0) {
      const std::string why = std::strerror(errno);
      for (auto& [other_key, other] : objects_) {
        if (other.memfd >= 0) ::close(other.memfd);
        other.memfd = -1;
      }
      throw std::runtime_error("cannot create shared memory of " + std::to_string(object.size) +
                               " bytes (memfd): " + why);
    }
  }
}

SharedObjects::~SharedObjects() {
  for (auto& [key, object] : objects_) {
    if (object.memfd >= 0) ::close(object.memfd);
  }
}

ProcessSharing SharedObjects::for_process(const image::ResolvedProcess& process) const {
  const auto& regions = process.tables.regions;
  const std::int64_t pid = process.tables.info.pid;
  ProcessSharing sharing;
  sharing.region_objects.assign(regions.size(), 0);
  std::map<Key, std::uint32_t> numbers;  // 1 + index into sharing.memfds
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const auto& region = regions[i];
    if (!maps_shared_object(region)) continue;
    const Key key{region.device, region.inode};
    const auto found = objects_.find(key);
    if (found == objects_.end()) throw std::logic_error("shared memory object not planned");
    const Object& object = found->second;
    const auto [number, added] =
        numbers.try_emplace(key, static_cast<std::uint32_t>(sharing.memfds.size() + 1));
    if (added) sharing.memfds.push_back(object.memfd);
    sharing.region_objects[i] = number->second;
    const bool holds_content = object.content_flagged
                                   ? (region.flags & image::kRegionSharedContent) != 0
                                   : object.writer == pid;
    if (holds_content) continue;  // its pages are written
    const std::uint64_t region_end = region.file_offset + (region.end - region.start);
    for (const auto& [start, end] : object.content) {
      const std::uint64_t from = std::max(start, region.file_offset);
      const std::uint64_t to = std::min(end, region_end);
      if (from < to) {
        sharing.pages_written_elsewhere.emplace_back(region.start + (from - region.file_offset),
                                                     region.start + (to - region.file_offset));
      }
    }
  }
  if (sharing.memfds.size() > CKPT_MAX_SHARED_OBJECTS) {
    throw std::runtime_error("process " + std::to_string(pid) + " maps more than " +
                             std::to_string(CKPT_MAX_SHARED_OBJECTS) +
                             " objects of memory shared between processes; cannot restart it");
  }
  std::sort(sharing.pages_written_elsewhere.begin(), sharing.pages_written_elsewhere.end());
  return sharing;
}

namespace {

void send_layout(const image::ProcessTables& tables, const ProcessSharing& sharing,
                 const Channel& channel) {
  CkptLayout layout{};
  layout.header = {CKPT_MSG_LAYOUT, sizeof layout};
  layout.facts = process_facts(tables);
  layout.region_count = static_cast<std::uint32_t>(tables.regions.size());
  layout.shared_object_count = static_cast<std::uint32_t>(sharing.memfds.size());
  channel.send_with_descriptors(&layout, sizeof layout, sharing.memfds);
  CkptRegionBatch batch{};
  batch.header = {CKPT_MSG_REGIONS, sizeof batch};
  for (std::size_t i = 0; i < tables.regions.size();) {
    batch.count = 0;
    for (; i < tables.regions.size() && batch.count < CKPT_REGIONS_PER_MESSAGE; ++i) {
      const auto& region = tables.regions[i];
      auto& entry = batch.regions[batch.count++];
      entry = {};
      entry.start = region.start;
      entry.end = region.end;
      entry.file_offset = region.file_offset;
      entry.prot = region.prot;
      entry.flags = region.flags;
      entry.kind = region.kind;
      entry.shared_object = sharing.region_objects.at(i);
      if (region.path.size() >= sizeof entry.path) {
        throw std::runtime_error("mapped file path too long: " + region.path);
      }
      std::memcpy(entry.path, region.path.c_str(), region.path.size() + 1);
    }
    channel.send(&batch, sizeof batch);
  }
}

// Writes all resolved pages into `pid`, one image chunk at a time: this
// thread reads and verifies chunks while a writer thread puts the previous
// ones into the target (whose fresh pages the kernel must clear first).
// Pages of shared memory that another process writes are left out.
std::uint64_t write_pages(const image::ResolvedChain& chain, const image::ResolvedProcess& process,
                          const ProcessSharing& sharing, pid_t pid) {
  RemotePageWriter writer(pid, 3);
  const std::int64_t image_pid = process.tables.info.pid;
  RangeCursor written_elsewhere(sharing.pages_written_elsewhere);
  // The pages to write in the order of their chunks, so each chunk is read
  // and decoded once: a chain's incremental generations interleave pages
  // of many chunks when taken in address order.
  std::vector<std::size_t> order;
  order.reserve(process.addresses.size());
  for (std::size_t i = 0; i < process.addresses.size(); ++i) {
    if (!written_elsewhere.contains(process.addresses[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const image::PageSource& left = process.sources[a];
    const image::PageSource& right = process.sources[b];
    return left.link != right.link ? left.link < right.link : left.row < right.row;
  });
  std::uint64_t written = 0;
  for (std::size_t first = 0; first < order.size();) {
    const image::PageSource& source = process.sources[order[first]];
    const std::uint64_t chunk = source.row / image::kPagesPerChunk;
    RemoteWrite write = writer.take();
    write.bytes.resize(image::kChunkBytes);
    chain.readers.at(source.link)->read_page_chunk(image_pid, chunk, write.bytes);
    // Every following page that comes from the same chunk of the same link.
    std::size_t next = first;
    for (; next < order.size(); ++next) {
      const image::PageSource& page = process.sources[order[next]];
      if (page.link != source.link || page.row / image::kPagesPerChunk != chunk) break;
      const std::size_t offset = (page.row % image::kPagesPerChunk) * image::kPageSize;
      const std::uint64_t address = process.addresses[order[next]];
      ++written;
      auto& pieces = write.pieces;
      if (!pieces.empty() && pieces.back().offset + pieces.back().length == offset &&
          pieces.back().address + pieces.back().length == address) {
        pieces.back().length += image::kPageSize;
      } else {
        pieces.push_back({offset, address, image::kPageSize});
      }
    }
    first = next;
    writer.submit(std::move(write));
  }
  writer.finish();
  return written;
}

}  // namespace

bool is_zombie(const image::ProcessTables& tables) {
  CkptZombieFacts facts{};
  if (tables.misc.size() != sizeof facts) return false;
  std::memcpy(&facts, tables.misc.data(), sizeof facts);
  return facts.magic == CKPT_ZOMBIE_MAGIC;
}

CkptZombieFacts zombie_facts(const image::ProcessTables& tables) {
  CkptZombieFacts facts{};
  std::memcpy(&facts, tables.misc.data(), std::min(sizeof facts, tables.misc.size()));
  return facts;
}

RestoredProcess restore_process(const image::ResolvedChain& chain,
                                const image::ResolvedProcess& process,
                                const ProcessSharing& sharing, const Channel& channel,
                                const CkptRestorerHello& hello, std::chrono::milliseconds timeout) {
  RestoredProcess restored;
  restored.outer_pid = channel.peer_pid();
  restored.inner_pid = hello.pid;
  if (hello.pid != process.tables.info.pid) {
    throw std::runtime_error("restorer got PID " + std::to_string(hello.pid) + " instead of " +
                             std::to_string(process.tables.info.pid));
  }
  send_layout(process.tables, sharing, channel);
  channel.receive(timeout, CKPT_MSG_MAPPED);
  restored.pages_written = write_pages(chain, process, sharing, restored.outer_pid);
  CkptMessageHeader written{CKPT_MSG_PAGES_WRITTEN, sizeof(CkptMessageHeader)};
  channel.send(&written, sizeof written);
  return restored;
}

std::uint64_t await_restored(const Channel& channel, std::chrono::milliseconds timeout) {
  return message_as<CkptHello>(channel.receive(timeout, CKPT_MSG_RESTORED)).agent_state;
}

}  // namespace ckpt::engine
