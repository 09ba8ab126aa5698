// Sleeps that a checkpoint does not cut short.
//
// The kernel ends a relative nanosleep()/clock_nanosleep() with EINTR when
// any handled signal arrives, even with SA_RESTART, and the restart after
// a restore finds no restart block either. So the quiesce signal (or a
// restart) would wake sleep(10) early. These wrappers sleep again for the
// remaining time when the interruption was ours (the quiesce handler counts
// them per thread); a signal of the application still interrupts them as
// usual. They call libc's own functions, so cancellation points stay.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "agent.hpp"
#include "next_symbol.hpp"
#include "wrapper_guard.hpp"

namespace {

using ClockNanosleep = int (*)(clockid_t, int, const timespec*, timespec*);

ClockNanosleep real_clock_nanosleep() {
  static ClockNanosleep real = nullptr;
  return ckpt::agent::next_symbol(real, "clock_nanosleep");
}

// clock_nanosleep's contract (returns an error number), resuming after
// interruptions that came from ckpt.
int sleep_resuming(clockid_t clock, int flags, const timespec* request, timespec* remaining) {
  timespec left = *request;
  timespec left_after{};
  for (;;) {
    const unsigned interruptions =
        __atomic_load_n(&ckpt::agent::t_wrapper.interruptions, __ATOMIC_SEQ_CST);
    const int status = real_clock_nanosleep()(clock, flags, &left, &left_after);
    if (status != EINTR) return status;
    const bool ours =
        __atomic_load_n(&ckpt::agent::t_wrapper.interruptions, __ATOMIC_SEQ_CST) != interruptions;
    if (!ours) {
      if (remaining != nullptr && (flags & TIMER_ABSTIME) == 0) *remaining = left_after;
      return EINTR;
    }
    if ((flags & TIMER_ABSTIME) == 0) left = left_after;  // absolute: same deadline again
  }
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int clock_nanosleep(clockid_t clock, int flags,
                                                           const timespec* request,
                                                           timespec* remaining) {
  if (request == nullptr) return real_clock_nanosleep()(clock, flags, request, remaining);
  return sleep_resuming(clock, flags, request, remaining);
}

__attribute__((visibility("default"))) int nanosleep(const timespec* request, timespec* remaining) {
  if (request == nullptr || request->tv_nsec < 0 || request->tv_nsec >= 1000000000L) {
    errno = EINVAL;
    return -1;
  }
  const int status = sleep_resuming(CLOCK_MONOTONIC, 0, request, remaining);
  if (status == 0) return 0;
  errno = status;
  return -1;
}

__attribute__((visibility("default"))) unsigned sleep(unsigned seconds) {
  const timespec request{static_cast<time_t>(seconds), 0};
  timespec remaining{};
  if (sleep_resuming(CLOCK_REALTIME, 0, &request, &remaining) != EINTR) return 0;
  return static_cast<unsigned>(remaining.tv_sec) + (remaining.tv_nsec > 0 ? 1 : 0);
}

__attribute__((visibility("default"))) int usleep(useconds_t microseconds) {
  const timespec request{static_cast<time_t>(microseconds / 1000000),
                         static_cast<long>(microseconds % 1000000) * 1000};
  const int status = sleep_resuming(CLOCK_REALTIME, 0, &request, nullptr);
  if (status == 0) return 0;
  errno = status;
  return -1;
}
}
