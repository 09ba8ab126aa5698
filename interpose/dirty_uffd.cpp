// The `uffd-wp` dirty-page engine: userfaultfd write protection in
// asynchronous mode. The kernel itself clears a page's protection bit on
// the first write (no fault reaches us, no signal, ~1 us per page), and
// the PAGEMAP_SCAN ioctl lists the written pages and protects them again
// in one walk. Unprivileged (UFFD_USER_MODE_ONLY), any private memory.
//
// Registered mappings stay registered until unmapped; mremap() moves a
// mapping out of it (we do not ask for remap events) and a fork()ed child
// has none: memory outside the registered set is simply not tracked, and
// the coordinator compares it by hash. Registering happens only here, at a
// checkpoint, so "registered now" means "armed since the last checkpoint".
// The userfaultfd and /proc/self/pagemap descriptors live in the
// checkpoint thread's own descriptor table: the application never sees
// them, a fork()ed child does not inherit them.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "agent.hpp"
#include "dirty_tracking.hpp"
#include "pagemap_scan.h"
#include "raw_syscall.hpp"

namespace ckpt::agent {
namespace {

constexpr uint64_t kUserSpaceEnd = 0x7ffffffff000ul;

int g_uffd = -1;
int g_pagemap = -1;
bool g_said_unavailable = false;

void say_unavailable(const char* why) {
  if (g_said_unavailable) return;
  g_said_unavailable = true;
  report(why);
}

bool open_descriptors() {
  if (g_uffd >= 0) return true;
  const long uffd = sys(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (uffd < 0) {
    say_unavailable("uffd-wp: userfaultfd() refused; this process's pages are compared by hash");
    return false;
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = CKPT_UFFD_FEATURE_WP_ASYNC | CKPT_UFFD_FEATURE_WP_UNPOPULATED;
  const long pagemap = sys(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (sys(SYS_ioctl, uffd, UFFDIO_API, &api) < 0 || pagemap < 0) {
    say_unavailable(
        "uffd-wp: asynchronous write protection is not available; pages are compared by hash");
    sys(SYS_close, uffd);
    if (pagemap >= 0) sys(SYS_close, pagemap);
    return false;
  }
  g_uffd = static_cast<int>(uffd);
  g_pagemap = static_cast<int>(pagemap);
  return true;
}

// Runs PAGEMAP_SCAN over user space into `list` (its buffer reused as
// CkptPageRegion entries, then compacted to ranges). False on an error.
bool scan_into(RangeList& list, uint64_t wanted, uint64_t flags) {
  auto* regions = reinterpret_cast<CkptPageRegion*>(list.ranges);
  const unsigned long capacity = list.capacity * sizeof(CkptRange) / sizeof(CkptPageRegion);
  unsigned long filled = 0;
  uint64_t from = 0;
  while (from < kUserSpaceEnd) {
    if (filled == capacity) {
      list.overflow = true;
      break;
    }
    CkptPageScanArgument argument{};
    argument.size = sizeof argument;
    argument.flags = flags;
    argument.start = from;
    argument.end = kUserSpaceEnd;
    argument.vec = reinterpret_cast<uint64_t>(regions + filled);
    argument.vec_len = capacity - filled;
    argument.category_mask = wanted;
    argument.return_mask = wanted;
    const long got = sys(SYS_ioctl, g_pagemap, CKPT_PAGEMAP_SCAN, &argument);
    if (got < 0) return false;
    filled += static_cast<unsigned long>(got);
    if (argument.walk_end <= from) return false;
    from = argument.walk_end;
  }
  // In place: a CkptRange is smaller than a CkptPageRegion.
  list.count = 0;
  for (unsigned long i = 0; i < filled; ++i) {
    const CkptPageRegion region = regions[i];
    list.add(region.start, region.end);
  }
  return true;
}

bool scan(RangeList& tracked, RangeList& written) {
  if (g_uffd < 0) return false;
  // Written pages first (protected again as they are listed), then what
  // is registered: both while nothing else runs.
  if (!scan_into(written, CKPT_PAGE_IS_WRITTEN, CKPT_PM_SCAN_WP_MATCHING)) return false;
  return scan_into(tracked, CKPT_PAGE_IS_WPALLOWED, 0);
}

bool inside(const RangeList& ranges, unsigned long start, unsigned long end,
            unsigned long& cursor) {
  while (cursor < ranges.count && ranges.ranges[cursor].end <= start) ++cursor;
  return cursor < ranges.count && ranges.ranges[cursor].start <= start &&
         end <= ranges.ranges[cursor].end;
}

bool arm_new(const RangeList& tracked, unsigned long own_start, unsigned long own_end) {
  if (!open_descriptors()) return false;
  ProcLines lines("/proc/self/maps");
  if (!lines.opened()) return false;
  MapsLine vma;
  unsigned long cursor = 0;
  while (const char* line = lines.next()) {
    if (!parse_maps_line(line, vma) || !trackable_mapping(vma)) continue;
    if (vma.start < own_end && own_start < vma.end) continue;
    if (!tracked.overflow && inside(tracked, vma.start, vma.end, cursor)) continue;
    uffdio_register registration{};
    registration.range = {vma.start, vma.end - vma.start};
    registration.mode = UFFDIO_REGISTER_MODE_WP;
    // A mapping the kernel refuses (VM_PFNMAP, ...) stays untracked.
    if (sys(SYS_ioctl, g_uffd, UFFDIO_REGISTER, &registration) < 0) continue;
    uffdio_writeprotect protect{};
    protect.range = registration.range;
    protect.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    sys(SYS_ioctl, g_uffd, UFFDIO_WRITEPROTECT, &protect);
  }
  return true;
}

bool forget() {
  // The numbers are not ours here (a child's table, a restored table).
  g_uffd = g_pagemap = -1;
  return false;
}

const DirtyEngine kEngine{scan, arm_new, forget};

}  // namespace

const DirtyEngine& uffd_engine() {
  return kEngine;
}

}  // namespace ckpt::agent
