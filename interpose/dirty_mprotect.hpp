// What the `mprotect` engine (dirty_mprotect.cpp) needs from wrappers.
#pragma once

#include <signal.h>

namespace ckpt::agent {

// The kernel is about to write [data, data + length) (read() and the
// like): tracked pages there are made writable and marked written. True
// if a page was changed (an EFAULT is then worth one retry). Call it under
// the wrapper guard.
bool dirty_before_kernel_write(const void* data, unsigned long length);

// The application unmaps, remaps or reprotects [data, data + length): the
// engine stops protecting those pages until the next checkpoint (made
// writable first when `make_writable`: memory that moves keeps working).
void dirty_release(const void* data, unsigned long length, bool make_writable);

// sigaction(SIGSEGV) while the engine's handler is installed: the
// application's disposition is kept aside (and its faults forwarded to
// it). False when not installed (then the real call applies).
bool application_segv_action(const struct sigaction* action, struct sigaction* old);

}  // namespace ckpt::agent
