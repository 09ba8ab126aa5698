/* Files roll back with memory: a writer that appends and overwrites with
 * write, pwrite, fwrite/fprintf and a shared writable mapping into several
 * files in the working folder, and saves a state file the atomic way
 * (write a temporary, fsync, rename). At the end it reads every file back
 * and prints a digest of each: after a checkpoint, more writes, SIGKILL and
 * a restart, a file that kept what the killed run wrote after the
 * checkpoint (duplicated lines, records from the future) changes a digest. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum { kRounds = 60, kRecord = 32, kSlots = 16, kMapBytes = 4096 };

static uint64_t file_digest(const char* path) {
  FILE* file = fopen(path, "rb");
  if (file == NULL) return 0;
  uint64_t digest = 1469598103934665603ull;
  int c;
  while ((c = fgetc(file)) != EOF) digest = (digest ^ (uint64_t)c) * 1099511628211ull;
  fclose(file);
  return digest;
}

static long file_size(const char* path) {
  FILE* file = fopen(path, "rb");
  if (file == NULL) return -1;
  fseek(file, 0, SEEK_END);
  const long size = ftell(file);
  fclose(file);
  return size;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: files_writer FOLDER\n");
    return kExitSetup;
  }
  mkdir(argv[1], 0755);
  if (chdir(argv[1]) != 0) die("chdir");
  setvbuf(stdout, NULL, _IOLBF, 0);
  const int log = open("log.txt", O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
  const int records = open("records.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  FILE* report = fopen("report.txt", "w");
  const int mapped_fd = open("mapped.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (log < 0 || records < 0 || report == NULL || mapped_fd < 0) die("open");
  if (ftruncate(mapped_fd, kMapBytes) != 0) die("ftruncate");
  unsigned char* mapped = mmap(NULL, kMapBytes, PROT_READ | PROT_WRITE, MAP_SHARED, mapped_fd, 0);
  if (mapped == MAP_FAILED) die("mmap");
  uint64_t state = 12345;
  for (int round = 0; round < kRounds; ++round) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    char line[96];
    const int length = snprintf(line, sizeof line, "round %d value %016llx\n", round, (unsigned long long)state);
    if (write(log, line, (size_t)length) != length) die("write");
    char record[kRecord];
    memset(record, 'a' + round % 26, sizeof record);
    snprintf(record, sizeof record, "rec%03d", round);
    if (pwrite(records, record, sizeof record, (off_t)(round % kSlots) * kRecord) != kRecord) die("pwrite");
    fprintf(report, "round %d: %llu\n", round, (unsigned long long)(state % 1000003));
    fwrite(record, 1, 8, report);
    fputc('\n', report);
    fflush(report);
    mapped[(round * 67) % kMapBytes] = (unsigned char)(state >> 56);
    mapped[(round * 131 + 7) % kMapBytes] ^= (unsigned char)round;
    FILE* temporary = fopen("state.tmp", "w");
    if (temporary == NULL) die("fopen state.tmp");
    fprintf(temporary, "round %d state %016llx\n", round, (unsigned long long)state);
    fflush(temporary);
    fsync(fileno(temporary));
    fclose(temporary);
    if (rename("state.tmp", "state.txt") != 0) die("rename");
    progress("files_writer", round);
    sleep_ms(80);
  }
  msync(mapped, kMapBytes, MS_SYNC);
  munmap(mapped, kMapBytes);
  close(mapped_fd);
  fclose(report);
  close(records);
  close(log);
  const char* files[] = {"log.txt", "records.bin", "report.txt", "mapped.bin", "state.txt"};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; ++i) {
    printf("%-12s %6ld bytes digest %016llx\n", files[i], file_size(files[i]),
           (unsigned long long)file_digest(files[i]));
  }
  printf("state.tmp %s\n", access("state.tmp", F_OK) == 0 ? "left behind" : "gone");
  return 0;
}
