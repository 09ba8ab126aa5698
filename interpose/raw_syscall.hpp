// Raw x86-64 system calls for code that must stay async-signal-safe and
// independent of libc state: signal handlers, threads being re-created,
// the window where other threads are parked (and may hold libc locks).
// Returns the kernel's value: negative errno on failure.
#pragma once

#include <sys/syscall.h>

namespace ckpt::agent {

inline long raw_syscall(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0,
                        long f = 0) {
  long result;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}

template <class... Args>
inline long sys(long number, Args... args) {
  return raw_syscall(number, (long)args...);
}

inline int current_tid() { return static_cast<int>(sys(SYS_gettid)); }
inline int current_pid() { return static_cast<int>(sys(SYS_getpid)); }

// futex helpers on a 32-bit word (private futexes: one process).
inline void futex_wait(volatile int* word, int expected) {
  sys(SYS_futex, word, 128 /*FUTEX_WAIT_PRIVATE*/, expected, 0);
}
inline void futex_wake_all(volatile int* word) {
  sys(SYS_futex, word, 129 /*FUTEX_WAKE_PRIVATE*/, 0x7fffffff);
}

// Small freestanding string helpers (no libc in the critical windows).
inline unsigned long string_length(const char* text) {
  unsigned long length = 0;
  while (text[length] != '\0') ++length;
  return length;
}

inline void copy_string(char* out, const char* in, unsigned long capacity) {
  unsigned long i = 0;
  for (; i + 1 < capacity && in[i] != '\0'; ++i) out[i] = in[i];
  out[i] = '\0';
}

// Writes the decimal value of `value` into `out`; returns the length.
inline int format_decimal(char* out, long value) {
  char digits[24];
  int count = 0;
  const bool negative = value < 0;
  unsigned long magnitude = negative ? -static_cast<unsigned long>(value) : value;
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  int length = 0;
  if (negative) out[length++] = '-';
  while (count > 0) out[length++] = digits[--count];
  out[length] = '\0';
  return length;
}

// CLOCK_MONOTONIC in nanoseconds.
inline unsigned long monotonic_nanoseconds() {
  struct {
    long seconds, nanoseconds;
  } now = {};
  sys(SYS_clock_gettime, 1 /*CLOCK_MONOTONIC*/, &now);
  return static_cast<unsigned long>(now.seconds) * 1000000000ul +
         static_cast<unsigned long>(now.nanoseconds);
}

inline long parse_decimal(const char* text) {
  long value = 0;
  while (*text >= '0' && *text <= '9') value = value * 10 + (*text++ - '0');
  return value;
}

}  // namespace ckpt::agent
