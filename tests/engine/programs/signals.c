/* signals: a SIGALRM handler running on a sigaltstack, driven by a periodic
 * ITIMER_REAL and then by a pending alarm() (both likely to be armed when the
 * checkpoint happens), an ITIMER_VIRTUAL, a handled SIGUSR1, an ignored
 * SIGUSR2 and a blocked SIGHUP; handler counts, dispositions, the mask and
 * the alternate stack are checked and printed at the end.
 *
 * usage: signals [TICKS]   (default 400 ticks of 5 ms) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

enum { kAltStackSize = 64 * 1024, kVirtualTicks = 60 };

static long g_ticks;
static char g_alt_stack[kAltStackSize] __attribute__((aligned(64)));
static volatile sig_atomic_t g_alarm_count;
static volatile sig_atomic_t g_alarm_off_stack;
static volatile sig_atomic_t g_alarm_not_flagged;
static volatile sig_atomic_t g_virtual_count;
static volatile sig_atomic_t g_oneshot_fired;
static volatile sig_atomic_t g_usr1_count;
static volatile sig_atomic_t g_oneshot_phase;

static void disarm(int which) {
  struct itimerval off;
  memset(&off, 0, sizeof off);
  setitimer(which, &off, NULL);
}

static void on_alarm(int signal) {
  (void)signal;
  char local;
  const char* here = &local;
  if (here < g_alt_stack || here >= g_alt_stack + kAltStackSize) ++g_alarm_off_stack;
  stack_t current;
  if (sigaltstack(NULL, &current) != 0 || (current.ss_flags & SS_ONSTACK) == 0) ++g_alarm_not_flagged;
  if (g_oneshot_phase) {
    g_oneshot_fired = 1;
    return;
  }
  if (g_alarm_count < g_ticks) ++g_alarm_count;
  if (g_alarm_count == g_ticks) disarm(ITIMER_REAL);
}

static void on_virtual(int signal) {
  (void)signal;
  if (g_virtual_count < kVirtualTicks) ++g_virtual_count;
  if (g_virtual_count == kVirtualTicks) disarm(ITIMER_VIRTUAL);
}

static void on_usr1(int signal) {
  (void)signal;
  ++g_usr1_count;
}

static uint64_t g_work;
static void work_a_little(void) {
  for (int i = 0; i < 20000; ++i) g_work = mix64(g_work + (uint64_t)i);
}

static void install(int signal, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal, &action, NULL) != 0) die("sigaction");
}

int main(int argc, char** argv) {
  g_ticks = argc > 1 ? parse_count(argv[1], "TICKS") : 400;
  int failures = 0;

  stack_t alt;
  memset(&alt, 0, sizeof alt);
  alt.ss_sp = g_alt_stack;
  alt.ss_size = kAltStackSize;
  if (sigaltstack(&alt, NULL) != 0) die("sigaltstack");
  install(SIGALRM, on_alarm, SA_ONSTACK | SA_RESTART);
  install(SIGVTALRM, on_virtual, SA_RESTART);
  install(SIGUSR1, on_usr1, SA_RESTART);
  install(SIGUSR2, SIG_IGN, 0);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &blocked, NULL) != 0) die("sigprocmask");

  /* phase 1: periodic ITIMER_REAL (5 ms) and ITIMER_VIRTUAL (10 ms of CPU) */
  struct itimerval periodic;
  periodic.it_interval.tv_sec = 0;
  periodic.it_interval.tv_usec = 5000;
  periodic.it_value = periodic.it_interval;
  if (setitimer(ITIMER_REAL, &periodic, NULL) != 0) die("setitimer");
  periodic.it_interval.tv_usec = 10000;
  periodic.it_value = periodic.it_interval;
  if (setitimer(ITIMER_VIRTUAL, &periodic, NULL) != 0) die("setitimer");
  long last = -1;
  const int64_t give_up = monotonic_ns() + 20LL * 1000000000; /* then report the counts */
  while ((g_alarm_count < g_ticks || g_virtual_count < kVirtualTicks) && monotonic_ns() < give_up) {
    work_a_little();
    if (g_alarm_count / 20 != last) {
      last = g_alarm_count / 20;
      progress("signals ticks", g_alarm_count);
    }
  }

  /* phase 2: a one-shot alarm(1) pending for a whole second; first drain
   * a periodic SIGALRM that may still be pending */
  sigset_t alarm_only;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  sigprocmask(SIG_BLOCK, &alarm_only, NULL);
  const struct timespec no_wait = {0, 0};
  while (sigtimedwait(&alarm_only, NULL, &no_wait) == SIGALRM) {
  }
  g_oneshot_phase = 1;
  sigprocmask(SIG_UNBLOCK, &alarm_only, NULL);
  alarm(1);
  const int64_t oneshot_start = monotonic_ns();
  long reported = -1;
  while (!g_oneshot_fired && monotonic_ns() < give_up) {
    work_a_little();
    long tenths = (long)((monotonic_ns() - oneshot_start) / 100000000);
    if (tenths != reported) {
      reported = tenths;
      progress("signals waiting for alarm, tenths", tenths);
    }
  }

  /* the dispositions, mask and alternate stack set at the start */
  raise(SIGUSR1);
  raise(SIGUSR2); /* ignored: must not kill us */
  struct sigaction current;
  sigaction(SIGALRM, NULL, &current);
  const bool alarm_disposition = current.sa_handler == on_alarm && (current.sa_flags & SA_ONSTACK);
  sigaction(SIGUSR2, NULL, &current);
  const bool usr2_ignored = current.sa_handler == SIG_IGN;
  sigset_t mask;
  sigprocmask(SIG_BLOCK, NULL, &mask);
  const bool hup_blocked = sigismember(&mask, SIGHUP) == 1 && sigismember(&mask, SIGALRM) == 0;
  stack_t now;
  sigaltstack(NULL, &now);
  const bool alt_kept = now.ss_sp == g_alt_stack && now.ss_size == kAltStackSize &&
                        (now.ss_flags & SS_DISABLE) == 0;
  struct itimerval remaining;
  getitimer(ITIMER_REAL, &remaining);
  const bool real_disarmed = remaining.it_value.tv_sec == 0 && remaining.it_value.tv_usec == 0;

  printf("periodic SIGALRM handled %ld of %ld %s\n", (long)g_alarm_count, g_ticks,
         verdict(g_alarm_count == g_ticks, &failures));
  printf("SIGVTALRM handled %ld of %d %s\n", (long)g_virtual_count, kVirtualTicks,
         verdict(g_virtual_count == kVirtualTicks, &failures));
  printf("one-shot alarm fired %s\n", verdict(g_oneshot_fired, &failures));
  printf("SIGALRM handler off the alternate stack %ld times %s\n", (long)g_alarm_off_stack,
         verdict(g_alarm_off_stack == 0, &failures));
  printf("SIGALRM handler without SS_ONSTACK %ld times %s\n", (long)g_alarm_not_flagged,
         verdict(g_alarm_not_flagged == 0, &failures));
  printf("SIGUSR1 handled %ld %s\n", (long)g_usr1_count, verdict(g_usr1_count == 1, &failures));
  printf("SIGALRM disposition kept %s\n", verdict(alarm_disposition, &failures));
  printf("SIGUSR2 still ignored %s\n", verdict(usr2_ignored, &failures));
  printf("SIGHUP still blocked %s\n", verdict(hup_blocked, &failures));
  printf("alternate stack kept %s\n", verdict(alt_kept, &failures));
  printf("ITIMER_REAL disarmed at the end %s\n", verdict(real_disarmed, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
