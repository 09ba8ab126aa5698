// The one guard every interposed function holds while it runs: a thread
// asked to park for a checkpoint while inside a wrapper parks only when
// the outermost wrapper returns, so a checkpoint never captures a wrapper
// half done (its system call made, its bookkeeping not yet).
#pragma once

#include "protocol.h"
#include "raw_syscall.hpp"

namespace ckpt::agent {

struct WrapperThreadState {
  int depth;          // wrappers this thread is inside
  int park_deferred;  // the quiesce signal came while depth > 0
  unsigned interruptions;  // quiesce signals received (sleep_wrappers.cpp)
};

extern __thread WrapperThreadState t_wrapper __attribute__((tls_model("initial-exec")));

class WrapperGuard {
 public:
  WrapperGuard() { __atomic_add_fetch(&t_wrapper.depth, 1, __ATOMIC_SEQ_CST); }
  ~WrapperGuard() {
    if (__atomic_sub_fetch(&t_wrapper.depth, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_exchange_n(&t_wrapper.park_deferred, 0, __ATOMIC_SEQ_CST) != 0) {
      sys(SYS_tgkill, current_pid(), current_tid(), CKPT_QUIESCE_SIGNAL);  // park now
    }
  }
  WrapperGuard(const WrapperGuard&) = delete;
  WrapperGuard& operator=(const WrapperGuard&) = delete;
};

}  // namespace ckpt::agent
