// The engine-neutral part of dirty-page tracking: the list buffers, what
// is published to the coordinator, madvise()'s dropped pages, forgetting.
#include "dirty_tracking.hpp"

#include <sys/mman.h>

#include "agent.hpp"
#include "raw_syscall.hpp"

namespace ckpt::agent {
namespace {

// Both lists live in one private mapping made at the first checkpoint that
// needs them. It is part of the process image (the coordinator reads it
// like any memory), so it starts small and doubles after an overflow (that
// checkpoint compares by hash instead).
constexpr unsigned long kTrackedBytes = 256ul << 10;  // 16384 ranges
constexpr unsigned long kSmallestWritten = 4ul << 20;
constexpr unsigned long kLargestWritten = 256ul << 20;
unsigned long g_lists = 0;
unsigned long g_written_bytes = kSmallestWritten;
// The previous, smaller lists: still read through this checkpoint's twin,
// unmapped at the next checkpoint.
unsigned long g_lists_retired = 0, g_lists_retired_bytes = 0;

uint32_t g_armed_engine = CKPT_DIRTY_NONE;  // armed at the last checkpoint
uint64_t g_armed_epoch = 0;                 // 0: the arming is not this process's own

const DirtyEngine* engine_for(uint32_t engine) {
  switch (engine) {
    case CKPT_DIRTY_UFFD_WP:
      return &uffd_engine();
    case CKPT_DIRTY_MPROTECT:
      return &mprotect_engine();
    default:
      return nullptr;
  }
}

bool map_lists() {
  if (g_lists != 0) return true;
  const long mapped = sys(SYS_mmap, 0, kTrackedBytes + g_written_bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapped < 0) return false;
  g_lists = static_cast<unsigned long>(mapped);
  return true;
}

}  // namespace

bool RangeList::add(unsigned long start, unsigned long end) {
  if (count > 0 && ranges[count - 1].end == start) {
    ranges[count - 1].end = end;
    return true;
  }
  if (count == capacity) {
    overflow = true;
    return false;
  }
  ranges[count++] = {start, end};
  return true;
}

bool trackable_mapping(const MapsLine& vma) {
  if (vma.permissions[0] != 'r' || vma.permissions[3] != 'p') return false;
  return !(starts_with(vma.path, "[vdso]") || starts_with(vma.path, "[vvar") ||
           starts_with(vma.path, "[vsyscall]"));
}

void dirty_checkpoint(uint32_t engine, uint64_t epoch) {
  g_state.dirty_engine = CKPT_DIRTY_NONE;
  g_state.dirty_complete = 0;
  g_state.dirty_since_epoch = 0;
  g_state.dirty_tracked_count = g_state.dirty_written_count = 0;
  const uint32_t dropped = __atomic_exchange_n(&g_state.dirty_dropped_count, 0u, __ATOMIC_RELAXED);
  const DirtyEngine* active = engine_for(engine);
  if (g_armed_engine != engine && g_armed_engine != CKPT_DIRTY_NONE) {
    engine_for(g_armed_engine)->forget();
    g_armed_engine = CKPT_DIRTY_NONE;
  }
  if (g_lists_retired != 0) {
    sys(SYS_munmap, g_lists_retired, g_lists_retired_bytes);
    g_lists_retired = 0;
  }
  if (active == nullptr) return;
  if (!map_lists()) {
    report("no memory for the dirty-page lists; pages are compared by hash");
    return;
  }
  RangeList tracked{reinterpret_cast<CkptRange*>(g_lists), 0, kTrackedBytes / sizeof(CkptRange)};
  RangeList written{reinterpret_cast<CkptRange*>(g_lists + kTrackedBytes), 0,
                    g_written_bytes / sizeof(CkptRange)};
  if (g_armed_engine == engine && active->scan(tracked, written)) {
    const uint32_t kept = dropped < CKPT_MAX_DROPPED ? dropped : CKPT_MAX_DROPPED;
    for (uint32_t i = 0; i < kept; ++i)
      written.add(g_state.dirty_dropped[i].start, g_state.dirty_dropped[i].end);
    g_state.dirty_engine = engine;
    g_state.dirty_complete = !tracked.overflow && !written.overflow && dropped <= CKPT_MAX_DROPPED;
    g_state.dirty_since_epoch = g_armed_epoch;
    g_state.dirty_tracked = reinterpret_cast<uint64_t>(tracked.ranges);
    g_state.dirty_tracked_count = tracked.count;
    g_state.dirty_written = reinterpret_cast<uint64_t>(written.ranges);
    g_state.dirty_written_count = written.count;
  }
  if (written.overflow && g_written_bytes < kLargestWritten) {
    // Bigger lists from the next checkpoint on (this one's are published).
    const long grown = sys(SYS_mmap, 0, kTrackedBytes + 2 * g_written_bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (grown >= 0) {
      g_lists_retired = g_lists;
      g_lists_retired_bytes = kTrackedBytes + g_written_bytes;
      g_lists = static_cast<unsigned long>(grown);
      g_written_bytes *= 2;
    }
  }
  if (active->arm_new(tracked, g_lists, g_lists + kTrackedBytes + g_written_bytes)) {
    g_armed_engine = engine;
    g_armed_epoch = epoch;
  } else {
    g_armed_engine = CKPT_DIRTY_NONE;
    g_armed_epoch = 0;
  }
}

void dirty_forget() {
  g_armed_epoch = 0;
  g_state.dirty_dropped_count = 0;
  if (g_armed_engine != CKPT_DIRTY_NONE && !engine_for(g_armed_engine)->forget()) {
    g_armed_engine = CKPT_DIRTY_NONE;
  }
}

void dirty_pages_dropped(unsigned long start, unsigned long length) {
  if (g_armed_engine == CKPT_DIRTY_NONE || length == 0) return;
  const unsigned long page = 4096;
  const unsigned long end = (start + length + page - 1) & ~(page - 1);
  const uint32_t slot = __atomic_fetch_add(&g_state.dirty_dropped_count, 1u, __ATOMIC_RELAXED);
  if (slot < CKPT_MAX_DROPPED) g_state.dirty_dropped[slot] = {start & ~(page - 1), end};
}

}  // namespace ckpt::agent
