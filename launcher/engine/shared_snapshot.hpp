// Memory shared between the processes of a group (MAP_SHARED anonymous
// memory, /dev/zero, memfd, SysV, deleted files), copied once per
// checkpoint while every process of the group is stopped.
//
// The processes park one after another, so a copy each took when it
// parked would miss what the others still wrote, and its private memory
// would then be ahead of the shared memory. Instead each twin puts an empty
// private mapping where its process maps such an object (memory_wrappers.cpp)
// and, before RELEASE lets anyone run on, the coordinator copies every
// object from a stopped process into one twin's mapping; that region is
// flagged kRegionSharedContent in the image, and a restart takes the
// object's pages from it alone (process_restore.cpp, SharedObjects).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "protocol.h"

namespace ckpt::engine {

using AddressRanges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;  // [start, end)

// A stopped member with a twin.
struct SharedMemoryTwin {
  pid_t process = -1;  // outer PID: still maps the objects, stopped
  pid_t twin = -1;     // outer PID of its twin: empty private mappings in their place
  std::uint64_t agent_state = 0;
};

// Which of `copies` (mappings of objects, any processes) to fill so that
// every byte of every object that any of them maps is filled: indices in
// ascending order. Larger mappings first; one whose bytes are all covered
// already is skipped, any other is taken whole (overlapping bytes are
// copied from the same stopped state, so they agree).
std::vector<std::size_t> choose_object_copies(std::span<const CkptSharedCopy> copies);

// With the whole group stopped: fills the twins' mappings chosen above
// from their processes (zero pages are left out). Returns, per process
// (outer PID), the address ranges of its twin that now hold an object's
// content. Throws if a process or twin cannot be read or written.
std::map<pid_t, AddressRanges> copy_shared_objects(std::span<const SharedMemoryTwin> twins);

}  // namespace ckpt::engine
