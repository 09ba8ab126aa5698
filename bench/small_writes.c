/* small_writes: the application of bench/file_interposition.sh. COUNT
 * (default 1000000) operations of 64 bytes to FILE, one way:
 *   write    write() of 64 bytes on a descriptor (one system call each)
 *   fwrite   fwrite() of 64 bytes to a buffered FILE
 *   fprintf  fprintf() of a 64-byte line to a buffered FILE
 * Prints "seconds S" (open to close, the loop and the final flush) and
 * "bytes B" on stdout.
 * usage: small_writes write|fwrite|fprintf FILE [COUNT] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: small_writes write|fwrite|fprintf FILE [COUNT]\n");
    return 2;
  }
  const char* mode = argv[1];
  const long count = argc == 4 ? atol(argv[3]) : 1000000;
  char record[64];
  memset(record, 'x', sizeof record);
  record[63] = '\n';
  const double start = now();
  if (strcmp(mode, "write") == 0) {
    const int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror("open"), 1;
    for (long i = 0; i < count; ++i) {
      if (write(fd, record, sizeof record) != (ssize_t)sizeof record) return perror("write"), 1;
    }
    close(fd);
  } else if (strcmp(mode, "fwrite") == 0 || strcmp(mode, "fprintf") == 0) {
    FILE* file = fopen(argv[2], "w");
    if (file == NULL) return perror("fopen"), 1;
    const int formatted = strcmp(mode, "fprintf") == 0;
    for (long i = 0; i < count; ++i) {
      const int ok = formatted ? fprintf(file, "record %012ld %043d\n", i, 7) == 64
                               : fwrite(record, 1, sizeof record, file) == sizeof record;
      if (!ok) return perror(mode), 1;
    }
    if (fclose(file) != 0) return perror("fclose"), 1;
  } else {
    fprintf(stderr, "small_writes: unknown mode '%s'\n", mode);
    return 2;
  }
  const double seconds = now() - start;
  struct stat info;
  if (stat(argv[2], &info) != 0) return perror("stat"), 1;
  printf("seconds %.4f\nbytes %lld\n", seconds, (long long)info.st_size);
  return 0;
}
