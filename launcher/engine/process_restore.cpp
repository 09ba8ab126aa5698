#include "process_restore.hpp"

#include "remote_page_writer.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
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

namespace {

void send_layout(const image::ProcessTables& tables, const Channel& channel) {
  CkptLayout layout{};
  layout.header = {CKPT_MSG_LAYOUT, sizeof layout};
  layout.facts = process_facts(tables);
  layout.region_count = static_cast<std::uint32_t>(tables.regions.size());
  channel.send(&layout, sizeof layout);
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
std::uint64_t write_pages(const image::ResolvedChain& chain, const image::ResolvedProcess& process,
                          pid_t pid) {
  RemotePageWriter writer(pid, 3);
  const std::int64_t image_pid = process.tables.info.pid;
  std::uint64_t written = 0;
  for (std::size_t first = 0; first < process.addresses.size();) {
    const image::PageSource& source = process.sources[first];
    const std::uint64_t chunk = source.row / image::kPagesPerChunk;
    RemoteWrite write = writer.take();
    write.bytes.resize(image::kChunkBytes);
    chain.readers.at(source.link)->read_page_chunk(image_pid, chunk, write.bytes);
    // Every following page that comes from the same chunk of the same link.
    std::size_t next = first;
    for (; next < process.addresses.size(); ++next) {
      const image::PageSource& page = process.sources[next];
      if (page.link != source.link || page.row / image::kPagesPerChunk != chunk) break;
      const std::size_t offset = (page.row % image::kPagesPerChunk) * image::kPageSize;
      const std::uint64_t address = process.addresses[next];
      auto& pieces = write.pieces;
      if (!pieces.empty() && pieces.back().offset + pieces.back().length == offset &&
          pieces.back().address + pieces.back().length == address) {
        pieces.back().length += image::kPageSize;
      } else {
        pieces.push_back({offset, address, image::kPageSize});
      }
    }
    written += next - first;
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
                                const image::ResolvedProcess& process, const Channel& channel,
                                const CkptRestorerHello& hello, std::chrono::milliseconds timeout) {
  RestoredProcess restored;
  restored.outer_pid = channel.peer_pid();
  restored.inner_pid = hello.pid;
  if (hello.pid != process.tables.info.pid) {
    throw std::runtime_error("restorer got PID " + std::to_string(hello.pid) + " instead of " +
                             std::to_string(process.tables.info.pid));
  }
  send_layout(process.tables, channel);
  channel.receive(timeout, CKPT_MSG_MAPPED);
  restored.pages_written = write_pages(chain, process, restored.outer_pid);
  CkptMessageHeader written{CKPT_MSG_PAGES_WRITTEN, sizeof(CkptMessageHeader)};
  channel.send(&written, sizeof written);
  return restored;
}

std::uint64_t await_restored(const Channel& channel, std::chrono::milliseconds timeout) {
  return message_as<CkptHello>(channel.receive(timeout, CKPT_MSG_RESTORED)).agent_state;
}

}  // namespace ckpt::engine
