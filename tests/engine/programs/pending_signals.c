/* pending_signals: signals that are pending (blocked, not yet delivered)
 * while the checkpoint happens must still be pending after the restart:
 *   - SIGUSR1 sent to the main thread (thread-directed),
 *   - three queued SIGRTMIN+2 with values 1, 2, 3 sent to the process
 *     (process-directed, real-time: queued, in order, with their values),
 *   - SIGUSR2 sent to a second thread that blocks it;
 *   - a periodic ITIMER_REAL (10 ms) whose SIGALRM is blocked: after its
 *     first expiry the kernel re-arms it only when the pending SIGALRM is
 *     dequeued, so meanwhile getitimer() reads 0 although the timer is
 *     periodic; after the restart it must still tick once SIGALRM is
 *     unblocked.
 * They stay blocked for ~2.5 s; then each thread checks sigpending() and
 * unblocks, and the handlers record what arrives.
 *
 * usage: pending_signals [ROUNDS]   (default 100 rounds of 25 ms) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t g_usr1, g_usr2, g_rt_count, g_alarms;
static volatile int g_rt_values[8];
static long g_rounds;
static int64_t g_start;

static void on_usr1(int signal) {
  (void)signal;
  ++g_usr1;
}
static void on_usr2(int signal) {
  (void)signal;
  ++g_usr2;
}
static void on_alarm(int signal) {
  (void)signal;
  ++g_alarms;
}
static void on_rt(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  if (g_rt_count < 8) g_rt_values[g_rt_count] = info->si_value.sival_int;
  ++g_rt_count;
}

static void wait_rounds(bool report) {
  for (long round = 0; round < g_rounds; ++round) {
    sleep_until_ns(g_start + (round + 1) * 25000000LL);
    if (report && round % 5 == 0) progress("pending_signals round", round);
  }
}

struct WorkerResult {
  bool usr2_pending;
};

static void* worker(void* arg) {
  struct WorkerResult* result = (struct WorkerResult*)arg;
  wait_rounds(false);
  sigset_t pending;
  sigpending(&pending);
  result->usr2_pending = sigismember(&pending, SIGUSR2) == 1;
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_UNBLOCK, &usr2, NULL); /* the handler runs here */
  return NULL;
}

int main(int argc, char** argv) {
  g_rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 100;
  const int rt = SIGRTMIN + 2;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);
  action.sa_handler = on_usr2;
  sigaction(SIGUSR2, &action, NULL);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  action.sa_sigaction = on_rt;
  action.sa_flags = SA_SIGINFO;
  sigaction(rt, &action, NULL);

  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGUSR2);
  sigaddset(&blocked, rt);
  sigaddset(&blocked, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &blocked, NULL); /* inherited by the worker */
  struct itimerval periodic = {{0, 10000}, {0, 10000}};
  if (setitimer(ITIMER_REAL, &periodic, NULL) != 0) die("setitimer");

  g_start = monotonic_ns();
  struct WorkerResult worker_result = {false};
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, &worker_result) != 0) die("pthread_create");

  pthread_kill(pthread_self(), SIGUSR1);
  for (int value = 1; value <= 3; ++value) {
    union sigval sv;
    sv.sival_int = value;
    if (sigqueue(getpid(), rt, sv) != 0) die("sigqueue");
  }
  pthread_kill(thread, SIGUSR2);

  wait_rounds(true);
  pthread_join(thread, NULL);

  sigset_t pending;
  sigpending(&pending);
  const bool usr1_pending = sigismember(&pending, SIGUSR1) == 1;
  const bool rt_pending = sigismember(&pending, rt) == 1;
  const bool usr2_leaked = sigismember(&pending, SIGUSR2) == 1;
  const bool alarm_pending = sigismember(&pending, SIGALRM) == 1;
  pthread_sigmask(SIG_UNBLOCK, &blocked, NULL); /* handlers run here */
  /* the periodic timer must tick on: wait (at most 3 s) for 5 more SIGALRMs */
  const int64_t alarm_deadline = monotonic_ns() + 3000000000LL;
  const int alarms_at_unblock = (int)g_alarms;
  while (g_alarms < alarms_at_unblock + 5 && monotonic_ns() < alarm_deadline) {
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
  const bool timer_ticks = g_alarms >= alarms_at_unblock + 5;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);

  int failures = 0;
  printf("main: SIGUSR1 pending %s, SIGRTMIN+2 pending %s, no stray SIGUSR2 %s\n",
         verdict(usr1_pending, &failures), verdict(rt_pending, &failures),
         verdict(!usr2_leaked, &failures));
  printf("worker: SIGUSR2 pending %s\n", verdict(worker_result.usr2_pending, &failures));
  printf("SIGUSR1 delivered %d %s\n", (int)g_usr1, verdict(g_usr1 == 1, &failures));
  printf("SIGUSR2 delivered %d %s\n", (int)g_usr2, verdict(g_usr2 == 1, &failures));
  printf("SIGRTMIN+2 delivered %d with values", (int)g_rt_count);
  for (int i = 0; i < g_rt_count && i < 8; ++i) printf(" %d", g_rt_values[i]);
  printf(" %s\n", verdict(g_rt_count == 3 && g_rt_values[0] == 1 && g_rt_values[1] == 2 &&
                              g_rt_values[2] == 3,
                          &failures));
  printf("periodic ITIMER_REAL with its SIGALRM blocked: SIGALRM pending %s, delivered on unblock %s, "
         "ticks on afterwards %s\n",
         verdict(alarm_pending, &failures), verdict(alarms_at_unblock == 1, &failures),
         verdict(timer_ticks, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
