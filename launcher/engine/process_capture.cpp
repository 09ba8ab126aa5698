#include "process_capture.hpp"

#include "machine_facts.hpp"
#include "present_pages.hpp"
#include "tracked_writes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <algorithm>
#include <stdexcept>

namespace ckpt::engine {
namespace {

using image::Region;
using image::RegionKind;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

RegionKind classify(const std::string& path, bool shared) {
  if (path == "[heap]") return RegionKind::kHeap;
  if (path == "[stack]") return RegionKind::kStack;
  if (path == "[vdso]") return RegionKind::kVdso;
  if (path == "[vvar]") return RegionKind::kVvar;
  if (path == "[vvar_vclock]") return RegionKind::kVvarVclock;
  if (path == "[vsyscall]") return RegionKind::kVsyscall;
  if (path.empty()) return RegionKind::kAnonymous;
  const bool real_file = path[0] == '/' && path.find(" (deleted)") == std::string::npos &&
                         !path.starts_with("/dev/zero") && !path.starts_with("/memfd:") &&
                         !path.starts_with("/SYSV");
  if (real_file) return shared ? RegionKind::kFileShared : RegionKind::kFilePrivate;
  return RegionKind::kOther;
}

// Field `index` (1-based, as in proc(5)) of /proc/<pid>/stat.
std::vector<std::uint64_t> stat_fields(pid_t pid) {
  const std::string text = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = text.rfind(')');
  std::istringstream rest(text.substr(close_paren + 2));
  std::vector<std::uint64_t> fields(3, 0);  // fields 1,2 (pid, comm) unused; pad to 1-based
  std::string token;
  rest >> token;  // state (field 3)
  fields.push_back(0);
  while (rest >> token) {
    std::uint64_t value = 0;
    try {
      value = std::stoull(token);
    } catch (...) {
      value = static_cast<std::uint64_t>(std::stoll(token));
    }
    fields.push_back(value);
  }
  return fields;
}

CkptProcessFacts read_process_facts(pid_t pid, std::uint64_t agent_state,
                                    const std::vector<Region>& regions) {
  CkptProcessFacts facts{};
  facts.magic = CKPT_AGENT_MAGIC;
  facts.agent_state = agent_state;
  const auto fields = stat_fields(pid);
  auto field = [&](std::size_t index) { return index < fields.size() ? fields[index] : 0; };
  facts.mm[CKPT_MM_START_CODE] = field(26);
  facts.mm[CKPT_MM_END_CODE] = field(27);
  facts.mm[CKPT_MM_START_STACK] = field(28);
  facts.mm[CKPT_MM_START_DATA] = field(45);
  facts.mm[CKPT_MM_END_DATA] = field(46);
  facts.mm[CKPT_MM_START_BRK] = field(47);
  facts.mm[CKPT_MM_ARG_START] = field(48);
  facts.mm[CKPT_MM_ARG_END] = field(49);
  facts.mm[CKPT_MM_ENV_START] = field(50);
  facts.mm[CKPT_MM_ENV_END] = field(51);
  facts.mm[CKPT_MM_BRK] = facts.mm[CKPT_MM_START_BRK];
  for (const auto& region : regions) {
    if (region.kind == static_cast<std::uint32_t>(RegionKind::kHeap)) {
      facts.mm[CKPT_MM_BRK] = region.end;
    }
  }
  const std::string auxv = read_text_file("/proc/" + std::to_string(pid) + "/auxv");
  facts.auxv_words = static_cast<std::uint32_t>(
      std::min<std::size_t>(auxv.size() / 8, std::size(facts.auxv)));
  std::memcpy(facts.auxv, auxv.data(), facts.auxv_words * 8);
  std::uint64_t vdso_bytes = 0;
  for (const auto& region : regions) {
    if (region.kind == static_cast<std::uint32_t>(RegionKind::kVdso)) vdso_bytes = region.end - region.start;
  }
  record_machine_facts(facts, vdso_bytes);
  return facts;
}

std::string read_link(const std::string& path) {
  char buffer[4096];
  const ssize_t length = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
  return length > 0 ? std::string(buffer, static_cast<std::size_t>(length)) : std::string();
}

std::vector<std::string> read_argv(pid_t pid) {
  const std::string text = read_text_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\0', start);
    argv.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return argv;
}

// Incremental generation: of `count` pages read at `address`, stores the
// runs that changed since the previous generation.
void add_changed_pages(image::GenerationWriter& writer, ProcessPageHashes& hashes, std::uint64_t address,
                       const std::byte* pages, std::size_t count) {
  std::size_t run = 0;  // changed pages just before page i
  for (std::size_t i = 0; i <= count; ++i) {
    const bool changed = i < count && hashes.changed(address + i * image::kPageSize, pages + i * image::kPageSize);
    if (changed) {
      ++run;
      continue;
    }
    if (run > 0) {
      writer.add_pages(address + (i - run) * image::kPageSize, pages + (i - run) * image::kPageSize, run);
    }
    run = 0;
  }
}

}  // namespace

std::vector<Region> mark_shared(std::vector<Region> regions, const CkptRange& range) {
  std::vector<Region> result;
  result.reserve(regions.size() + 2);
  for (auto& region : regions) {
    const std::uint64_t inside_start = std::max(region.start, range.start);
    const std::uint64_t inside_end = std::min(region.end, range.end);
    if (inside_start >= inside_end) {
      result.push_back(std::move(region));
      continue;
    }
    auto piece = [&](std::uint64_t start, std::uint64_t end, bool shared) {
      if (start >= end) return;
      Region part = region;
      part.start = start;
      part.end = end;
      // a file region keeps its offset relative to where it starts
      if (!part.path.empty() && part.path[0] == '/') part.file_offset += start - region.start;
      if (shared) part.flags |= image::kRegionShared;
      result.push_back(std::move(part));
    };
    piece(region.start, inside_start, false);
    piece(inside_start, inside_end, true);
    piece(inside_end, region.end, false);
  }
  return result;
}


std::vector<Region> read_memory_map(pid_t pid) {
  std::istringstream lines(read_text_file("/proc/" + std::to_string(pid) + "/maps"));
  std::vector<Region> regions;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string range, permissions, offset, device, inode;
    fields >> range >> permissions >> offset >> device >> inode;
    std::string path;
    std::getline(fields >> std::ws, path);
    Region region;
    const auto dash = range.find('-');
    region.start = std::stoull(range.substr(0, dash), nullptr, 16);
    region.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    region.prot = (permissions[0] == 'r' ? PROT_READ : 0) | (permissions[1] == 'w' ? PROT_WRITE : 0) |
                  (permissions[2] == 'x' ? PROT_EXEC : 0);
    const bool shared = permissions[3] == 's';
    region.flags = shared ? image::kRegionShared : 0;
    region.kind = static_cast<std::uint32_t>(classify(path, shared));
    region.file_offset = std::stoull(offset, nullptr, 16);
    region.inode = std::stoull(inode);
    region.path = path;
    regions.push_back(std::move(region));
  }
  return regions;
}

