// The in-application agent: shared declarations of its parts.
// Everything here runs inside the application: no exceptions, no heap
// allocation in the critical windows, raw system calls only while other
// threads are parked (they may hold libc locks).
#pragma once

#include "protocol.h"

extern "C" {
__attribute__((returns_twice)) int ckpt_save_context(CkptContext* context);
[[noreturn]] void ckpt_resume_context(const CkptContext* context);
long ckpt_clone3_resume(void* clone_args, unsigned long size, const CkptContext* context);
}

namespace ckpt::agent {

// The one agent state of this process (restored with the memory image).
extern CkptAgentState g_state;

// The agent's control socket, kept out of the application's reach (close,
// dup2/dup3 onto it fail with EBADF, as if it were not open).
inline bool is_agent_fd(int fd) { return fd == CKPT_AGENT_FD && g_state.magic == CKPT_AGENT_MAGIC; }

// ---- quiesce.cpp: parking and releasing application threads ----
// Fills what only the calling thread can read: TID, TLS base, robust list,
// clear-child-TID address, alternate signal stack, name.
void record_thread_kernel_state(CkptThreadRecord& record);
void install_quiesce_handler();
// Signals every other thread and waits until all are parked; returns the
// number parked, or -1 on timeout (threads that never park are resumed).
int park_other_threads(int self_tid);
// Releases every parked thread (they return from the quiesce handler) and
// waits until `expected` of them have left it.
void release_parked_threads(int expected);

// ---- pending_signals.cpp: run by each parked thread for itself ----
// Takes this thread's pending signals (the main thread: also the
// process's) off the kernel's queues into g_state.pending.
void take_pending_signals();
// Queues again the signals that take_pending_signals() took for this thread.
void requeue_pending_signals();

// ---- memory_wrappers.cpp: memory a fork()ed twin does not see as is ----
// While the application is stopped: finds MADV_DONTFORK/WIPEONFORK regions.
void collect_fork_advice();
// Around the twin's fork (and after a restart: reapply only).
void clear_fork_advice();
void reapply_fork_advice();
// In the twin: replaces readable shared memory that is not a remappable
// file by an empty private mapping, listed in g_state.shared_copies; the
// coordinator fills it once the whole group is stopped (one twin per
// object). False if that failed.
bool copy_shared_memory_in_twin();

// ---- process_state.cpp: kernel state that memory does not carry ----
void capture_process_state(int control_fd);
void apply_process_state();
// After a restart, once the restorer's mapping is gone: /proc/self/exe
// points to the checkpointed program again (needs the restart capability).
void restore_executable_link();

// ---- revive.cpp: after a restart ----
// Called on the main thread (entered from the restorer): re-creates every
// other saved thread with its original TID, TLS and context.
void revive_other_threads(int self_tid);
// Per-thread kernel state of a revived thread: robust list, altstack, caps.
void restore_thread_kernel_state(const CkptThreadRecord& record);

// ---- messaging (agent.cpp) ----
bool send_message(int fd, const void* message, unsigned long size);
// One message; descriptors passed with it (SCM_RIGHTS) go to `fds`
// (at most CKPT_DESCRIPTORS_PER_MESSAGE, count in *fd_count) or are closed.
long receive_message(int fd, void* buffer, unsigned long capacity, int* fds = nullptr,
                     int* fd_count = nullptr);
// In the child of fork(): connect to the coordinator and start its own
// checkpoint thread (the parent's does not exist here).
void register_forked_child();
// One line on stderr, prefixed "ckpt-agent[pid]: ".
void report(const char* text);

}  // namespace ckpt::agent
