/* A Slurm job's application for the plugin tests: STEPS deterministic steps
 * of STEP_MS milliseconds each over 8 MiB of state. Before each step it
 * appends "step N pid P" to STEP_LOG (a file the tests exclude from the
 * storage checkpoint, so it proves which steps ran again after a restart);
 * after each step it prints the step's checksum to stdout. At the end it
 * writes the final checksums to RESULT (created with O_EXCL: a second run
 * from the beginning would fail loudly) and prints "done".
 *
 *   step_counter STEPS STEP_MS STEP_LOG RESULT [FREEZE_TRIGGER]
 *
 * With FREEZE_TRIGGER: when that file appears, the program deletes it and
 * blocks every signal with a raw system call (past ckpt's wrappers), so
 * checkpoints of it time out from then on: the tests' failed checkpoint.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { kWords = 1 << 20 }; /* 8 MiB */

static uint64_t state[kWords];

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0) {
  }
}

static void log_step(const char* path, int step) {
  char line[64];
  const int length = snprintf(line, sizeof line, "step %d pid %ld\n", step, (long)getpid());
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || write(fd, line, (size_t)length) != length) {
    perror(path);
    exit(3);
  }
  close(fd);
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: step_counter STEPS STEP_MS STEP_LOG RESULT [FREEZE_TRIGGER]\n");
    return 2;
  }
  const int steps = atoi(argv[1]);
  const long step_ms = atol(argv[2]);
  for (size_t i = 0; i < kWords; ++i) state[i] = mix(i);
  uint64_t total = 0;
  for (int step = 0; step < steps; ++step) {
    if (argc == 6 && unlink(argv[5]) == 0) {
      uint64_t all = ~(uint64_t)0;
      syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, sizeof all);
    }
    log_step(argv[3], step);
    uint64_t sum = 0;
    for (size_t i = (size_t)step % 8; i < kWords; i += 8) {
      state[i] = mix(state[i] + (uint64_t)step);
      sum += state[i];
    }
    total = mix(total ^ sum);
    sleep_ms(step_ms);
    printf("step %d %016llx\n", step, (unsigned long long)sum);
    fflush(stdout);
  }
  const int fd = open(argv[4], O_WRONLY | O_CREAT | O_EXCL, 0644);
  FILE* result = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (result == NULL) {
    perror(argv[4]);
    return 4;
  }
  fprintf(result, "steps %d total %016llx\n", steps, (unsigned long long)total);
  for (size_t i = 0; i < kWords; i += kWords / 16) fprintf(result, "%016llx\n", (unsigned long long)state[i]);
  fclose(result);
  printf("done\n");
  return 0;
}
