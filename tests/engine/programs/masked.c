/* masked: a threaded program that blocks every signal in every thread
 * (sigfillset + pthread_sigmask before creating its threads) and takes the
 * one it expects with sigwait() on a full set, a common pattern for
 * servers and solvers that handle signals in one place. Checkpoints must
 * still happen (ckpt keeps its own signal out of such masks). Workers
 * count for ~2.5 s; main then sends SIGUSR1 to the process, which the
 * waiting thread must take.
 *
 * usage: masked [ROUNDS]   (default 100 rounds of 25 ms) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "common.h"

enum { kWorkers = 3 };

static long g_rounds;
static int64_t g_start;

struct Worker {
  int index;
  uint64_t digest;
};

static void* worker(void* arg) {
  struct Worker* self = (struct Worker*)arg;
  for (long round = 0; round < g_rounds; ++round) {
    for (int i = 0; i < 1000; ++i) self->digest = digest_add(self->digest, (uint64_t)(round * 1000 + i + self->index));
    sleep_until_ns(g_start + (round + 1) * 25000000LL);
    if (self->index == 0 && round % 5 == 0) progress("masked round", round);
  }
  return NULL;
}

static int g_taken_signal;

static void* waiter(void* arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  int taken = 0;
  if (sigwait(&all, &taken) != 0) die("sigwait");
  g_taken_signal = taken;
  return NULL;
}

int main(int argc, char** argv) {
  g_rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 100;
  sigset_t all;
  sigfillset(&all);
  if (pthread_sigmask(SIG_BLOCK, &all, NULL) != 0) die("pthread_sigmask");
  g_start = monotonic_ns();
  struct Worker workers[kWorkers];
  pthread_t threads[kWorkers + 1];
  for (int i = 0; i < kWorkers; ++i) {
    workers[i] = (struct Worker){i, 0};
    if (pthread_create(&threads[i], NULL, worker, &workers[i]) != 0) die("pthread_create");
  }
  if (pthread_create(&threads[kWorkers], NULL, waiter, NULL) != 0) die("pthread_create");
  for (int i = 0; i < kWorkers; ++i) pthread_join(threads[i], NULL);
  kill(getpid(), SIGUSR1);
  pthread_join(threads[kWorkers], NULL);
  int failures = 0;
  for (int i = 0; i < kWorkers; ++i) {
    printf("worker %d digest %016llx\n", i, (unsigned long long)workers[i].digest);
  }
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  printf("sigwait took SIGUSR1 %s\n", verdict(g_taken_signal == SIGUSR1, &failures));
  printf("SIGUSR1 and SIGTERM still blocked %s\n",
         verdict(sigismember(&mask, SIGUSR1) == 1 && sigismember(&mask, SIGTERM) == 1, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
