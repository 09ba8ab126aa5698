// Driving one ckpt-restorer: send it the layout, write the pages into it
// (process_vm_writev), and wait until the agent reports RESTORED.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "chain.hpp"
#include "channel.hpp"

namespace ckpt::engine {

// What one restorer gets for the memory it shares with other processes.
struct ProcessSharing {
  std::vector<int> memfds;  // passed with its layout (owned by SharedObjects)
  // parallel to the process's regions: 1 + index into memfds, 0: none
  std::vector<std::uint32_t> region_objects;
  // [start, end) address ranges, ascending, whose pages come from another
  // region (one that holds its object's content, see SharedObjects)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pages_written_elsewhere;
};

// Memory shared between processes (MAP_SHARED anonymous memory, /dev/zero,
// memfd, SysV, deleted files): the regions of every live process grouped by
// object (device + inode recorded at the checkpoint), one memfd per object,
// large enough for every offset any process maps. Each object's pages are
// written from the regions flagged kRegionSharedContent: the coordinator
// copied the object into them once, with the whole group stopped
// (shared_snapshot.hpp); other regions mapping those bytes write none.
// Images written before that flag: from the process whose twin copied the
// object last (CkptSharedCopy::copied_ns). Bytes no such region covers come
// from the process that maps them.
class SharedObjects {
 public:
  SharedObjects(const image::ResolvedChain& chain,
                std::span<const image::ResolvedProcess* const> live);
  SharedObjects(const SharedObjects&) = delete;
  SharedObjects& operator=(const SharedObjects&) = delete;
  ~SharedObjects();

  ProcessSharing for_process(const image::ResolvedProcess& process) const;
  std::size_t count() const { return objects_.size(); }

 private:
  struct Key {
    std::uint64_t device = 0, inode = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Object {
    int memfd = -1;
    std::uint64_t size = 0;
    bool content_flagged = false;  // some region holds its content (kRegionSharedContent)
    std::int64_t writer = -1;      // else: the PID whose pages fill it
    std::uint64_t writer_copied_ns = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>>
        content;  // [start, end) in the object: offsets whose pages are written from there
  };
  std::map<Key, Object> objects_;
};

// Whether a region maps an identified object of memory shared between
// processes (images older than object identities have none).
bool maps_shared_object(const image::Region& region);

struct RestoredProcess {
  pid_t outer_pid = -1;
  pid_t inner_pid = -1;
  std::uint64_t agent_state = 0;
  std::uint64_t pages_written = 0;
};

// Restores `process` into the restorer that said `hello` on `channel`
// (its children were created already), up to PAGES_WRITTEN: the agent
// then finishes on its own; await_restored() collects its RESTORED (so
// the next process's pages can be written meanwhile).
RestoredProcess restore_process(const image::ResolvedChain& chain,
                                const image::ResolvedProcess& process,
                                const ProcessSharing& sharing, const Channel& channel,
                                const CkptRestorerHello& hello, std::chrono::milliseconds timeout);

// Waits for the agent's RESTORED; returns the address of its state.
std::uint64_t await_restored(const Channel& channel, std::chrono::milliseconds timeout);

// The process's facts (mm fields, auxv, agent address) from the image.
CkptProcessFacts process_facts(const image::ProcessTables& tables);

// Whether the image holds a zombie for this process, and its facts.
bool is_zombie(const image::ProcessTables& tables);
CkptZombieFacts zombie_facts(const image::ProcessTables& tables);

}  // namespace ckpt::engine
