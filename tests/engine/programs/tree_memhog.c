/* tree_memhog: a tree of PROCS processes (the parent and PROCS-1 forked
 * children) each holding MIB MiB of live, random (incompressible, no zero
 * pages) data, for bench/engine_tree.sh. Every process fills its own block
 * after the fork (nothing shared copy-on-write), tells the parent on a
 * pipe, and the parent prints "ready" on stderr once all are filled. Then
 * every process touches a little of its block every 10 ms for SECONDS; at
 * the end each child sends its checksum to the parent, which prints the
 * combined checksum on stdout.
 *
 * usage: tree_memhog [PROCS] [MIB] [SECONDS]   (defaults 16 64 60) */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static uint64_t* fill(long index, size_t words) {
  uint64_t* data = (uint64_t*)malloc(words * sizeof(uint64_t));
  if (data == NULL) die("malloc");
  uint64_t state = mix64((uint64_t)index + 1);
  for (size_t i = 0; i < words; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    data[i] = state;
  }
  return data;
}

/* touches a little every 10 ms for SECONDS, then the checksum */
static uint64_t keep(long index, uint64_t* data, size_t words, long seconds) {
  const int64_t end = monotonic_ns() + (int64_t)seconds * 1000000000LL;
  size_t cursor = (size_t)index;
  while (monotonic_ns() < end) {
    for (int k = 0; k < 64; ++k) data[(cursor += 4097) % words] += 1;
    sleep_ms(10);
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < words; ++i) sum = sum * 31 + data[i];
  return sum;
}

int main(int argc, char** argv) {
  const long procs = argc > 1 ? parse_count(argv[1], "PROCS") : 16;
  const size_t mib = (size_t)(argc > 2 ? parse_count(argv[2], "MIB") : 64);
  const long seconds = argc > 3 ? parse_count(argv[3], "SECONDS") : 60;
  const size_t words = (mib << 20) / sizeof(uint64_t);
  int ready[2], sums[2];
  if (pipe(ready) != 0 || pipe(sums) != 0) die("pipe");
  pid_t* children = (pid_t*)calloc((size_t)procs, sizeof(pid_t));
  if (children == NULL) die("calloc");
  for (long i = 1; i < procs; ++i) {
    fflush(NULL);
    children[i] = fork();
    if (children[i] < 0) die("fork");
    if (children[i] == 0) {
      close(ready[0]);
      close(sums[0]);
      uint64_t* data = fill(i, words);
      const char byte = 'r';
      if (write(ready[1], &byte, 1) != 1) die("write ready");
      uint64_t record[2] = {(uint64_t)i, keep(i, data, words, seconds)};
      if (write(sums[1], record, sizeof record) != (ssize_t)sizeof record) die("write sum");
      _exit(0);
    }
  }
  close(ready[1]);
  close(sums[1]);
  /* the parent's own block, then wait until every child has filled its own */
  uint64_t* data = fill(0, words);
  for (long filled = 1; filled < procs;) {
    char byte;
    ssize_t n = read(ready[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) die("read ready (a child died?)");
    ++filled;
  }
  fprintf(stderr, "ready: %ld processes x %zu MiB\n", procs, mib);
  uint64_t combined = keep(0, data, words, seconds);
  uint64_t record[2];
  long received = 0;
  while (read(sums[0], record, sizeof record) == (ssize_t)sizeof record) {
    combined ^= mix64(record[0] ^ record[1]);
    ++received;
  }
  for (long i = 1; i < procs; ++i) waitpid(children[i], NULL, 0);
  printf("checksums %ld of %ld, combined %016llx\n", received + 1, procs, (unsigned long long)combined);
  return received + 1 == procs ? 0 : kExitCheckFailed;
}
