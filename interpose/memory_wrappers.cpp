// Memory that a fork()ed copy does not see as the application does.
//
// The checkpoint reads a copy-on-write twin of the process (agent.cpp), so
// three kinds of mapping need care:
//  * MADV_DONTFORK memory is missing from the twin and MADV_WIPEONFORK
//    memory reads as zeros there: while the application is stopped the
//    agent clears that advice, forks the twin, and sets it again; after a
//    restart it sets it again from the list taken at the checkpoint.
//    Finding such regions means reading /proc/self/smaps (VmFlags), which
//    walks page tables: done only once the application has called
//    madvise() with such advice (the wrapper below notices).
//  * MAP_SHARED memory that is not a file ckpt can remap (anonymous shared
//    memory, /dev/zero, memfd, SysV, deleted files) is the same memory in
//    the twin: the application, running on, would tear it. The twin puts
//    an empty private mapping in its place and records which object it was
//    (device, inode, offset). It copies nothing: the processes of a group
//    park one after another, so a copy taken here could miss what another
//    process still wrote. The coordinator fills one twin's mapping per
//    object once every process of the group is stopped
//    (launcher/engine/shared_snapshot.cpp); the restart maps every object
//    from one memfd in all its processes.
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "agent.hpp"
#include "dirty_tracking.hpp"
#include "proc_lines.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {
namespace {

bool has_flag(const char* vm_flags, const char* flag) {
  for (const char* at = vm_flags; *at != '\0'; ++at) {
    if (at[0] == ' ' && at[1] == flag[0] && at[2] == flag[1] && (at[3] == ' ' || at[3] == '\0')) {
      return true;
    }
  }
  return false;
}

// Mirrors the coordinator's classification (process_capture.cpp): a file
// it can map again at restart, whose contents therefore are not saved.
bool remappable_file(const char* path) {
  if (path[0] != '/') return false;
  if (starts_with(path, "/dev/zero") || starts_with(path, "/memfd:") || starts_with(path, "/SYSV")) {
    return false;
  }
  const unsigned long length = string_length(path);
  const char deleted[] = " (deleted)";
  const unsigned long suffix = sizeof deleted - 1;
  if (length >= suffix) {
    bool is_deleted = true;
    for (unsigned long i = 0; i < suffix; ++i) is_deleted &= path[length - suffix + i] == deleted[i];
    if (is_deleted) return false;
  }
  return true;
}

// The object a maps line shows: its offset, device (as st_dev) and inode.
struct MappedObject {
  unsigned long offset = 0, dev = 0, inode = 0;
};

unsigned long device_number(unsigned long major, unsigned long minor) {
  return ((major & 0xfffff000ul) << 32) | ((major & 0xffful) << 8) |
         ((minor & 0xffffff00ul) << 12) | (minor & 0xfful);
}

MappedObject mapped_object(const char* line) {
  const char* cursor = line;
  for (int field = 0; field < 2; ++field) {  // range, permissions
    while (*cursor != ' ' && *cursor != '\0') ++cursor;
    while (*cursor == ' ') ++cursor;
  }
  MappedObject object;
  object.offset = parse_hex(cursor);
  while (*cursor == ' ') ++cursor;
  const unsigned long major = parse_hex(cursor);
  if (*cursor == ':') ++cursor;
  object.dev = device_number(major, parse_hex(cursor));
  while (*cursor == ' ') ++cursor;
  object.inode = static_cast<unsigned long>(parse_decimal(cursor));
  return object;
}

}  // namespace

void collect_fork_advice() {
  g_state.fork_advice_count = 0;
  if (g_state.fork_advice_seen == 0) return;
  ProcLines lines("/proc/self/smaps");
  MapsLine vma;
  bool have_vma = false;
  while (const char* line = lines.next()) {
    if (parse_maps_line(line, vma)) {
      have_vma = true;
      continue;
    }
    if (!have_vma || !starts_with(line, "VmFlags:")) continue;
    have_vma = false;
    int advice = 0;
    if (has_flag(line + 8, "dc")) advice = MADV_DONTFORK;
    if (has_flag(line + 8, "wf")) advice = MADV_WIPEONFORK;
    if (advice == 0) continue;
    if (g_state.fork_advice_count == CKPT_MAX_FORK_ADVICE) {
      report("too many MADV_DONTFORK/WIPEONFORK regions; some will read as empty");
      return;
    }
    g_state.fork_advice[g_state.fork_advice_count++] = {vma.start, vma.end, advice, 0};
  }
}

void clear_fork_advice() {
  for (unsigned i = 0; i < g_state.fork_advice_count; ++i) {
    const CkptForkAdvice& region = g_state.fork_advice[i];
    const int undo = region.advice == MADV_DONTFORK ? MADV_DOFORK : MADV_KEEPONFORK;
    sys(SYS_madvise, region.start, region.end - region.start, undo);
  }
}

void reapply_fork_advice() {
  for (unsigned i = 0; i < g_state.fork_advice_count; ++i) {
    const CkptForkAdvice& region = g_state.fork_advice[i];
    sys(SYS_madvise, region.start, region.end - region.start, region.advice);
  }
}

bool copy_shared_memory_in_twin() {
  g_state.shared_copy_count = 0;
  // List first, change the address space afterwards.
  unsigned long replace_mask = 0;  // bit i: shared_copies[i] gets an empty private mapping
  {
    ProcLines lines("/proc/self/maps");
    if (!lines.opened()) return false;
    MapsLine vma;
    while (const char* line = lines.next()) {
      if (!parse_maps_line(line, vma) || vma.permissions[3] != 's') continue;
      if (remappable_file(vma.path)) continue;
      if (g_state.shared_copy_count == CKPT_MAX_SHARED_COPIES) return false;
      const MappedObject object = mapped_object(line);
      // Without PROT_READ it cannot be copied (nor is it saved): listed only.
      if (vma.permissions[0] == 'r') replace_mask |= 1ul << g_state.shared_copy_count;
      g_state.shared_copies[g_state.shared_copy_count++] = {vma.start,    vma.end,       object.dev,
                                                            object.inode, object.offset, 0};
    }
  }
  for (unsigned i = 0; i < g_state.shared_copy_count; ++i) {
    if ((replace_mask & (1ul << i)) == 0) continue;
    const CkptSharedCopy& range = g_state.shared_copies[i];
    const long empty = sys(SYS_mmap, range.start, range.end - range.start, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (empty < 0) return false;
  }
  return true;
}

}  // namespace ckpt::agent

// The application's madvise(): the system call itself, and a note when it
// asks for advice that fork() honours (see collect_fork_advice).
extern "C" __attribute__((visibility("default"))) int madvise(void* address, size_t length,
                                                              int advice) {
  const ckpt::agent::WrapperGuard guard;
  const long result = ckpt::agent::sys(SYS_madvise, address, length, advice);
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  if (advice == MADV_DONTFORK || advice == MADV_WIPEONFORK) {
    __atomic_store_n(&ckpt::agent::g_state.fork_advice_seen, 1u, __ATOMIC_RELAXED);
  }
  if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE || advice == 24 /*DONTNEED_LOCKED*/) {
    ckpt::agent::dirty_pages_dropped(reinterpret_cast<unsigned long>(address), length);
  }
  return 0;
}
