// Parking application threads for a checkpoint.
//
// The checkpoint thread sends CKPT_QUIESCE_SIGNAL to every other thread.
// Each thread's handler records what only it can read (TID, TLS base,
// robust list, clear-child-TID address, alternate signal stack), saves its
// callee-saved context and sleeps on a futex. The interrupted user context
// (all registers, FP/AVX state, signal mask) is in the signal frame on the
// thread's own stack, so it is part of the memory image: returning from
// the handler, after a release or after a restart, restores it exactly.
#include <asm/prctl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>

#include <cstring>

#include "agent.hpp"
#include "proc_lines.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {

__thread WrapperThreadState t_wrapper __attribute__((tls_model("initial-exec"))) = {0, 0, 0};
__thread InFlightRow t_in_flight __attribute__((tls_model("initial-exec"))) = {0, -1};

namespace {

struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

extern "C" void ckpt_signal_return();
asm(".text\n.globl ckpt_signal_return\n.hidden ckpt_signal_return\nckpt_signal_return:\n"
    "  movq $15, %rax\n  syscall\n");

void leave_handler() {
  __atomic_fetch_add(&g_state.left, 1, __ATOMIC_SEQ_CST);
  futex_wake_all(&g_state.left);
}

void wait_for_release(int seen_release) {
  while (g_state.release == seen_release) futex_wait(&g_state.release, seen_release);
}

void quiesce_handler(int, siginfo_t*, void*) {
  const int release_before = __atomic_load_n(&g_state.release, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&t_wrapper.interruptions, 1u, __ATOMIC_SEQ_CST);
  // A late signal after the checkpoint ended (or was abandoned) is a no-op.
  if (__atomic_load_n(&g_state.quiescing, __ATOMIC_SEQ_CST) == 0) return;
  // Inside one of our wrappers: park when it returns (WrapperGuard).
  if (__atomic_load_n(&t_wrapper.depth, __ATOMIC_SEQ_CST) > 0) {
    __atomic_store_n(&t_wrapper.park_deferred, 1, __ATOMIC_SEQ_CST);
    return;
  }
  const unsigned slot = __atomic_fetch_add(&g_state.thread_count, 1, __ATOMIC_SEQ_CST);
  if (slot >= CKPT_MAX_THREADS) {
    __atomic_fetch_add(&g_state.parked, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&g_state.parked);
    wait_for_release(release_before);
    leave_handler();
    return;
  }
  CkptThreadRecord& record = g_state.threads[slot];
  record.flags = 0;
  record_thread_kernel_state(record);
  take_pending_signals();
  if (ckpt_save_context(&record.context) == 0) {
    __atomic_fetch_add(&g_state.parked, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&g_state.parked);
    wait_for_release(release_before);
  } else {
    // Restarted: this is a new kernel thread with the old TID. The main
    // thread came here from the restorer and brings the others back first.
    if (current_tid() == current_pid()) revive_other_threads(current_tid());
    restore_thread_kernel_state(g_state.threads[slot]);
    __atomic_fetch_add(&g_state.revived, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&g_state.revived);
    wait_for_release(release_before);
  }
  requeue_pending_signals();
  leave_handler();
}

// Lists the TIDs of this process into `tids`; returns how many (-1: error).
int list_threads(int* tids, int capacity) {
  int count = 0;
  const bool listed = for_each_numbered_entry("/proc/self/task", [&](int tid, int) {
    if (count < capacity) tids[count++] = tid;
    return true;
  });
  return listed ? count : -1;
}

bool contains(const int* values, int count, int value) {
  for (int i = 0; i < count; ++i) {
    if (values[i] == value) return true;
  }
  return false;
}

}  // namespace

void record_thread_kernel_state(CkptThreadRecord& record) {
  record.tid = current_tid();
  sys(SYS_arch_prctl, ARCH_GET_FS, &record.fs_base);
  unsigned long length = 0;
  void* head = nullptr;
  if (sys(SYS_get_robust_list, 0, &head, &length) == 0) {
    record.robust_head = reinterpret_cast<unsigned long>(head);
    record.robust_length = length;
  }
  void* clear_tid = nullptr;
  if (sys(SYS_prctl, PR_GET_TID_ADDRESS, &clear_tid) == 0) {
    record.clear_child_tid = reinterpret_cast<unsigned long>(clear_tid);
  }
  stack_t stack{};
  if (sys(SYS_sigaltstack, nullptr, &stack) == 0) {
    record.altstack_sp = reinterpret_cast<unsigned long>(stack.ss_sp);
    record.altstack_size = stack.ss_size;
    record.altstack_flags = stack.ss_flags & ~SS_ONSTACK;
  }
  sys(SYS_prctl, PR_GET_NAME, record.name);
}

void install_quiesce_handler() {
  KernelSigaction action{};
  action.handler = quiesce_handler;
  action.flags = SA_SIGINFO | SA_RESTART | 0x04000000 /*SA_RESTORER*/;
  action.restorer = ckpt_signal_return;
  action.mask = ~0ul;  // nothing interrupts a parking thread
  sys(SYS_rt_sigaction, CKPT_QUIESCE_SIGNAL, &action, nullptr, 8);
}

int park_other_threads(int self_tid) {
  const int pid = current_pid();
  g_state.parked = 0;
  __atomic_store_n(&g_state.quiescing, 1, __ATOMIC_SEQ_CST);
  static int signalled[CKPT_MAX_THREADS];
  int signalled_count = 0;
  // Threads may be created while we park the others: scan until stable.
  for (int round = 0; round < 50; ++round) {
    static int tids[CKPT_MAX_THREADS];
    const int count = list_threads(tids, CKPT_MAX_THREADS);
    bool new_threads = false;
    for (int i = 0; i < count; ++i) {
      if (tids[i] == self_tid || contains(signalled, signalled_count, tids[i])) continue;
      if (signalled_count == CKPT_MAX_THREADS) return -1;
      signalled[signalled_count++] = tids[i];
      sys(SYS_tgkill, pid, tids[i], CKPT_QUIESCE_SIGNAL);
      new_threads = true;
    }
    // Wait (up to ~5 s per round) until every signalled thread is parked.
    for (int waited = 0; g_state.parked < signalled_count && waited < 5000; ++waited) {
      const int parked = g_state.parked;
      struct timespec millisecond = {0, 1000000};
      if (parked < signalled_count) sys(SYS_futex, &g_state.parked, FUTEX_WAIT_PRIVATE, parked, &millisecond);
    }
    if (g_state.parked < signalled_count) return -1;
    if (!new_threads) return signalled_count;
  }
  return -1;
}

void release_parked_threads(int expected) {
  __atomic_store_n(&g_state.quiescing, 0, __ATOMIC_SEQ_CST);
  g_state.parked = 0;
  g_state.revived = 0;
  g_state.left = 0;
  __atomic_fetch_add(&g_state.release, 1, __ATOMIC_SEQ_CST);
  futex_wake_all(&g_state.release);
  // Wait (at most ~1 s) until they are out of the handler, so that the next
  // checkpoint cannot reuse their pending-signal slots too early.
  for (int waited = 0; waited < 1000; ++waited) {
    const int left = __atomic_load_n(&g_state.left, __ATOMIC_SEQ_CST);
    if (left >= expected) return;
    struct timespec millisecond = {0, 1000000};
    sys(SYS_futex, &g_state.left, FUTEX_WAIT_PRIVATE, left, &millisecond);
  }
}

}  // namespace ckpt::agent
