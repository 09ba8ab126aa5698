/* blocking: threads that spend the run blocked in the kernel, so the
 * checkpoint interrupts them there and the restart must resume the waits:
 * futex (condition variable, timed condition variable, semaphore),
 * poll() with a timeout on no descriptors, clock_nanosleep(TIMER_ABSTIME)
 * loops, relative nanosleep loops that tolerate early wake-ups, sigwait(),
 * and pthread_join in main. A ticker thread advances a generation every
 * 10 ms and waits until every waiter has acknowledged it, so every waiter
 * sees every generation exactly once and all counts are deterministic.
 *
 * usage: blocking [TICKS]   (default 200) */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>

#include "common.h"

enum { kCondWaiter, kTimedWaiter, kSemWaiter, kPollWaiter, kAbsSleepWaiter, kRelSleepWaiter, kWaiters };
static const char* const kNames[kWaiters] = {"condvar", "timed-condvar", "semaphore", "poll",
                                             "clock_nanosleep-abstime", "nanosleep-relative"};

static long g_ticks;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_tick_cond;   /* CLOCK_MONOTONIC condvar */
static pthread_cond_t g_ack_cond = PTHREAD_COND_INITIALIZER;
static long g_generation;            /* protected by g_lock, also read atomically */
static int g_acks;
static sem_t g_semaphore;

struct Waiter {
  int kind;
  long seen, count;
  uint64_t digest;
};
static struct Waiter g_waiters[kWaiters];

static long load_generation(void) { return __atomic_load_n(&g_generation, __ATOMIC_ACQUIRE); }

static void acknowledge(struct Waiter* waiter, long generation) {
  waiter->seen = generation;
  ++waiter->count;
  waiter->digest = digest_add(waiter->digest, (uint64_t)generation);
  pthread_mutex_lock(&g_lock);
  ++g_acks;
  pthread_cond_signal(&g_ack_cond);
  pthread_mutex_unlock(&g_lock);
}

static void* waiter_thread(void* arg) {
  struct Waiter* waiter = (struct Waiter*)arg;
  while (waiter->seen < g_ticks) {
    long generation = waiter->seen;
    switch (waiter->kind) {
      case kCondWaiter:
        pthread_mutex_lock(&g_lock);
        while (g_generation == waiter->seen) pthread_cond_wait(&g_tick_cond, &g_lock);
        generation = g_generation;
        pthread_mutex_unlock(&g_lock);
        break;
      case kTimedWaiter:
        pthread_mutex_lock(&g_lock);
        while (g_generation == waiter->seen) {
          struct timespec deadline = timespec_from_ns(monotonic_ns() + 7000000); /* 7 ms */
          int rc = pthread_cond_timedwait(&g_tick_cond, &g_lock, &deadline);
          if (rc != 0 && rc != ETIMEDOUT) {
            errno = rc;
            die("pthread_cond_timedwait");
          }
        }
        generation = g_generation;
        pthread_mutex_unlock(&g_lock);
        break;
      case kSemWaiter:
        while (sem_wait(&g_semaphore) != 0) {
          if (errno != EINTR) die("sem_wait");
        }
        generation = waiter->seen + 1; /* one post per generation */
        break;
      case kPollWaiter:
        while ((generation = load_generation()) == waiter->seen) {
          if (poll(NULL, 0, 3) < 0 && errno != EINTR) die("poll");
        }
        break;
      case kAbsSleepWaiter: {
        int64_t next = monotonic_ns();
        while ((generation = load_generation()) == waiter->seen) {
          next += 4000000; /* 4 ms */
          struct timespec deadline = timespec_from_ns(next);
          int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
          if (rc != 0 && rc != EINTR) {
            errno = rc;
            die("clock_nanosleep");
          }
        }
        break;
      }
      case kRelSleepWaiter:
        while ((generation = load_generation()) == waiter->seen) {
          struct timespec pause = {0, 2000000}; /* 2 ms; early returns are fine */
          nanosleep(&pause, NULL);
        }
        break;
      default:
        abort();
    }
    acknowledge(waiter, generation);
  }
  return NULL;
}

static void* ticker_thread(void* arg) {
  (void)arg;
  const int64_t start = monotonic_ns();
  for (long tick = 1; tick <= g_ticks; ++tick) {
    sleep_until_ns(start + tick * 10000000LL);
    pthread_mutex_lock(&g_lock);
    g_acks = 0;
    __atomic_store_n(&g_generation, tick, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g_tick_cond);
    sem_post(&g_semaphore);
    while (g_acks < kWaiters) pthread_cond_wait(&g_ack_cond, &g_lock);
    pthread_mutex_unlock(&g_lock);
    if (tick % 10 == 0) progress("blocking tick", tick);
  }
  return NULL;
}

static int g_sigwait_signal;
static void* sigwait_thread(void* arg) {
  sigset_t* set = (sigset_t*)arg;
  int signal = 0;
  if (sigwait(set, &signal) != 0) die("sigwait");
  g_sigwait_signal = signal;
  return NULL;
}

int main(int argc, char** argv) {
  g_ticks = argc > 1 ? parse_count(argv[1], "TICKS") : 200;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&g_tick_cond, &attr);
  pthread_condattr_destroy(&attr);
  sem_init(&g_semaphore, 0, 0);

  /* SIGUSR2 is blocked everywhere and taken by sigwait() at the end */
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2, NULL);
  pthread_t sigwaiter;
  if (pthread_create(&sigwaiter, NULL, sigwait_thread, &usr2) != 0) die("pthread_create");

  pthread_t threads[kWaiters], ticker;
  for (int k = 0; k < kWaiters; ++k) {
    g_waiters[k].kind = k;
    if (pthread_create(&threads[k], NULL, waiter_thread, &g_waiters[k]) != 0) die("pthread_create");
  }
  if (pthread_create(&ticker, NULL, ticker_thread, NULL) != 0) die("pthread_create");
  pthread_join(ticker, NULL);
  for (int k = 0; k < kWaiters; ++k) pthread_join(threads[k], NULL);
  pthread_kill(sigwaiter, SIGUSR2);
  pthread_join(sigwaiter, NULL);

  int failures = 0;
  uint64_t expected = 0;
  for (long tick = 1; tick <= g_ticks; ++tick) expected = digest_add(expected, (uint64_t)tick);
  printf("ticks %ld\n", g_ticks);
  for (int k = 0; k < kWaiters; ++k) {
    printf("%s waiter: generations %ld last %ld digest %016llx %s\n", kNames[k], g_waiters[k].count,
           g_waiters[k].seen, (unsigned long long)g_waiters[k].digest,
           verdict(g_waiters[k].count == g_ticks && g_waiters[k].digest == expected, &failures));
  }
  printf("sigwait got SIGUSR2 %s\n", verdict(g_sigwait_signal == SIGUSR2, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
