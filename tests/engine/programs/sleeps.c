/* sleeps: sleep(), usleep(), nanosleep() and relative clock_nanosleep()
 * each sleep their full time although a checkpoint (its signal) or a
 * restart interrupts them: the kernel ends relative sleeps with EINTR on
 * any handled signal, so without help they would return early. Each sleep
 * runs in its own thread at the same time; main checks the time slept and
 * the return values. A SIGUSR1 of the program's own still interrupts a
 * sleep (checked last).
 *
 * usage: sleeps */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include "common.h"

enum { kSleep, kUsleep, kNanosleep, kClockNanosleep, kKinds };
static const char* const kNames[kKinds] = {"sleep(3)", "usleep(2500000)", "nanosleep(2.5 s)",
                                           "clock_nanosleep(relative 2.5 s)"};
static const int64_t kExpectedNs[kKinds] = {3000000000LL, 2500000000LL, 2500000000LL, 2500000000LL};

struct Result {
  int kind;
  long status;
  int64_t slept_ns;
};

static void* sleeper(void* arg) {
  struct Result* result = (struct Result*)arg;
  const int64_t start = monotonic_ns();
  struct timespec request = {2, 500000000};
  struct timespec remaining = {0, 0};
  switch (result->kind) {
    case kSleep:
      result->status = (long)sleep(3);
      break;
    case kUsleep:
      result->status = usleep(2500000);
      break;
    case kNanosleep:
      result->status = nanosleep(&request, &remaining);
      break;
    case kClockNanosleep:
      result->status = clock_nanosleep(CLOCK_MONOTONIC, 0, &request, &remaining);
      break;
  }
  result->slept_ns = monotonic_ns() - start;
  return NULL;
}

static void on_usr1(int signal) { (void)signal; }

int main(void) {
  struct Result results[kKinds];
  pthread_t threads[kKinds];
  for (int kind = 0; kind < kKinds; ++kind) {
    results[kind] = (struct Result){kind, -99, 0};
    if (pthread_create(&threads[kind], NULL, sleeper, &results[kind]) != 0) die("pthread_create");
  }
  for (int tick = 0; tick < 6; ++tick) {
    sleep_ms(500);
    progress("sleeps tick", tick);
  }
  int failures = 0;
  for (int kind = 0; kind < kKinds; ++kind) {
    pthread_join(threads[kind], NULL);
    printf("%s returned %ld, slept its full time %s\n", kNames[kind], results[kind].status,
           verdict(results[kind].status == 0 && results[kind].slept_ns >= kExpectedNs[kind], &failures));
  }
  /* The application's own signal still interrupts a sleep. */
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);
  struct Result interrupted = {kNanosleep, -99, 0};
  pthread_t thread;
  if (pthread_create(&thread, NULL, sleeper, &interrupted) != 0) die("pthread_create");
  sleep_ms(200);
  pthread_kill(thread, SIGUSR1);
  pthread_join(thread, NULL);
  printf("nanosleep interrupted by the program's SIGUSR1: returned %ld early %s\n", interrupted.status,
         verdict(interrupted.status == -1 && interrupted.slept_ns < kExpectedNs[kNanosleep], &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
