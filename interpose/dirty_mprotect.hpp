// What the `mprotect` engine (dirty_mprotect.cpp) needs from wrappers.
#pragma once

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "wrapper_guard.hpp"

namespace ckpt::agent {

// The kernel is about to write [data, data + length) (read() and the
// like): tracked pages there are made writable and marked written. True
// if a page was changed (an EFAULT is then worth one retry). Call it under
// the wrapper guard.
bool dirty_before_kernel_write(const void* data, unsigned long length);
bool dirty_before_kernel_write(const iovec* vector, int count);

// A read into memory returned `result`: if it failed with EFAULT and
// prepare() (which unprotects its destination) changed anything, the read
// is made once more with call(). prepare runs under the wrapper guard.
template <class Prepare, class Call>
ssize_t retry_after_fault(ssize_t result, Prepare prepare, Call call) {
  if (result >= 0 || errno != EFAULT) return result;
  bool changed;
  {
    WrapperGuard guard;
    changed = prepare();
  }
  return changed ? call() : result;
}

// The application unmaps, remaps or reprotects [data, data + length): the
// engine stops protecting those pages until the next checkpoint (made
// writable first when `make_writable`: memory that moves keeps working).
void dirty_release(const void* data, unsigned long length, bool make_writable);

// sigaction(SIGSEGV) while the engine's handler is installed: the
// application's disposition is kept aside (and its faults forwarded to
// it). False when not installed (then the real call applies).
bool application_segv_action(const struct sigaction* action, struct sigaction* old);

}  // namespace ckpt::agent
