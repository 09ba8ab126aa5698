#include "process_restore.hpp"

#include <sys/uio.h>

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

// Writes all resolved pages into `pid`, 1 MiB at a time.
std::uint64_t write_pages(const image::ResolvedChain& chain, const image::ResolvedProcess& process,
                          pid_t pid) {
  image::PageReader reader(chain);
  constexpr std::size_t kBatchPages = 256;
  std::vector<std::byte> buffer(kBatchPages * image::kPageSize);
  std::vector<iovec> remote;
  std::uint64_t written = 0;
  for (std::size_t first = 0; first < process.addresses.size(); first += kBatchPages) {
    const std::size_t count = std::min(kBatchPages, process.addresses.size() - first);
    remote.clear();
    for (std::size_t i = 0; i < count; ++i) {
      reader.read_page(process, first + i, buffer.data() + i * image::kPageSize);
      const std::uint64_t address = process.addresses[first + i];
      if (!remote.empty() &&
          reinterpret_cast<std::uint64_t>(remote.back().iov_base) + remote.back().iov_len == address) {
        remote.back().iov_len += image::kPageSize;
      } else {
        remote.push_back({reinterpret_cast<void*>(address), image::kPageSize});
      }
    }
    iovec local{buffer.data(), count * image::kPageSize};
    const ssize_t done = ::process_vm_writev(pid, &local, 1, remote.data(), remote.size(), 0);
    if (done != static_cast<ssize_t>(count * image::kPageSize)) {
      throw std::runtime_error("cannot write the memory of restored process " +
                               std::to_string(process.tables.info.pid) + ": " +
                               (done < 0 ? std::strerror(errno) : "short write"));
    }
    written += count;
  }
  return written;
}

}  // namespace

RestoredProcess restore_process(const image::ResolvedChain& chain,
                                const image::ResolvedProcess& process, const Channel& channel,
                                std::chrono::milliseconds timeout) {
  RestoredProcess restored;
  const auto hello = message_as<CkptRestorerHello>(channel.receive(timeout, CKPT_MSG_RESTORER_HELLO));
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
  const auto agent = message_as<CkptHello>(channel.receive(timeout, CKPT_MSG_RESTORED));
  restored.agent_state = agent.agent_state;
  return restored;
}

}  // namespace ckpt::engine
