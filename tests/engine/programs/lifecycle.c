/* lifecycle: a plain single-threaded application for the behaviour tests
 * (intervals, policy signals, ckpt-ctl, exit statuses, failing checkpoints).
 * It takes STEPS steps of 10 ms; each step rewrites part of a 1 MiB heap
 * buffer, so the final digest depends on memory that a restart must carry
 * over. Progress on stderr: "progress lifecycle STEP" every step.
 *
 * usage: lifecycle STEPS [--grow MIB] [--exit N] [--signal SIG]
 *   --grow MIB    after half of the steps, allocate MIB MiB of incompressible
 *                 data (its digest is part of the result) and print
 *                 "progress lifecycle grown" on stderr
 *   --exit N      exit with status N at the end (default 0)
 *   --signal SIG  at the end, after printing the results, kill itself with
 *                 signal number SIG (default disposition)
 * stdout (at the end only): "steps N digest D" and, with --grow,
 * "grown MIB digest D". */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

#include "common.h"

enum { kWords = (1 << 20) / 8 };

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lifecycle STEPS [--grow MIB] [--exit N] [--signal SIG]\n");
    return kExitSetup;
  }
  const long steps = parse_count(argv[1], "STEPS");
  long grow_mib = 0, exit_status = 0, signal_number = 0;
  for (int i = 2; i < argc; ++i) {
    if (i + 1 < argc && strcmp(argv[i], "--grow") == 0) {
      grow_mib = parse_count(argv[++i], "MIB");
    } else if (i + 1 < argc && strcmp(argv[i], "--exit") == 0) {
      exit_status = parse_count(argv[++i], "exit status");
    } else if (i + 1 < argc && strcmp(argv[i], "--signal") == 0) {
      signal_number = parse_count(argv[++i], "signal number");
    } else {
      fprintf(stderr, "lifecycle: bad argument '%s'\n", argv[i]);
      return kExitSetup;
    }
  }

  uint64_t* words = (uint64_t*)malloc(kWords * sizeof(uint64_t));
  if (words == NULL) die("malloc");
  for (size_t i = 0; i < kWords; ++i) words[i] = mix64(i);

  uint64_t* grown = NULL;
  size_t grown_words = 0;
  for (long step = 0; step < steps; ++step) {
    const int64_t deadline = monotonic_ns() + 10 * 1000000;
    /* rewrite one 1/16 of the buffer, chained through the previous values */
    const size_t first = (size_t)(step % 16) * (kWords / 16);
    uint64_t carry = (uint64_t)step;
    for (size_t i = first; i < first + kWords / 16; ++i) {
      words[i] = mix64(words[i] ^ carry);
      carry = words[i];
    }
    if (grow_mib > 0 && step == steps / 2) {
      grown_words = ((size_t)grow_mib << 20) / sizeof(uint64_t);
      grown = (uint64_t*)malloc(grown_words * sizeof(uint64_t));
      if (grown == NULL) die("malloc");
      for (size_t i = 0; i < grown_words; ++i) grown[i] = mix64(i ^ 0xa5a5a5a5ull);
      fprintf(stderr, "progress lifecycle grown\n");
    }
    progress("lifecycle", step);
    sleep_until_ns(deadline);
  }

  uint64_t digest = 0;
  for (size_t i = 0; i < kWords; ++i) digest = digest_add(digest, words[i]);
  printf("steps %ld digest %016llx\n", steps, (unsigned long long)digest);
  if (grown != NULL) {
    uint64_t grown_digest = 0;
    for (size_t i = 0; i < grown_words; ++i) grown_digest = digest_add(grown_digest, grown[i]);
    printf("grown %ld digest %016llx\n", grow_mib, (unsigned long long)grown_digest);
  }
  fflush(stdout);
  free(grown);
  free(words);
  if (signal_number > 0) {
    signal((int)signal_number, SIG_DFL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, (int)signal_number);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    kill(getpid(), (int)signal_number);
    sleep(5);
    fprintf(stderr, "lifecycle: still alive after signal %ld\n", signal_number);
    return kExitSetup;
  }
  return (int)exit_status;
}