bool region_content_saved(const Region& region) {
  switch (static_cast<RegionKind>(region.kind)) {
    case RegionKind::kVdso:
    case RegionKind::kVvar:
    case RegionKind::kVvarVclock:
    case RegionKind::kVsyscall:
    case RegionKind::kFileShared:
      return false;
    default:
      return (region.prot & PROT_READ) != 0;
  }
}

void read_remote(pid_t pid, std::uint64_t address, void* out, std::size_t size) {
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  const ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (got != static_cast<ssize_t>(size)) {
    throw std::runtime_error("cannot read memory of process " + std::to_string(pid) + " at 0x" +
                             [&] {
                               char hex[32];
                               std::snprintf(hex, sizeof hex, "%llx",
                                             static_cast<unsigned long long>(address));
                               return std::string(hex);
                             }() +
                             ": " + (got < 0 ? std::strerror(errno) : "short read"));
  }
}

CapturedProcess capture_process(pid_t outer_pid, const ProcessIdentity& identity,
                                std::uint64_t agent_state, std::vector<std::uint8_t> channels,
                                image::GenerationWriter& writer, ProcessPageHashes& hashes,
                                const PageSelection& selection,
                                std::span<const std::pair<std::uint64_t, std::uint64_t>> shared_content) {
  CapturedProcess captured;
  auto& tables = captured.tables;
  const pid_t inner_pid = identity.pid;
  const std::string proc = "/proc/" + std::to_string(outer_pid);
  tables.info.pid = identity.pid;
  tables.info.ppid = identity.ppid;
  tables.info.pgid = identity.pgid;
  tables.info.sid = identity.sid;
  tables.channels = std::move(channels);
  tables.info.exe = read_link(proc + "/exe");
  tables.info.cwd = read_link(proc + "/cwd");
  tables.info.argv = read_argv(outer_pid);
  tables.regions = read_memory_map(outer_pid);

  // The agent's tables: threads and descriptors.
  auto agent = std::make_unique<CkptAgentState>();
  read_remote(outer_pid, agent_state, agent.get(), sizeof *agent);
  if (agent->magic != CKPT_AGENT_MAGIC) throw std::runtime_error("agent state not found");
  for (std::uint32_t i = 0; i < agent->thread_count && i < CKPT_MAX_THREADS; ++i) {
    const auto& thread = agent->threads[i];
    image::ThreadRecord record;
    record.tid = static_cast<std::uint32_t>(thread.tid);
    record.flags = thread.flags;
    record.state_offset = tables.thread_state.size();
    record.state_size = sizeof thread;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&thread);
    tables.thread_state.insert(tables.thread_state.end(), bytes, bytes + sizeof thread);
    tables.threads.push_back(record);
  }
  // Shared memory the twin replaced by a private mapping: restored shared.
  // That may have merged with a private neighbour in the twin's map, so a
  // region is split at the copy's bounds. Each part records the object it
  // maps (device, inode, offset in it): the restart maps it from one memfd
  // per object in every process that shares it, and takes its pages from
  // the regions the coordinator filled (kRegionSharedContent).
  for (std::uint32_t i = 0; i < agent->shared_copy_count && i < CKPT_MAX_SHARED_COPIES; ++i) {
    const CkptSharedCopy& copy = agent->shared_copies[i];
    const bool content = std::any_of(shared_content.begin(), shared_content.end(), [&](const auto& range) {
      return range.first == copy.start && range.second == copy.end;
    });
    tables.regions = mark_shared(std::move(tables.regions), CkptRange{copy.start, copy.end});
    for (auto& region : tables.regions) {
      if (region.start < copy.start || region.end > copy.end) continue;
      region.device = copy.dev;
      region.inode = copy.inode;
      region.file_offset = copy.offset + (region.start - copy.start);
      if (content) region.flags |= image::kRegionSharedContent;
    }
  }
  for (std::uint32_t i = 0; i < agent->descriptor_count && i < CKPT_MAX_DESCRIPTORS; ++i) {
    const auto& descriptor = agent->descriptors[i];
    image::DescriptorRecord record;
    record.fd = descriptor.fd;
    record.kind = descriptor.kind;
    record.open_flags = descriptor.open_flags;
    record.fd_flags = descriptor.fd_flags;
    record.offset = descriptor.offset;
    record.path = descriptor.path;
    tables.descriptors.push_back(record);
  }
  CkptProcessFacts facts = read_process_facts(outer_pid, agent_state, tables.regions);
  facts.exit_signal = static_cast<std::uint32_t>(identity.exit_signal);
  const auto* fact_bytes = reinterpret_cast<const std::uint8_t*>(&facts);
  tables.misc.assign(fact_bytes, fact_bytes + sizeof facts);

  // Memory, region by region, read through /proc/PID/mem straight into the
  // image's chunk buffers (up to a chunk per read). Unlike process_vm_readv
  // (which pins pages and so breaks copy-on-write sharing with the twin: a
  // full copy of every page), /proc/PID/mem reads shared pages as they are.
  writer.begin_process(tables.info);
  const int memory = ::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (memory < 0) throw std::runtime_error("cannot open " + proc + "/mem: " + std::strerror(errno));
  // Bytes read into `space` from `address` (-1: see errno).
  auto read_into = [&](std::span<std::byte> space, std::uint64_t address) -> ssize_t {
    return ::pread(memory, space.data(), space.size(), static_cast<off_t>(address));
  };
  // How each page is stored: kFull every page (hashed for the next
  // generation); kChanged the pages whose hash changed; kWritten every page
  // read (the engine saw them written; no hash is kept for them).
  enum class Store { kFull, kChanged, kWritten };
  std::vector<std::byte> buffer;
  if (selection.incremental) buffer.resize(image::kChunkBytes);
  auto read_range = [&](std::uint64_t start, std::uint64_t end, Store store) {
    for (std::uint64_t at = start; at < end;) {
      const std::size_t wanted = static_cast<std::size_t>(
          std::min<std::uint64_t>((end - at) / image::kPageSize, image::kPagesPerChunk));
      // Full generation: straight into the chunk; incremental: into our
      // buffer, then only the pages to store.
      const bool direct = store == Store::kFull;
      const std::span<std::byte> space =
          direct ? writer.page_space(wanted) : std::span<std::byte>(buffer.data(), wanted * image::kPageSize);
      const std::size_t pages = space.size() / image::kPageSize;
      auto store_pages = [&](std::uint64_t address, std::byte* data, std::size_t count) {
        if (store == Store::kFull) {
          for (std::size_t i = 0; i < count; ++i) hashes.changed(address + i * image::kPageSize, data + i * image::kPageSize);
          writer.commit_pages(address, count);
        } else if (store == Store::kChanged) {
          add_changed_pages(writer, hashes, address, data, count);
        } else {
          writer.add_pages(address, data, count);
        }
      };
      if (read_into(space, at) == static_cast<ssize_t>(space.size())) {
        store_pages(at, space.data(), pages);
        captured.pages_read += pages;
        at += space.size();
        continue;
      }
      // Some pages cannot be read (EIO: a file mapping past the end of
      // its file): take the readable ones; the others come back as zeros.
      // Reading nothing at all means the process is gone.
      if (direct) writer.commit_pages(at, 0);
      for (std::size_t i = 0; i < pages; ++i, at += image::kPageSize) {
        const std::span<std::byte> page = direct ? writer.page_space(1) : space.first(image::kPageSize);
        const ssize_t got = read_into(page, at);
        if (got == 0 || (got < 0 && errno != EIO)) {
          char where[64];
          std::snprintf(where, sizeof where, " (at 0x%llx: %s)", static_cast<unsigned long long>(at),
                        got == 0 ? "nothing read" : std::strerror(errno));
          throw std::runtime_error("process " + std::to_string(inner_pid) + " ended while its memory was being read" +
                                   where);
        }
        if (got == static_cast<ssize_t>(page.size())) {
          store_pages(at, page.data(), 1);
          ++captured.pages_read;
        } else if (direct) {
          writer.commit_pages(at, 0);
        }
      }
    }
  };
  try {
    const TrackedWrites tracked = selection.incremental
                                      ? TrackedWrites::read(outer_pid, *agent, selection.committed_epoch)
                                      : TrackedWrites();
    captured.tracked = !tracked.empty();
    PresentPages present(outer_pid);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
    for (const auto& region : tables.regions) {
      if (!region_content_saved(region)) continue;
      if (!selection.incremental) {
        // Anonymous memory: only pages that hold anything (a file
        // mapping's absent pages are the file's, so it is read whole).
        const auto kind = static_cast<RegionKind>(region.kind);
        const bool anonymous = kind == RegionKind::kAnonymous || kind == RegionKind::kHeap ||
                               kind == RegionKind::kStack || (region.flags & image::kRegionShared) != 0;
        if (anonymous && present.runs(region.start, region.end, runs)) {
          for (const auto& [start, end] : runs) read_range(start, end, Store::kFull);
        } else {
          read_range(region.start, region.end, Store::kFull);
        }
        continue;
      }
      tracked.split(
          region.start, region.end, [&](std::uint64_t start, std::uint64_t end) { read_range(start, end, Store::kChanged); },
          [&](std::uint64_t start, std::uint64_t end) { read_range(start, end, Store::kWritten); });
    }
  } catch (...) {
    ::close(memory);
    throw;
  }
  ::close(memory);
  writer.end_process(tables);
  return captured;
}

void capture_zombie(const ProcessIdentity& identity, int wait_status, const std::string& name,
                    image::GenerationWriter& writer) {
  image::ProcessTables tables;
  tables.info.pid = identity.pid;
  tables.info.ppid = identity.ppid;
  tables.info.pgid = identity.pgid;
  tables.info.sid = identity.sid;
  tables.info.argv = {name};
  CkptZombieFacts facts{CKPT_ZOMBIE_MAGIC, wait_status, identity.exit_signal};
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&facts);
  tables.misc.assign(bytes, bytes + sizeof facts);
  writer.begin_process(tables.info);
  writer.end_process(tables);
}

}  // namespace ckpt::engine
