/* memhog: holds SIZE_MIB of live, non-zero, barely compressible data and
 * touches a little of it every 10 ms; prints "ready" on stderr once the
 * data is in place and a checksum on stdout when it ends (after SECONDS). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 1024) << 20;
  const int seconds = argc > 2 ? atoi(argv[2]) : 30;
  uint64_t* data = malloc(size);
  if (!data) return 1;
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < size / 8; i++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    data[i] = state;
  }
  fprintf(stderr, "ready\n");
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  size_t cursor = 0;
  do {
    for (int k = 0; k < 64; k++) data[(cursor += 4097) % (size / 8)] += 1;
    usleep(10000);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < seconds);
  uint64_t sum = 0;
  for (size_t i = 0; i < size / 8; i++) sum = sum * 31 + data[i];
  printf("checksum %016llx\n", (unsigned long long)sum);
  return 0;
}
