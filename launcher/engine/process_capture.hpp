// Reading a quiesced process (or its copy-on-write twin) from outside: its
// memory map, mm fields, auxv, the agent's saved thread/descriptor tables
// (process_vm_readv) and its memory (/proc/PID/mem, straight into the
// image's chunk buffers), written into a generation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "generation_writer.hpp"
#include "page_hashes.hpp"
#include "protocol.h"
#include "schema.hpp"

namespace ckpt::engine {

struct MappedRegion {
  image::Region region;
  bool private_mapping = true;
};

// Parses /proc/<pid>/maps into image regions with their kinds.
std::vector<image::Region> read_memory_map(pid_t pid);

// `regions` with the part inside `range` flagged kRegionShared, regions
// split at the range's bounds (file offsets follow the split).
std::vector<image::Region> mark_shared(std::vector<image::Region> regions, const CkptRange& range);

// Whether a region's bytes go into the image.
bool region_content_saved(const image::Region& region);

// Reads `size` bytes at `address` of `pid` into `out`; throws on failure.
void read_remote(pid_t pid, std::uint64_t address, void* out, std::size_t size);

struct CapturedProcess {
  image::ProcessTables tables;
  std::uint64_t pages_read = 0;
  bool tracked = false;  // its dirty-page engine's lists were used
};

// Which pages of a process go into the generation.
struct PageSelection {
  // false: every page (a full generation); true: those that changed since
  // the last committed generation, known from the process's dirty-page
  // engine where it tracked them (tracked_writes.hpp), else by hash.
  bool incremental = false;
  // The epoch of the checkpoint that made the last committed generation
  // (0: none in this run).
  std::uint64_t committed_epoch = 0;
};

// Who a process is inside the group.
struct ProcessIdentity {
  pid_t pid = 0, ppid = 1, pgid = 0, sid = 0;
  int exit_signal = 17;  // SIGCHLD
};

// Captures process `outer_pid` (as seen by us: the process or its twin)
// whose agent state is at `agent_state`, into `writer`; `channels` is the
// engine blob of its pipes and sockets (coordinator_channels.hpp). The
// hash of every page read goes into `hashes`; `selection` says which
// pages are stored. `shared_content`: the twin's copies of shared memory
// that hold their object's content (shared_snapshot.hpp), flagged
// kRegionSharedContent.
CapturedProcess capture_process(pid_t outer_pid, const ProcessIdentity& identity,
                                std::uint64_t agent_state, std::vector<std::uint8_t> channels,
                                image::GenerationWriter& writer, ProcessPageHashes& hashes,
                                const PageSelection& selection,
                                std::span<const std::pair<std::uint64_t, std::uint64_t>> shared_content);

// A process that exited but was not yet waited for by its parent: the
// image keeps its identity and wait status (misc = CkptZombieFacts).
void capture_zombie(const ProcessIdentity& identity, int wait_status, const std::string& name,
                    image::GenerationWriter& writer);

}  // namespace ckpt::engine
