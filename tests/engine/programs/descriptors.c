/* descriptors: open descriptors survive a checkpoint and a restart.
 *  - a regular file read in 4 KiB steps for ~2.5 s (the offset must be
 *    restored: the digest of everything read is printed at the end);
 *  - a log file opened with O_APPEND (still O_APPEND afterwards: a final
 *    write lands at the end of the file whatever its size);
 *  - /dev/null written to all along;
 *  - a directory descriptor used with openat() at the end;
 *  - a descriptor with FD_CLOEXEC and one without (flags kept);
 *  - stdout and stderr (the restarting command's own).
 * The input file is created first and never changed; the log is written
 * only at the end, so a run killed after its checkpoint leaves nothing
 * that changes what the restarted run prints.
 *
 * usage: descriptors WORK-FOLDER [ROUNDS]   (default 100 rounds of 25 ms) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common.h"

enum { kStep = 4096, kInputBytes = 8 << 20 };

static void create_input(const char* path) {
  char temporary[4200];
  snprintf(temporary, sizeof temporary, "%s.XXXXXX", path);
  const int fd = mkstemp(temporary);
  if (fd < 0) die("mkstemp");
  static uint64_t words[kStep / 8];
  for (size_t block = 0; block < kInputBytes / kStep; ++block) {
    for (size_t i = 0; i < kStep / 8; ++i) words[i] = mix64(block * (kStep / 8) + i);
    if (write(fd, words, sizeof words) != (ssize_t)sizeof words) die("write input");
  }
  close(fd);
  if (rename(temporary, path) != 0) die("rename");
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: descriptors WORK-FOLDER [ROUNDS]\n");
    return kExitSetup;
  }
  const char* folder = argv[1];
  const long rounds = argc > 2 ? parse_count(argv[2], "ROUNDS") : 100;
  char input_path[4096], log_path[4096];
  if (strlen(folder) > 4000) die("WORK-FOLDER too long");
  snprintf(input_path, sizeof input_path, "%s/descriptors-input.bin", folder);
  snprintf(log_path, sizeof log_path, "%s/descriptors.log", folder);
  if (access(input_path, R_OK) != 0) create_input(input_path);

  const int input = open(input_path, O_RDONLY);
  const int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int null = open("/dev/null", O_WRONLY);
  const int directory = open(folder, O_RDONLY | O_DIRECTORY);
  const int keep_on_exec = open(input_path, O_RDONLY);
  const int close_on_exec = open(input_path, O_RDONLY | O_CLOEXEC);
  if (input < 0 || log < 0 || null < 0 || directory < 0 || keep_on_exec < 0 || close_on_exec < 0) {
    die("open");
  }
  lseek(keep_on_exec, 12345, SEEK_SET);

  uint64_t digest = 0;
  long bytes_read = 0;
  static char block[kStep];
  const int64_t start = monotonic_ns();
  const long steps_per_round = (kInputBytes / kStep) / rounds;
  for (long round = 0; round < rounds; ++round) {
    for (long step = 0; step < steps_per_round; ++step) {
      const ssize_t got = read(input, block, sizeof block);
      if (got != (ssize_t)sizeof block) die("read input");
      digest = digest_bytes(digest, block, sizeof block);
      bytes_read += got;
      if (write(null, block, 64) != 64) die("write /dev/null");
    }
    sleep_until_ns(start + (round + 1) * 25000000LL);
    if (round % 5 == 0) progress("descriptors round", round);
  }

  int failures = 0;
  printf("read %ld bytes in order, digest %016llx, offset %ld %s\n", bytes_read,
         (unsigned long long)digest, (long)lseek(input, 0, SEEK_CUR),
         verdict(lseek(input, 0, SEEK_CUR) == bytes_read, &failures));
  const int log_flags = fcntl(log, F_GETFL);
  const off_t log_before = lseek(log, 0, SEEK_END);
  const char line[] = "descriptors: appended at the end\n";
  if (write(log, line, sizeof line - 1) != (ssize_t)(sizeof line - 1)) die("write log");
  struct stat log_info;
  fstat(log, &log_info);
  printf("log still O_APPEND and write-only %s, the write landed at the end %s\n",
         verdict((log_flags & O_APPEND) != 0 && (log_flags & O_ACCMODE) == O_WRONLY, &failures),
         verdict(log_info.st_size == log_before + (off_t)(sizeof line - 1), &failures));
  struct stat null_info;
  fstat(null, &null_info);
  printf("/dev/null still the null device %s\n",
         verdict(S_ISCHR(null_info.st_mode) && major(null_info.st_rdev) == 1 && minor(null_info.st_rdev) == 3,
                 &failures));
  const int through_directory = openat(directory, "descriptors-input.bin", O_RDONLY);
  struct stat directory_info, input_info, found_info;
  fstat(directory, &directory_info);
  fstat(input, &input_info);
  const bool found = through_directory >= 0 && fstat(through_directory, &found_info) == 0 &&
                     found_info.st_ino == input_info.st_ino;
  printf("directory descriptor is a directory %s, openat through it finds the input %s\n",
         verdict(S_ISDIR(directory_info.st_mode), &failures), verdict(found, &failures));
  printf("FD_CLOEXEC kept %s, cleared kept %s, second offset %ld %s\n",
         verdict(fcntl(close_on_exec, F_GETFD) == FD_CLOEXEC, &failures),
         verdict(fcntl(keep_on_exec, F_GETFD) == 0, &failures), (long)lseek(keep_on_exec, 0, SEEK_CUR),
         verdict(lseek(keep_on_exec, 0, SEEK_CUR) == 12345, &failures));
  printf("descriptor numbers %d %d %d %d %d %d\n", input, log, null, directory, keep_on_exec,
         close_on_exec);
  fprintf(stderr, "descriptors: stderr works\n");
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
