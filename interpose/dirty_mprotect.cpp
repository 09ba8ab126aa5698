// The `mprotect` dirty-page engine, the patent's mechanism: at each
// checkpoint the tracked memory is made read-only; the first write to a
// page faults (SIGSEGV), the handler marks the page written and makes it
// writable again. A system call that writes into a protected page fails
// with EFAULT instead: the wrappers of the calls that read data into
// memory unprotect the buffer first and retry once on EFAULT
// (dirty_before_kernel_write, used by io_wrappers.cpp and
// dirty_mprotect_wrappers.cpp).
//
// What is tracked: large (>= 1 MiB) private anonymous read-write memory,
// where a program's arrays live, except thread stacks (a PROT_NONE guard
// just below), malloc arenas (a PROT_NONE reserve just above), stacks and
// alternate signal stacks of the threads, the heap, and the agent's own
// buffers. Everything else is compared by hash in the coordinator, so a
// system call the wrappers do not know (stat() into a malloc'd struct)
// never meets a protected page there.
//
// vm.max_map_count (65530 here): every unprotected run splits a mapping
// (at most two more). The handler unprotects one page at first, 16-page
// blocks after 16384 faults, 2 MiB blocks after 24576 (about 50000 more
// mappings at worst), and a whole range when mprotect() reports ENOMEM: a
// checkpoint gets bigger, the application never fails. Each checkpoint
// first makes everything writable again, so mappings merge back.
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>

#include "agent.hpp"
#include "dirty_mprotect.hpp"
#include "dirty_tracking.hpp"
#include "raw_syscall.hpp"

extern "C" void ckpt_signal_return();  // quiesce.cpp

