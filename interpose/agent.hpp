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

// ---- quiesce.cpp: parking and releasing application threads ----
void install_quiesce_handler();
// Signals every other thread and waits until all are parked; returns the
// number parked, or -1 on timeout (threads that never park are resumed).
int park_other_threads(int self_tid);
// Releases every parked thread (they return from the quiesce handler).
void release_parked_threads();

// ---- process_state.cpp: kernel state that memory does not carry ----
void capture_process_state(int control_fd);
void apply_process_state();

// ---- revive.cpp: after a restart ----
// Called on the main thread (entered from the restorer): re-creates every
// other saved thread with its original TID, TLS and context.
void revive_other_threads(int self_tid);
// Per-thread kernel state of a revived thread: robust list, altstack, caps.
void restore_thread_kernel_state(const CkptThreadRecord& record);

// ---- messaging (agent.cpp) ----
bool send_message(int fd, const void* message, unsigned long size);
long receive_message(int fd, void* buffer, unsigned long capacity);
// One line on stderr, prefixed "ckpt-agent[pid]: ".
void report(const char* text);

}  // namespace ckpt::agent
