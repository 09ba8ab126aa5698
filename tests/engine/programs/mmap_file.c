/* mmap_file: memory mappings other than the heap.
 *  - a private read-only mapping of an input file this program creates
 *    first (the file is never changed afterwards);
 *  - a private writable mapping of the same file with copy-on-write pages
 *    (the changes must neither reach the file nor get lost);
 *  - an anonymous MAP_SHARED region (must stay shared memory: its contents
 *    survive MADV_DONTNEED, /proc/self/maps shows 's');
 *  - a PROT_NONE guard page between two read-write pages (must still fault).
 * All are read and written in a loop for ~2.5 s; checksums at the end.
 *
 * usage: mmap_file INPUT-FILE [MIB] [ROUNDS]   (defaults 32 and 100) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

enum { kPage = 4096, kSharedBytes = 8 << 20 };

static uint64_t file_word(size_t i) { return mix64(i ^ 0xf11e); }

static void create_input(const char* path, size_t bytes) {
  char temporary[4096];
  snprintf(temporary, sizeof temporary, "%s.XXXXXX", path);
  int fd = mkstemp(temporary);
  if (fd < 0) die("mkstemp");
  enum { kBlockWords = 8192 };
  static uint64_t block[kBlockWords];
  for (size_t word = 0; word < bytes / 8; word += kBlockWords) {
    for (size_t k = 0; k < kBlockWords; ++k) block[k] = file_word(word + k);
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block) die("write input file");
  }
  if (close(fd) != 0) die("close");
  if (rename(temporary, path) != 0) die("rename"); /* atomic: a mapping never sees a half file */
}

static sigjmp_buf g_fault_jump;
static volatile sig_atomic_t g_faults;
static void on_segv(int signal) {
  (void)signal;
  ++g_faults;
  siglongjmp(g_fault_jump, 1);
}

static bool faults_on_read(volatile const char* address) {
  if (sigsetjmp(g_fault_jump, 1) == 0) {
    char value = *address;
    (void)value;
    return false;
  }
  return true;
}

static bool faults_on_write(volatile char* address) {
  if (sigsetjmp(g_fault_jump, 1) == 0) {
    *address = 1;
    return false;
  }
  return true;
}

