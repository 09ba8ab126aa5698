// Dirty-page tracking inside the application (issue 6): which pages were
// written since the last checkpoint, so an incremental generation reads
// and stores only those. The coordinator picks the engine per checkpoint
// (CkptEpoch.dirty_engine); the `hash` engine needs nothing here.
//
// At each checkpoint, with every other thread parked and before the twin
// is forked, dirty_checkpoint() publishes in g_state.dirty_*:
//   tracked: ranges whose every write since the checkpoint of epoch
//            dirty_since_epoch is known (armed then, armed ever since);
//   written: the pages written inside them, and pages madvise() dropped;
// then arms the engine again (and on memory mapped since). What is not
// tracked the coordinator compares page by page with the last generation.
// Everything here runs on the checkpoint thread or in wrappers: raw system
// calls, no allocation, no locks.
#pragma once

#include <stdint.h>

#include "proc_lines.hpp"
#include "protocol.h"

namespace ckpt::agent {

void dirty_checkpoint(uint32_t engine, uint64_t epoch);

// This process's tracking state is not its own: a fork()ed child (its
// mappings lost their protection or registration) or a restored process.
void dirty_forget();

// madvise() dropped [start, start + length): the pages read as zeros now,
// and no write marked them.
void dirty_pages_dropped(unsigned long start, unsigned long length);

// ---- the engines (dirty_uffd.cpp, dirty_mprotect.cpp) ----
// A list of ranges built in a buffer the agent maps for it.
struct RangeList {
  CkptRange* ranges = nullptr;
  unsigned long count = 0, capacity = 0;
  bool overflow = false;
  bool add(unsigned long start, unsigned long end);
};

// Each engine: scan() fills `tracked` and `written` and re-arms what it
// tracks (false: nothing usable). arm_new() starts tracking memory mapped
// since: every trackable mapping outside `tracked` and outside [own_start,
// own_end), the lists themselves; false: the engine cannot run in this
// process (it says why once). forget(): the arming is not this process's
// own; true if the engine stays armed (its protections are still in
// place and must keep being served).
struct DirtyEngine {
  bool (*scan)(RangeList& tracked, RangeList& written);
  bool (*arm_new)(const RangeList& tracked, unsigned long own_start, unsigned long own_end);
  bool (*forget)();
};
const DirtyEngine& uffd_engine();
const DirtyEngine& mprotect_engine();

// Whether a mapping line (proc_lines.hpp MapsLine) is memory the engines
// track: private, readable, not the vDSO and its data pages.
bool trackable_mapping(const MapsLine& vma);

}  // namespace ckpt::agent
