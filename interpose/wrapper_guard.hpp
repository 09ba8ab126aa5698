// The one guard every interposed function holds while it runs: a thread
// asked to park for a checkpoint while inside a wrapper parks only when
// the outermost wrapper returns, so a checkpoint never captures a wrapper
// half done (its system call made, its bookkeeping not yet).
#pragma once

#include "protocol.h"
#include "raw_syscall.hpp"

namespace ckpt::agent {

struct WrapperThreadState {
  volatile int depth;          // wrappers this thread is inside
  volatile int park_deferred;  // the quiesce signal came while depth > 0
  unsigned interruptions;  // quiesce signals received (sleep_wrappers.cpp)
};

extern __thread WrapperThreadState t_wrapper __attribute__((tls_model("initial-exec")));

// The counters are the thread's own, shared only with its own signal
// handler: plain accesses ordered by signal fences (no locked
// instructions; wrappers sit on hot paths such as write and fwrite).
inline void enter_wrapper() {
  t_wrapper.depth = t_wrapper.depth + 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
inline void leave_wrapper() {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  t_wrapper.depth = t_wrapper.depth - 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  // A quiesce signal that came while inside set park_deferred; one that
  // comes from here on sees depth 0 and parks at once.
  if (t_wrapper.depth == 0 && t_wrapper.park_deferred != 0) {
    t_wrapper.park_deferred = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    sys(SYS_tgkill, current_pid(), current_tid(), CKPT_QUIESCE_SIGNAL);  // park now
  }
}

class WrapperGuard {
 public:
  WrapperGuard() { enter_wrapper(); }
  ~WrapperGuard() { leave_wrapper(); }
  WrapperGuard(const WrapperGuard&) = delete;
  WrapperGuard& operator=(const WrapperGuard&) = delete;
};

// The patent's in-flight file-operation table, one row per thread: an
// operation is entered when its wrapper is entered and left when it
// completes; no checkpoint falls between entering it and the start of its
// execution (start()). A checkpoint during the execution itself (a read
// blocked on a pipe) is fine: the system call either completed, or
// returns EINTR / restarts after the restart.
enum FileOperation : int {
  kNoOperation = 0,
  kReadOperation,
  kWriteOperation,
  kSyncOperation,
  kStreamWriteOperation,
};
struct InFlightRow {
  int operation;
  int fd;
};
extern __thread InFlightRow t_in_flight __attribute__((tls_model("initial-exec")));

class InFlightOperation {
 public:
  InFlightOperation(FileOperation operation, int fd) {
    enter_wrapper();
    t_in_flight = {operation, fd};
  }
  void start() {
    if (!started_) leave_wrapper();
    started_ = true;
  }
  ~InFlightOperation() {
    start();
    t_in_flight = {kNoOperation, -1};
  }
  InFlightOperation(const InFlightOperation&) = delete;
  InFlightOperation& operator=(const InFlightOperation&) = delete;

 private:
  bool started_ = false;
};

}  // namespace ckpt::agent
