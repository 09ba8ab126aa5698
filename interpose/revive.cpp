// Bringing threads back after a restart.
//
// The restorer rebuilt the memory and jumped into the main thread's saved
// context inside the quiesce handler. From there the main thread re-creates
// every other saved thread with clone3(set_tid = its old TID), its old TLS
// base and clear-child-TID address; each new thread starts directly in its
// saved context (ckpt_clone3_resume), where it re-registers its robust
// futex list and alternate signal stack, and parks like after any
// checkpoint until the agent's checkpoint thread releases everyone.
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "agent.hpp"
#include "raw_syscall.hpp"

namespace ckpt::agent {
namespace {

struct CloneArguments {
  unsigned long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};

// Each revived thread needs a few bytes of stack for its first
// instructions, before it switches to its own saved stack pointer.
alignas(64) char scratch_stacks[CKPT_MAX_THREADS][256];

void drop_capabilities() {
  struct {
    unsigned version;
    int pid;
  } header{0x20080522 /*_LINUX_CAPABILITY_VERSION_3*/, 0};
  unsigned data[6] = {};
  sys(SYS_capset, &header, data);
  sys(SYS_prctl, 47 /*PR_CAP_AMBIENT*/, 4 /*PR_CAP_AMBIENT_CLEAR_ALL*/, 0, 0, 0);
}

}  // namespace

void restore_thread_kernel_state(const CkptThreadRecord& record) {
  // A restart needed CAP_CHECKPOINT_RESTORE for clone3(set_tid); the
  // application never sees it. Capabilities are per thread.
  drop_capabilities();
  if (record.name[0] != '\0') sys(SYS_prctl, PR_SET_NAME, record.name);
  if (record.robust_head != 0) {
    sys(SYS_set_robust_list, record.robust_head, record.robust_length);
  }
  if (record.altstack_size != 0) {
    stack_t stack{};
    stack.ss_sp = reinterpret_cast<void*>(record.altstack_sp);
    stack.ss_size = record.altstack_size;
    stack.ss_flags = record.altstack_flags;
    sys(SYS_sigaltstack, &stack, nullptr);
  }
}

void revive_other_threads(int self_tid) {
  for (unsigned i = 0; i < g_state.thread_count && i < CKPT_MAX_THREADS; ++i) {
    const CkptThreadRecord& record = g_state.threads[i];
    if (record.tid == self_tid) continue;
    CloneArguments arguments{};
    arguments.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                      CLONE_SYSVSEM | CLONE_SETTLS | CLONE_CHILD_CLEARTID;
    arguments.child_tid = record.clear_child_tid;
    arguments.stack = reinterpret_cast<unsigned long>(scratch_stacks[i]);
    arguments.stack_size = sizeof scratch_stacks[i];
    arguments.tls = record.fs_base;
    pid_t tid = record.tid;
    arguments.set_tid = reinterpret_cast<unsigned long>(&tid);
    arguments.set_tid_size = 1;
    const long created = ckpt_clone3_resume(&arguments, sizeof arguments, &record.context);
    if (created != record.tid) report("cannot re-create a thread with its TID");
  }
}

}  // namespace ckpt::agent
