/* raw_io: the baseline for engine benchmarks. Writes SIZE_MIB of random
 * bytes to FILE with write()+fsync, then reads it back with read() into the
 * same (already touched) buffer and into freshly mapped memory, as a
 * program loading its data would; prints "write SECONDS", "read SECONDS"
 * and "read_fresh SECONDS". */
#include <fcntl.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const size_t size = (size_t)atol(argv[1]) << 20;
  uint64_t* data = malloc(size);
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < size / 8; i++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    data[i] = state;
  }
  double start = now();
  int fd = open(argv[2], O_CREAT | O_TRUNC | O_WRONLY, 0600);
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, (char*)data + done, size - done > (64 << 20) ? (64 << 20) : size - done);
    if (n <= 0) return 1;
    done += (size_t)n;
  }
  fsync(fd);
  close(fd);
  printf("write %.3f\n", now() - start);
  start = now();
  fd = open(argv[2], O_RDONLY);
  for (size_t done = 0; done < size;) {
    ssize_t n = read(fd, (char*)data + done, size - done > (64 << 20) ? (64 << 20) : size - done);
    if (n <= 0) return 1;
    done += (size_t)n;
  }
  close(fd);
  printf("read %.3f\n", now() - start);
  /* pre-warm: this VM is slow to hand back memory it freed (see notes) */
  char* warm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (warm == MAP_FAILED) return 1;
  for (size_t i = 0; i < size; i += 4096) warm[i] = 1;
  munmap(warm, size);
  start = now();
  char* fresh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) return 1;
  fd = open(argv[2], O_RDONLY);
  for (size_t done = 0; done < size;) {
    ssize_t n = read(fd, fresh + done, size - done > (64 << 20) ? (64 << 20) : size - done);
    if (n <= 0) return 1;
    done += (size_t)n;
  }
  close(fd);
  printf("read_fresh %.3f\n", now() - start);
  munmap(fresh, size);
  return 0;
}
