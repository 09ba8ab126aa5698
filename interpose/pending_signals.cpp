// Signals pending at the checkpoint.
//
// fork() does not copy pending signals and a restart starts with none, so
// each parked thread takes its own pending signals off the kernel's queue
// (with their siginfo, in order), the main thread also the process-directed
// ones, and queues them again when released, or after a restart. Only the
// thread itself may queue a kernel- or tgkill-made siginfo to itself (and
// only the main thread to the process): hence one thread each.
//
// A shielded signal sent from outside the group (outside_signals.cpp;
// e.g. the scheduler's preemption SIGTERM, pending because the application
// blocks it) is taken off the queue and dropped: queued again, it would
// reach the application as if sent from inside, and kill it after a restart.
#include <signal.h>
#include <sys/syscall.h>

#include "agent.hpp"
#include "outside_signals.hpp"
#include "proc_lines.hpp"
#include "raw_syscall.hpp"

namespace ckpt::agent {
namespace {

constexpr unsigned long bit(int signal) { return 1ul << (signal - 1); }
constexpr unsigned long kNeverTaken = bit(9 /*SIGKILL*/) | bit(19 /*SIGSTOP*/) | bit(CKPT_QUIESCE_SIGNAL);

// "SigPnd" (this thread's) or "ShdPnd" (the process's) of thread-self.
unsigned long pending_mask(const char* field) {
  ProcLines lines("/proc/thread-self/status");
  while (const char* line = lines.next()) {
    if (!starts_with(line, field)) continue;
    const char* cursor = line + string_length(field);
    while (*cursor == ':' || *cursor == '\t' || *cursor == ' ') ++cursor;
    return parse_hex(cursor);
  }
  return 0;
}

void take_from(const char* field, int owner_tid) {
  for (int taken = 0; taken < CKPT_MAX_PENDING_SIGNALS; ++taken) {
    unsigned long wanted = pending_mask(field) & ~kNeverTaken;
    if (wanted == 0) return;
    const unsigned slot = __atomic_fetch_add(&g_state.pending_count, 1u, __ATOMIC_SEQ_CST);
    if (slot >= CKPT_MAX_PENDING_SIGNALS) {
      __atomic_fetch_sub(&g_state.pending_count, 1u, __ATOMIC_SEQ_CST);
      report("too many pending signals; the rest stay with the running process only");
      return;
    }
    CkptPendingSignal& entry = g_state.pending[slot];
    struct timespec no_wait = {0, 0};
    const long signal = sys(SYS_rt_sigtimedwait, &wanted, entry.info, &no_wait, 8);
    if (signal <= 0) {
      entry.signal = 0;  // raced away: leave an empty slot
      return;
    }
    if (is_outside_signal(static_cast<int>(signal), reinterpret_cast<const siginfo_t*>(entry.info))) {
      entry.signal = 0;  // dropped: its slot stays empty
      continue;
    }
    entry.signal = static_cast<int32_t>(signal);
    entry.tid = owner_tid;
  }
}

}  // namespace

void take_pending_signals() {
  const int tid = current_tid();
  take_from("SigPnd", tid);
  if (tid == current_pid()) take_from("ShdPnd", 0);
}

void requeue_pending_signals() {
  const int tid = current_tid();
  const int pid = current_pid();
  const unsigned count = __atomic_load_n(&g_state.pending_count, __ATOMIC_SEQ_CST);
  for (unsigned i = 0; i < count && i < CKPT_MAX_PENDING_SIGNALS; ++i) {
    const CkptPendingSignal& entry = g_state.pending[i];
    if (entry.signal == 0) continue;
    long status = 0;
    if (entry.tid == tid) {
      status = sys(SYS_rt_tgsigqueueinfo, pid, tid, entry.signal, entry.info);
    } else if (entry.tid == 0 && tid == pid) {
      status = sys(SYS_rt_sigqueueinfo, pid, entry.signal, entry.info);
    } else {
      continue;
    }
    if (status < 0) report("cannot queue a pending signal again");
  }
}

}  // namespace ckpt::agent
