// Keeping CKPT_QUIESCE_SIGNAL for ckpt: an application that blocks every
// signal (sigfillset + pthread_sigmask, common in threaded programs that
// sigwait() in one thread) would never park for a checkpoint, and one that
// sigwait()s on a full set would swallow the request. So the signal is
// taken out of every mask the application sets or waits on, and installing
// a handler for it fails with EINVAL, as glibc does for its own internal
// signals.
//
// Signals shielded from outside senders (CKPT_SHIELD_SIGNALS,
// outside_signals.cpp): sigaction()/signal() keep the application's
// disposition aside, and the wait functions never return an instance sent
// from outside the group (they wait again; sigtimedwait with what is left
// of its timeout). signalfd() is not filtered.
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "dirty_mprotect.hpp"
#include "next_symbol.hpp"
#include "outside_signals.hpp"
#include "protocol.h"
#include "raw_syscall.hpp"

namespace {

using ckpt::agent::next_symbol;

// A copy of `set` without our signal (nullptr stays nullptr).
const sigset_t* without_ours(const sigset_t* set, sigset_t& copy) {
  if (set == nullptr) return nullptr;
  copy = *set;
  sigdelset(&copy, CKPT_QUIESCE_SIGNAL);
  return &copy;
}

// True if `set` holds a shielded signal (then waits filter what they get).
bool waits_for_shielded(const sigset_t* set) {
  if (set == nullptr) return false;  // (the real call reports EFAULT)
  for (int signal = 1; signal <= 64; ++signal) {
    if (ckpt::agent::is_shielded(signal) && sigismember(set, signal) == 1) return true;
  }
  return false;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  using Function = int (*)(int, const sigset_t*, sigset_t*);
  static Function real = nullptr;
  sigset_t copy;
  return next_symbol(real, "sigprocmask")(how, how == SIG_UNBLOCK ? set : without_ours(set, copy), old);
}

__attribute__((visibility("default"))) int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  using Function = int (*)(int, const sigset_t*, sigset_t*);
  static Function real = nullptr;
  sigset_t copy;
  return next_symbol(real, "pthread_sigmask")(how, how == SIG_UNBLOCK ? set : without_ours(set, copy),
                                              old);
}

__attribute__((visibility("default"))) int sigaction(int signal, const struct sigaction* action,
                                                     struct sigaction* old) {
  using Function = int (*)(int, const struct sigaction*, struct sigaction*);
  static Function real = nullptr;
  if (signal == CKPT_QUIESCE_SIGNAL && action != nullptr) {
    errno = EINVAL;
    return -1;
  }
  if (ckpt::agent::is_shielded(signal)) {
    struct sigaction cleaned;
    if (action != nullptr) {
      cleaned = *action;
      sigdelset(&cleaned.sa_mask, CKPT_QUIESCE_SIGNAL);
    }
    if (ckpt::agent::application_shielded_action(signal, action != nullptr ? &cleaned : nullptr, old)) {
      return 0;
    }
  }
  // The mprotect dirty-page engine's handler stays; the application's
  // SIGSEGV disposition is kept aside and its faults forwarded to it.
  if (signal == SIGSEGV) {
    struct sigaction cleaned;
    if (action != nullptr) {
      cleaned = *action;
      sigdelset(&cleaned.sa_mask, CKPT_QUIESCE_SIGNAL);
    }
    if (ckpt::agent::application_segv_action(action != nullptr ? &cleaned : nullptr, old)) return 0;
  }
  if (action == nullptr) return next_symbol(real, "sigaction")(signal, action, old);
  struct sigaction copy = *action;
  sigdelset(&copy.sa_mask, CKPT_QUIESCE_SIGNAL);
  return next_symbol(real, "sigaction")(signal, &copy, old);
}

__attribute__((visibility("default"))) sighandler_t signal(int number, sighandler_t handler) {
  using Function = sighandler_t (*)(int, sighandler_t);
  static Function real = nullptr;
  if (number == CKPT_QUIESCE_SIGNAL) {
    errno = EINVAL;
    return SIG_ERR;
  }
  if (ckpt::agent::is_shielded(number)) {
    // glibc's signal(): BSD semantics, the signal blocked in its handler
    struct sigaction action {}, old{};
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, number);
    if (ckpt::agent::application_shielded_action(number, &action, &old)) return old.sa_handler;
  }
  if (number == SIGSEGV) {
    struct sigaction action {}, old{};
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART;
    if (ckpt::agent::application_segv_action(&action, &old)) return old.sa_handler;
  }
  return next_symbol(real, "signal")(number, handler);
}

__attribute__((visibility("default"))) int sigsuspend(const sigset_t* mask) {
  using Function = int (*)(const sigset_t*);
  static Function real = nullptr;
  sigset_t copy;
  return next_symbol(real, "sigsuspend")(without_ours(mask, copy));
}

__attribute__((visibility("default"))) int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  using Function = int (*)(const sigset_t*, siginfo_t*);
  static Function real = nullptr;
  sigset_t copy;
  if (!waits_for_shielded(set)) {
    return next_symbol(real, "sigwaitinfo")(without_ours(set, copy), info);
  }
  siginfo_t own;
  siginfo_t* out = info != nullptr ? info : &own;
  for (;;) {
    const int signal = next_symbol(real, "sigwaitinfo")(without_ours(set, copy), out);
    if (signal < 0 || !ckpt::agent::is_outside_signal(signal, out)) return signal;
  }
}

__attribute__((visibility("default"))) int sigwait(const sigset_t* set, int* signal) {
  using Function = int (*)(const sigset_t*, int*);
  static Function real = nullptr;
  sigset_t copy;
  if (!waits_for_shielded(set)) {
    return next_symbol(real, "sigwait")(without_ours(set, copy), signal);
  }
  for (;;) {  // as glibc's sigwait: EINTR is not returned
    siginfo_t info;
    const int got = sigwaitinfo(set, &info);
    if (got > 0) {
      *signal = got;
      return 0;
    }
    if (errno != EINTR) return errno;
  }
}

// A shielded signal from outside is dropped and the wait goes on for what
// is left of the timeout (measured on the monotonic clock).
__attribute__((visibility("default"))) int sigtimedwait(const sigset_t* set, siginfo_t* info,
                                                        const struct timespec* timeout) {
  using Function = int (*)(const sigset_t*, siginfo_t*, const struct timespec*);
  static Function real = nullptr;
  sigset_t copy;
  if (!waits_for_shielded(set)) {
    return next_symbol(real, "sigtimedwait")(without_ours(set, copy), info, timeout);
  }
  siginfo_t own;
  siginfo_t* out = info != nullptr ? info : &own;
  const unsigned long start = ckpt::agent::monotonic_nanoseconds();
  const unsigned long limit =
      timeout == nullptr ? 0
                         : static_cast<unsigned long>(timeout->tv_sec) * 1000000000ul +
                               static_cast<unsigned long>(timeout->tv_nsec);
  struct timespec left;
  const struct timespec* wait = timeout;
  for (;;) {
    const int signal = next_symbol(real, "sigtimedwait")(without_ours(set, copy), out, wait);
    if (signal < 0 || !ckpt::agent::is_outside_signal(signal, out)) return signal;
    if (timeout == nullptr) continue;
    const unsigned long spent = ckpt::agent::monotonic_nanoseconds() - start;
    const unsigned long rest = spent < limit ? limit - spent : 0;
    left.tv_sec = static_cast<time_t>(rest / 1000000000ul);
    left.tv_nsec = static_cast<long>(rest % 1000000000ul);
    wait = &left;
  }
}
}