/* The permission string of the mapping containing address, from maps. */
static void permissions_of(const void* address, char out[5]) {
  strcpy(out, "????");
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) return;
  char line[512];
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start, end;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if ((unsigned long)address >= start && (unsigned long)address < end) {
      memcpy(out, perms, 5);
      break;
    }
  }
  fclose(maps);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mmap_file INPUT-FILE [MIB] [ROUNDS]\n");
    return kExitSetup;
  }
  const char* path = argv[1];
  const size_t bytes = (size_t)(argc > 2 ? parse_count(argv[2], "MIB") : 32) << 20;
  const long rounds = argc > 3 ? parse_count(argv[3], "ROUNDS") : 100;
  const size_t words = bytes / 8;
  create_input(path, bytes);

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open input file");
  const uint64_t* ro = (const uint64_t*)mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  uint64_t* cow = (uint64_t*)mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd); /* the mappings keep the file */
  uint64_t* shared = (uint64_t*)mmap(NULL, kSharedBytes, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char* guarded = (char*)mmap(NULL, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ro == MAP_FAILED || cow == MAP_FAILED || shared == MAP_FAILED || guarded == MAP_FAILED) die("mmap");
  if (mprotect(guarded + kPage, kPage, PROT_NONE) != 0) die("mprotect");
  memset(guarded, 0x5a, kPage);
  memset(guarded + 2 * kPage, 0xa5, kPage);
  const size_t shared_words = kSharedBytes / 8;
  for (size_t i = 0; i < shared_words; ++i) shared[i] = i;

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_segv;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, NULL);

  const int64_t start = monotonic_ns();
  uint64_t ro_digest = 0;
  uint64_t position = 1;
  const size_t words_per_page = kPage / 8;
  const size_t pages = bytes / kPage;
  for (long round = 0; round < rounds; ++round) {
    for (int k = 0; k < 100000; ++k) { /* random reads of the file mapping */
      position = mix64(position);
      ro_digest += ro[position % words] * (uint64_t)(k | 1);
    }
    /* copy-on-write: touch one word in a few pages, every 16th page */
    for (size_t page = (size_t)round % 16; page < pages; page += 16 * 8) {
      cow[page * words_per_page + (size_t)round % words_per_page] ^= mix64((uint64_t)round);
    }
    for (size_t i = (size_t)round; i < shared_words; i += 97) shared[i] = mix64(shared[i]);
    sleep_until_ns(start + (round + 1) * 25000000LL);
    if (round % 5 == 0) progress("mmap_file round", round);
  }

  /* full checks */
  size_t ro_mismatches = 0;
  for (size_t i = 0; i < words; ++i) ro_mismatches += ro[i] != file_word(i);
  /* replay the copy-on-write changes on the file's words */
  uint64_t cow_digest = 0;
  size_t cow_changed = 0;
  for (size_t i = 0; i < words; ++i) {
    cow_digest = cow_digest * 31 + cow[i];
    cow_changed += cow[i] != file_word(i);
  }
  size_t expected_changed = 0;
  {
    uint64_t* replay = (uint64_t*)malloc(bytes);
    if (replay == NULL) die("malloc");
    for (size_t i = 0; i < words; ++i) replay[i] = file_word(i);
    for (long round = 0; round < rounds; ++round) {
      for (size_t page = (size_t)round % 16; page < pages; page += 16 * 8) {
        replay[page * words_per_page + (size_t)round % words_per_page] ^= mix64((uint64_t)round);
      }
    }
    for (size_t i = 0; i < words; ++i) expected_changed += replay[i] != file_word(i);
    expected_changed = memcmp(replay, cow, bytes) == 0 ? expected_changed : (size_t)-1;
    free(replay);
  }
  /* the file itself must be unchanged */
  size_t file_mismatches = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("reopen input file");
  for (size_t i = 0; i < words; i += 8192) {
    uint64_t block[8192];
    if (pread(fd, block, sizeof block, (off_t)(i * 8)) != (ssize_t)sizeof block) die("pread");
    for (size_t k = 0; k < 8192; ++k) file_mismatches += block[k] != file_word(i + k);
  }
  close(fd);

  uint64_t shared_digest = 0;
  for (size_t i = 0; i < shared_words; ++i) shared_digest = shared_digest * 31 + shared[i];
  char shared_perms[5], ro_perms[5], guard_perms[5];
  permissions_of(shared, shared_perms);
  permissions_of(ro, ro_perms);
  permissions_of(guarded + kPage, guard_perms);
  /* shared memory keeps its contents across MADV_DONTNEED, private memory would read zeros */
  if (madvise(shared, kSharedBytes, MADV_DONTNEED) != 0) die("madvise");
  uint64_t shared_digest_after = 0;
  for (size_t i = 0; i < shared_words; ++i) shared_digest_after = shared_digest_after * 31 + shared[i];

  const bool guard_faults = faults_on_read(guarded + kPage) && faults_on_write(guarded + kPage + 100);
  const bool ro_faults = faults_on_write((volatile char*)ro + 12345);
  size_t neighbour_mismatches = 0;
  for (int i = 0; i < kPage; ++i) {
    neighbour_mismatches += (unsigned char)guarded[i] != 0x5a;
    neighbour_mismatches += (unsigned char)guarded[2 * kPage + i] != 0xa5;
  }

  int failures = 0;
  printf("file MiB %zu rounds %ld\n", bytes >> 20, rounds);
  printf("read-only mapping: random-read digest %016llx, mismatched words %zu %s, perms %s %s, "
         "writes fault %s\n",
         (unsigned long long)ro_digest, ro_mismatches, verdict(ro_mismatches == 0, &failures),
         ro_perms, verdict(strcmp(ro_perms, "r--p") == 0, &failures), verdict(ro_faults, &failures));
  printf("copy-on-write mapping: digest %016llx changed words %zu %s\n", (unsigned long long)cow_digest,
         cow_changed, verdict(cow_changed == expected_changed, &failures));
  printf("input file unchanged on disk: mismatched words %zu %s\n", file_mismatches,
         verdict(file_mismatches == 0, &failures));
  printf("shared anonymous region: digest %016llx perms %s %s\n", (unsigned long long)shared_digest,
         shared_perms, verdict(strcmp(shared_perms, "rw-s") == 0, &failures));
  printf("shared anonymous region survives MADV_DONTNEED %s\n",
         verdict(shared_digest_after == shared_digest, &failures));
  printf("guard page: perms %s %s, faults %s, neighbours intact %s\n", guard_perms,
         verdict(strcmp(guard_perms, "---p") == 0, &failures), verdict(guard_faults, &failures),
         verdict(neighbour_mismatches == 0, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