namespace ckpt::agent {
namespace {

constexpr unsigned long kPage = 4096;
constexpr unsigned long kSmallest = 1ul << 20;  // tracked ranges are at least this big
constexpr unsigned kMaxRanges = 4096;
constexpr unsigned long kBitmapBytes =
    1ul << 20;  // two bits a page: 16 GiB tracked (read at each checkpoint)

struct TrackedRange {
  unsigned long start, end;
  unsigned long first_bit;  // of its pages in the bitmaps
};

// Rebuilt at each checkpoint while the application is parked; read by the
// fault handler and the wrappers (which never run during a rebuild).
TrackedRange g_ranges[kMaxRanges];
unsigned g_range_count = 0;
unsigned long* g_written_bits = nullptr;   // page written (and writable again)
unsigned long* g_released_bits = nullptr;  // the application remapped or reprotected it
unsigned long g_bits_used = 0;
unsigned long g_bitmaps = 0;  // both bitmaps, one mapping
volatile unsigned long g_unprotects = 0;

// The application's own SIGSEGV disposition while ours is installed.
struct sigaction g_application_action;
bool g_handler_installed = false;

bool test_bit(const unsigned long* bits, unsigned long bit) {
  return (__atomic_load_n(&bits[bit / 64], __ATOMIC_RELAXED) >> (bit % 64)) & 1u;
}
void set_bits(unsigned long* bits, unsigned long first, unsigned long count) {
  for (unsigned long bit = first; bit < first + count; ++bit) {
    __atomic_fetch_or(&bits[bit / 64], 1ul << (bit % 64), __ATOMIC_RELAXED);
  }
}

const TrackedRange* range_of(unsigned long address) {
  unsigned low = 0, high = g_range_count;
  while (low < high) {
    const unsigned middle = (low + high) / 2;
    if (g_ranges[middle].end <= address) {
      low = middle + 1;
    } else if (g_ranges[middle].start > address) {
      high = middle;
    } else {
      return &g_ranges[middle];
    }
  }
  return nullptr;
}

unsigned long block_pages() {
  const unsigned long faults = g_unprotects;
  return faults < 16384 ? 1 : faults < 24576 ? 16 : 512;
}

// Makes [start, end) of `range` writable and marks it written; on ENOMEM
// (too many mappings) the whole range. False if even that failed.
bool unprotect(const TrackedRange& range, unsigned long start, unsigned long end) {
  __atomic_fetch_add(&g_unprotects, 1ul, __ATOMIC_RELAXED);
  if (sys(SYS_mprotect, start, end - start, PROT_READ | PROT_WRITE) < 0) {
    start = range.start;
    end = range.end;
    if (sys(SYS_mprotect, start, end - start, PROT_READ | PROT_WRITE) < 0) return false;
  }
  const unsigned long first = range.first_bit + (start - range.start) / kPage;
  set_bits(g_written_bits, first, (end - start) / kPage);
  return true;
}

// A write fault at `address`: ours if the page is tracked, not released
// and not written yet (or written by a thread that raced us here).
bool claim_fault(unsigned long address) {
  const TrackedRange* range = range_of(address);
  if (range == nullptr) return false;
  const unsigned long page = (address - range->start) / kPage;
  if (test_bit(g_released_bits, range->first_bit + page)) return false;
  if (test_bit(g_written_bits, range->first_bit + page)) return true;
  const unsigned long block = block_pages() * kPage;
  unsigned long start = address & ~(block - 1);
  unsigned long end = start + block;
  if (start < range->start) start = range->start;
  if (end > range->end) end = range->end;
  return unprotect(*range, start, end);
}

void forward_fault(int signal, siginfo_t* info, void* context) {
  const struct sigaction action = g_application_action;
  const bool has_info = (action.sa_flags & SA_SIGINFO) != 0;
  if ((!has_info && (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN)) ||
      (has_info && action.sa_sigaction == nullptr)) {
    // The default action: the fault happens again without us and ends the
    // process as it would have.
    CkptKernelSigaction fallback{};
    fallback.handler = reinterpret_cast<uint64_t>(SIG_DFL);
    sys(SYS_rt_sigaction, SIGSEGV, &fallback, nullptr, 8);
    return;
  }
  if ((action.sa_flags & SA_RESETHAND) != 0) {
    g_application_action.sa_handler = SIG_DFL;
    g_application_action.sa_flags = 0;
  }
  if (has_info) {
    action.sa_sigaction(signal, info, context);
  } else {
    action.sa_handler(signal);
  }
}

void on_fault(int signal, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const bool ours =
      info->si_code == SEGV_ACCERR && claim_fault(reinterpret_cast<unsigned long>(info->si_addr));
  errno = saved_errno;
  if (!ours) forward_fault(signal, info, context);
}

bool install_handler() {
  if (g_handler_installed) return true;
  CkptKernelSigaction ours{}, previous{};
  ours.handler = reinterpret_cast<uint64_t>(&on_fault);
  ours.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | 0x04000000 /*SA_RESTORER*/;
  ours.restorer = reinterpret_cast<uint64_t>(&ckpt_signal_return);
  ours.mask = 1ull << (CKPT_QUIESCE_SIGNAL - 1);  // no parking inside the handler
  if (sys(SYS_rt_sigaction, SIGSEGV, &ours, &previous, 8) < 0) return false;
  g_application_action = {};
  g_application_action.sa_handler = reinterpret_cast<void (*)(int)>(previous.handler);
  g_application_action.sa_flags = static_cast<int>(previous.flags);
  static_assert(sizeof previous.mask <= sizeof g_application_action.sa_mask);
  __builtin_memcpy(&g_application_action.sa_mask, &previous.mask, sizeof previous.mask);
  g_handler_installed = true;
  return true;
}

bool contains_thread_stack(unsigned long start, unsigned long end) {
  for (unsigned i = 0; i < g_state.thread_count && i < CKPT_MAX_THREADS; ++i) {
    const CkptThreadRecord& thread = g_state.threads[i];
    if (thread.context.rsp >= start && thread.context.rsp < end) return true;
    const unsigned long alt = thread.altstack_sp;
    if (thread.altstack_size != 0 && alt < end && start < alt + thread.altstack_size) return true;
  }
  return false;
}

// Old ranges made writable again (where they are still ours: anonymous,
// read-only, not released), so mappings merge before the new arming.
void disarm() {
  ProcLines lines("/proc/self/maps");
  MapsLine vma;
  while (const char* line = lines.next()) {
    if (!parse_maps_line(line, vma) || vma.path[0] != '\0') continue;
    if (vma.permissions[0] != 'r' || vma.permissions[1] != '-' || vma.permissions[3] != 'p')
      continue;
    for (unsigned long at = vma.start; at < vma.end;) {
      const TrackedRange* range = range_of(at);
      if (range == nullptr) {
        at += kPage;
        continue;
      }
      const unsigned long stop = range->end < vma.end ? range->end : vma.end;
      unsigned long run = at;
      for (unsigned long page = at; page <= stop; page += kPage) {
        const bool ours =
            page < stop &&
            !test_bit(g_released_bits, range->first_bit + (page - range->start) / kPage);
        if (ours) continue;
        if (page > run) sys(SYS_mprotect, run, page - run, PROT_READ | PROT_WRITE);
        run = page + kPage;
      }
      at = stop;
    }
  }
}

bool scan(RangeList& tracked, RangeList& written) {
  for (unsigned r = 0; r < g_range_count; ++r) {
    const TrackedRange& range = g_ranges[r];
    for (unsigned long page = range.start; page < range.end; page += kPage) {
      const unsigned long bit = range.first_bit + (page - range.start) / kPage;
      if (test_bit(g_released_bits, bit)) continue;
      tracked.add(page, page + kPage);
      if (test_bit(g_written_bits, bit)) written.add(page, page + kPage);
    }
  }
  return true;
}

void add_range(unsigned long start, unsigned long end) {
  if (end - start < kSmallest || g_range_count == kMaxRanges) return;
  if (contains_thread_stack(start, end)) return;
  const unsigned long pages = (end - start) / kPage;
  if (g_bits_used + pages > kBitmapBytes * 4) return;  // each bitmap has half the mapping
  if (sys(SYS_mprotect, start, end - start, PROT_READ) < 0) return;
  g_ranges[g_range_count++] = {start, end, g_bits_used};
  g_bits_used += (pages + 63) / 64 * 64;
}

bool overlaps(unsigned long start, unsigned long end, unsigned long other_start,
              unsigned long other_end) {
  return start < other_end && other_start < end;
}

bool arm_new(const RangeList&, unsigned long own_start, unsigned long own_end) {
  if (g_bitmaps == 0) {
    const long mapped = sys(SYS_mmap, 0, kBitmapBytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapped < 0) return false;
    g_bitmaps = static_cast<unsigned long>(mapped);
  }
  if (!install_handler()) {
    report("mprotect: cannot install the SIGSEGV handler; pages are compared by hash");
    return false;
  }
  disarm();
  // Fresh, zeroed bitmaps (dropping the pages is cheaper than clearing).
  sys(SYS_madvise, g_bitmaps, kBitmapBytes, MADV_DONTNEED);
  g_written_bits = reinterpret_cast<unsigned long*>(g_bitmaps);
  g_released_bits = reinterpret_cast<unsigned long*>(g_bitmaps + kBitmapBytes / 2);
  g_range_count = 0;
  g_bits_used = 0;
  g_unprotects = 0;
  // Anonymous private read-write mappings, adjacent ones forming one
  // range. Not tracked: a mapping just above a PROT_NONE one (a thread
  // stack over its guard) or just below one (a malloc arena's reserve),
  // the agent's own state (its .bss is anonymous) and buffers.
  const unsigned long state = reinterpret_cast<unsigned long>(&g_state);
  const unsigned long tables = reinterpret_cast<unsigned long>(&g_ranges[0]);
  auto eligible = [&](const MapsLine& vma) {
    const bool anonymous_rw = vma.path[0] == '\0' && vma.permissions[0] == 'r' &&
                              vma.permissions[1] == 'w' && vma.permissions[2] == '-' &&
                              vma.permissions[3] == 'p';
    return anonymous_rw && !overlaps(vma.start, vma.end, own_start, own_end) &&
           !overlaps(vma.start, vma.end, g_bitmaps, g_bitmaps + kBitmapBytes) &&
           !overlaps(vma.start, vma.end, state, state + sizeof g_state) &&
           !(tables >= vma.start && tables < vma.end);
  };
  auto protection_none = [](const MapsLine& vma) {
    return vma.path[0] == '\0' && vma.permissions[0] == '-' && vma.permissions[1] == '-' &&
           vma.permissions[2] == '-';
  };
  unsigned long run_start = 0, run_end = 0;  // adjacent eligible mappings so far
  // The last eligible mapping waits for its upper neighbour: a PROT_NONE
  // one right above it makes it an arena.
  unsigned long pending_start = 0, pending_end = 0;
  unsigned long previous_end = 0;
  bool previous_none = false;
  auto close_run = [&] {
    if (run_end > run_start) add_range(run_start, run_end);
    run_start = run_end = 0;
  };
  auto settle_pending = [&](bool below_reserve) {
    if (pending_end == 0) return;
    if (below_reserve) {
      close_run();
    } else {
      if (run_end != pending_start) close_run();
      if (run_end == 0) run_start = pending_start;
      run_end = pending_end;
    }
    pending_start = pending_end = 0;
  };
  ProcLines lines("/proc/self/maps");
  MapsLine vma;
  while (const char* line = lines.next()) {
    if (!parse_maps_line(line, vma)) continue;
    const bool none = protection_none(vma);
    settle_pending(none && vma.start == pending_end);
    const bool above_guard = previous_none && previous_end == vma.start;
    if (eligible(vma) && !above_guard) {
      pending_start = vma.start;
      pending_end = vma.end;
    } else {
      close_run();
    }
    previous_none = none;
    previous_end = vma.end;
  }
  settle_pending(false);
  close_run();
  return true;
}

bool forget() {
  return true;
}  // the protections stay: keep serving them

const DirtyEngine kEngine{scan, arm_new, forget};

}  // namespace

const DirtyEngine& mprotect_engine() {
  return kEngine;
}

namespace {

// Calls visit(range, from, to) for each tracked range that overlaps the
// pages of [data, data + length), with the overlap.
template <class Visit>
void for_each_overlap(const void* data, unsigned long length, Visit visit) {
  if (g_range_count == 0 || length == 0) return;
  const unsigned long start = reinterpret_cast<unsigned long>(data) & ~(kPage - 1);
  const unsigned long end =
      (reinterpret_cast<unsigned long>(data) + length + kPage - 1) & ~(kPage - 1);
  for (unsigned r = 0; r < g_range_count; ++r) {
    const TrackedRange& range = g_ranges[r];
    if (range.end <= start || end <= range.start) continue;
    visit(range, start > range.start ? start : range.start, end < range.end ? end : range.end);
  }
}

bool still_protected(const TrackedRange& range, unsigned long page) {
  const unsigned long bit = range.first_bit + (page - range.start) / kPage;
  return !test_bit(g_released_bits, bit) && !test_bit(g_written_bits, bit);
}

}  // namespace

bool dirty_before_kernel_write(const void* data, unsigned long length) {
  bool changed = false;
  for_each_overlap(data, length,
                   [&](const TrackedRange& range, unsigned long from, unsigned long to) {
                     for (unsigned long page = from; page < to; page += kPage) {
                       if (!still_protected(range, page)) continue;
                       unsigned long stop = page + kPage;
                       while (stop < to && still_protected(range, stop)) stop += kPage;
                       changed |= unprotect(range, page, stop);
                       page = stop - kPage;
                     }
                   });
  return changed;
}

bool dirty_before_kernel_write(const iovec* vector, int count) {
  bool changed = false;
  for (int i = 0; vector != nullptr && i < count; ++i) {
    changed |= dirty_before_kernel_write(vector[i].iov_base, vector[i].iov_len);
  }
  return changed;
}

void dirty_release(const void* data, unsigned long length, bool make_writable) {
  if (make_writable) dirty_before_kernel_write(data, length);
  for_each_overlap(data, length,
                   [](const TrackedRange& range, unsigned long from, unsigned long to) {
                     set_bits(g_released_bits, range.first_bit + (from - range.start) / kPage,
                              (to - from) / kPage);
                   });
}

bool application_segv_action(const struct sigaction* action, struct sigaction* old) {
  if (!g_handler_installed) return false;
  if (old != nullptr) *old = g_application_action;
  if (action != nullptr) g_application_action = *action;
  return true;
}

}  // namespace ckpt::agent
