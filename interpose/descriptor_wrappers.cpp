// Keeping the agent's control socket invisible to the application:
// close(), close_range() and closefrom() leave CKPT_AGENT_FD alone (as if
// it were not open), so programs that close every descriptor above 2
// before exec or at start-up keep running under ckpt.
#include <errno.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.hpp"
#include "file_spans.hpp"
#include "next_symbol.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace {

bool agent_fd_open() { return ckpt::agent::is_agent_fd(CKPT_AGENT_FD); }

int close_range_skipping_agent(unsigned first, unsigned last, int flags) {
  if ((flags & CLOSE_RANGE_CLOEXEC) == 0) {
    for (unsigned fd = first; fd <= last && fd < CKPT_SPAN_FDS; ++fd) ckpt::agent::span_closing(static_cast<int>(fd), false);
  }
  const unsigned agent = CKPT_AGENT_FD;
  if (!agent_fd_open() || agent < first || agent > last) {
    return static_cast<int>(ckpt::agent::sys(SYS_close_range, first, last, flags));
  }
  long status = 0;
  if (first < agent) status = ckpt::agent::sys(SYS_close_range, first, agent - 1, flags);
  if (status == 0 && last > agent) status = ckpt::agent::sys(SYS_close_range, agent + 1, last, flags);
  return static_cast<int>(status);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int close(int fd) {
  using CloseFunction = int (*)(int);
  static CloseFunction real_close = nullptr;
  if (ckpt::agent::is_agent_fd(fd)) {
    errno = EBADF;
    return -1;
  }
  {
    const ckpt::agent::WrapperGuard guard;
    ckpt::agent::span_closing(fd, false);
  }
  return ckpt::agent::next_symbol(real_close, "close")(fd);
}

__attribute__((visibility("default"))) int close_range(unsigned first, unsigned last, int flags) {
  const ckpt::agent::WrapperGuard guard;
  const int status = close_range_skipping_agent(first, last, flags);
  if (status < 0) {
    errno = -status;
    return -1;
  }
  return 0;
}

__attribute__((visibility("default"))) void closefrom(int lowest) {
  const ckpt::agent::WrapperGuard guard;
  if (lowest < 0) lowest = 0;
  if (close_range_skipping_agent(static_cast<unsigned>(lowest), ~0u, 0) == 0) return;
  // Old kernels: close one by one up to the descriptor limit.
  const long limit = sysconf(_SC_OPEN_MAX);
  for (long fd = lowest; fd < limit; ++fd) {
    if (fd != CKPT_AGENT_FD) ckpt::agent::sys(SYS_close, fd);
  }
}
}
