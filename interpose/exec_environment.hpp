// What every program started from a checkpointed process needs in its
// environment to run under the agent, whatever environment the caller
// passes (even an empty one), and the check that refuses programs the
// agent cannot follow (statically linked: LD_PRELOAD has no effect).
#pragma once

namespace ckpt::agent {

// An environment block for execve/posix_spawn: the caller's entries with
// LD_PRELOAD, GLIBC_TUNABLES and the ckpt variables set as the agent
// needs them. `keep_channel`: the new program (exec) takes over this
// process's control socket; otherwise (a new process) it connects itself.
class ExecEnvironment {
 public:
  ExecEnvironment(char* const* caller_environment, bool keep_channel);
  ~ExecEnvironment();
  ExecEnvironment(const ExecEnvironment&) = delete;
  ExecEnvironment& operator=(const ExecEnvironment&) = delete;
  // nullptr when the block could not be built: use the caller's.
  char* const* entries() const { return entries_; }

 private:
  char** entries_ = nullptr;
  unsigned long bytes_ = 0;
};

// Whether the agent is active in this process (under ckpt).
bool agent_active();

// Adds what the agent needs to this process's own environ (for libc calls
// that start programs with it internally: system, popen).
void repair_own_environment();

// True (after reporting it) when `path` (relative to `directory_fd`) or
// the already open `fd` (fd >= 0) is a statically linked program, or a
// script whose interpreter is one.
bool refuse_static_program(int directory_fd, const char* path, int fd = -1);

// The first executable `file` on PATH (file itself when it has a '/');
// writes into `out`. False when none is found.
bool find_on_path(const char* file, char* out, unsigned long capacity);

// The channel survives exec (close-on-exec off) for the duration.
class ChannelAcrossExec {
 public:
  ChannelAcrossExec();
  ~ChannelAcrossExec();  // the exec failed: close-on-exec again
  ChannelAcrossExec(const ChannelAcrossExec&) = delete;
  ChannelAcrossExec& operator=(const ChannelAcrossExec&) = delete;
};

// The quiesce signal blocked for the duration: one sent just as the exec
// happens would otherwise stay pending into the new program and, its
// handler reset by the exec, kill it before the agent's constructor runs.
// The new program's agent unblocks it after installing its handler (a
// late signal is then a no-op).
class QuiesceSignalHeldAcrossExec {
 public:
  QuiesceSignalHeldAcrossExec();
  ~QuiesceSignalHeldAcrossExec();  // the exec failed: the previous mask again
  QuiesceSignalHeldAcrossExec(const QuiesceSignalHeldAcrossExec&) = delete;
  QuiesceSignalHeldAcrossExec& operator=(const QuiesceSignalHeldAcrossExec&) = delete;

 private:
  unsigned long previous_mask_ = 0;
};

// In the agent's constructor, once the quiesce handler is in place.
void release_quiesce_signal();

}  // namespace ckpt::agent
