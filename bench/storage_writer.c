/* storage_writer: the application of bench/storage_checkpoint.sh. Writes
 * SIZE_MIB of random bytes (incompressible) to FILE with write() + fsync,
 * says "ready 0" on stderr, then for each round r = 1..ROUNDS waits until
 * the file TRIGGER.r exists (polled every 5 ms; the benchmark creates it
 * after its checkpoint) and appends APPEND_MIB more ("ready r"). Then it
 * waits to be killed.
 * usage: storage_writer FILE SIZE_MIB APPEND_MIB ROUNDS TRIGGER */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static void fill(uint64_t* words, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    words[i] = state;
  }
}

static void append(int fd, size_t mib) {
  static uint64_t block[(1 << 20) / 8];
  for (size_t i = 0; i < mib; ++i) {
    fill(block, sizeof block / 8);
    for (size_t done = 0; done < sizeof block;) {
      const ssize_t n = write(fd, (char*)block + done, sizeof block - done);
      if (n <= 0) {
        perror("storage_writer: write");
        exit(1);
      }
      done += (size_t)n;
    }
  }
  if (fsync(fd) != 0) perror("storage_writer: fsync");
}

static void pause_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: storage_writer FILE SIZE_MIB APPEND_MIB ROUNDS TRIGGER\n");
    return 2;
  }
  const size_t size = (size_t)atol(argv[2]), extra = (size_t)atol(argv[3]);
  const int rounds = atoi(argv[4]);
  const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) {
    perror("storage_writer: open");
    return 1;
  }
  append(fd, size);
  fprintf(stderr, "ready 0\n");
  for (int round = 1; round <= rounds; ++round) {
    char trigger[4200];
    snprintf(trigger, sizeof trigger, "%s.%d", argv[5], round);
    struct stat info;
    while (stat(trigger, &info) != 0) pause_ms(5);
    append(fd, extra);
    fprintf(stderr, "ready %d\n", round);
  }
  for (;;) pause_ms(1000);
}
