/* A report pipe shared by the processes of a tree test: each process
 * writes whole lines (one write() each, < PIPE_BUF: atomic); the top
 * process reads them and prints them sorted at the end, so stdout does not
 * depend on scheduling. */
#ifndef CKPT_ENGINE_TEST_REPORT_PIPE_H
#define CKPT_ENGINE_TEST_REPORT_PIPE_H

#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "common.h"

static int g_report = -1; /* write end of the report pipe */

static inline const char* yes(bool value) { return value ? "yes" : "NO"; }

static void report(const char* format, ...) __attribute__((format(printf, 1, 2)));
static void report(const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (length < 0 || length >= (int)sizeof line - 1) length = (int)sizeof line - 2;
  line[length++] = '\n';
  for (;;) {
    ssize_t n = write(g_report, line, (size_t)length);
    if (n < 0 && errno == EINTR) continue;
    if (n != length) die("write report");
    return;
  }
}

#endif
