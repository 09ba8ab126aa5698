/* Helpers shared by the engine test programs (C and C++).
 *
 * Conventions every program follows:
 *  - progress goes to stderr ("progress NAME N"), results go to stdout only
 *    at the end, so the stdout of an uninterrupted run equals, byte for byte,
 *    the stdout of a run that was checkpointed, killed and restarted;
 *  - everything printed to stdout is deterministic (fixed amounts of work,
 *    no timings, no addresses);
 *  - sleeps tolerate early wake-ups (EINTR, a restart): absolute deadlines. */
#ifndef CKPT_ENGINE_TEST_COMMON_H
#define CKPT_ENGINE_TEST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __cplusplus
#define CKPT_TEST_INLINE inline
#else
#define CKPT_TEST_INLINE static inline
#endif

/* Exit statuses: 0 all checks passed, 1 a check failed (results still
 * printed), 2 bad arguments or a system call failed, 3 required CPU feature
 * missing. */
enum { kExitCheckFailed = 1, kExitSetup = 2, kExitNoCpuFeature = 3 };

CKPT_TEST_INLINE void progress(const char* name, long n) {
  fprintf(stderr, "progress %s %ld\n", name, n);
}

CKPT_TEST_INLINE void die(const char* what) {
  fprintf(stderr, "FATAL: %s: %s\n", what, strerror(errno));
  exit(kExitSetup);
}

/* splitmix64: a cheap bijective mixer. */
CKPT_TEST_INLINE uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Order-dependent digest step. */
CKPT_TEST_INLINE uint64_t digest_add(uint64_t digest, uint64_t value) {
  return mix64(digest ^ value) + 0x2545f4914f6cdd1dull;
}

CKPT_TEST_INLINE uint64_t digest_bytes(uint64_t digest, const void* data, size_t length) {
  const unsigned char* bytes = (const unsigned char*)data;
  uint64_t h = digest ^ 0xcbf29ce484222325ull;
  for (size_t i = 0; i < length; ++i) h = (h ^ bytes[i]) * 0x100000001b3ull;
  return h;
}

CKPT_TEST_INLINE int64_t monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

CKPT_TEST_INLINE struct timespec timespec_from_ns(int64_t ns) {
  struct timespec t;
  t.tv_sec = (time_t)(ns / 1000000000);
  t.tv_nsec = (long)(ns % 1000000000);
  return t;
}

/* Sleeps until CLOCK_MONOTONIC reaches deadline_ns; EINTR and early returns
 * (for instance right after a restart) just sleep again. */
CKPT_TEST_INLINE void sleep_until_ns(int64_t deadline_ns) {
  for (;;) {
    struct timespec deadline = timespec_from_ns(deadline_ns);
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    if (rc == 0 && monotonic_ns() >= deadline_ns) return;
    if (rc != 0 && rc != EINTR) {
      errno = rc;
      die("clock_nanosleep");
    }
  }
}

CKPT_TEST_INLINE void sleep_ms(long ms) { sleep_until_ns(monotonic_ns() + (int64_t)ms * 1000000); }

/* "ok", or "MISMATCH" after counting the failure. */
CKPT_TEST_INLINE const char* verdict(int ok, int* failures) {
  if (ok) return "ok";
  ++*failures;
  return "MISMATCH";
}

/* Reads a positive integer argument or exits with a clear message. */
CKPT_TEST_INLINE long parse_count(const char* text, const char* what) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value <= 0) {
    fprintf(stderr, "bad %s: '%s' (want a positive integer)\n", what, text);
    exit(kExitSetup);
  }
  return value;
}

#endif
