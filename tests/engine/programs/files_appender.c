/* A large output file written the common ways, for the incremental storage
 * checkpoint: 32 MiB written with write(), then rounds that each append
 * 256 KiB (write), rewrite a small record near the start (pwrite), seek
 * back to patch the header and forward again (lseek + write), and log a
 * line through stdio. Between checkpoints only those bytes change, so an
 * incremental generation must hold them, not the 32 MiB.
 * usage: files_appender FOLDER ROUNDS
 * stdout (at the end): a digest of each file as read back, and its size. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "common.h"

static void write_all(int fd, const void* data, size_t length) {
  const char* at = data;
  while (length > 0) {
    const ssize_t wrote = write(fd, at, length);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) die("write");
    at += wrote;
    length -= (size_t)wrote;
  }
}

static void fill(uint64_t* words, size_t count, uint64_t seed) {
  for (size_t i = 0; i < count; ++i) words[i] = mix64(seed + i);
}

static void report(const char* path, const char* name) {
  FILE* in = fopen(path, "rb");
  if (in == NULL) die(path);
  static unsigned char buffer[1 << 16];
  uint64_t digest = 0, size = 0;
  size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, in)) > 0) {
    digest = digest_bytes(digest, buffer, got);
    size += got;
  }
  fclose(in);
  printf("%s size %llu digest %016llx\n", name, (unsigned long long)size, (unsigned long long)digest);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: files_appender FOLDER ROUNDS\n");
    return kExitSetup;
  }
  const long rounds = parse_count(argv[2], "ROUNDS");
  char data_path[4096], log_path[4096];
  snprintf(data_path, sizeof data_path, "%s/data.bin", argv[1]);
  snprintf(log_path, sizeof log_path, "%s/log.txt", argv[1]);
  const int fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(data_path);
  static uint64_t block[(256 << 10) / 8];
  for (int i = 0; i < 128; ++i) {  // 32 MiB
    fill(block, sizeof block / 8, (uint64_t)i << 20);
    write_all(fd, block, sizeof block);
  }
  FILE* log = fopen(log_path, "w");
  if (log == NULL) die(log_path);
  for (long round = 0; round < rounds; ++round) {
    fill(block, sizeof block / 8, 0xa5a5000000ull + (uint64_t)round);
    write_all(fd, block, sizeof block);
    char record[32];
    const int length = snprintf(record, sizeof record, "round %08ld", round);
    if (pwrite(fd, record, (size_t)length, 4096 + (round % 16) * 64) != length) die("pwrite");
    const off_t end = lseek(fd, 0, SEEK_CUR);
    if (lseek(fd, 0, SEEK_SET) != 0) die("lseek");
    write_all(fd, &round, sizeof round);
    if (lseek(fd, end, SEEK_SET) != end) die("lseek");
    fprintf(log, "round %ld appended at %lld\n", round, (long long)end);
    fflush(log);
    progress("files_appender", round);
    sleep_ms(40);
  }
  if (close(fd) != 0) die("close");
  if (fclose(log) != 0) die("fclose");
  report(data_path, "data.bin");
  report(log_path, "log.txt");
  return 0;
}
