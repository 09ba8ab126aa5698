/* dirty_rounds: the work an incremental checkpoint is made for. A MIB-MiB
 * anonymous buffer (mmap) and a heap area (2048 malloc'd blocks of 700 to
 * 4000 bytes, not page-aligned) are filled once; then each round rewrites a
 * pseudo-random 5% of the pages and of the blocks, some whole, some only one
 * 8-byte word (the last word of a page, a word in the middle of a block), so
 * a dirty-page engine must notice single writes anywhere in a page. The
 * program keeps, for every page and block, the checksum of what it must
 * hold, and checks every byte of both areas at the start of each round and
 * at the end: a page an incremental checkpoint missed comes back with older
 * contents after a restart and fails the check.
 *
 * Rounds are paced (150 ms each) so checkpoints fall between rounds and
 * inside them. stdout (at the end only): the areas, the number of pages
 * and blocks written, a digest of the final contents and "result ok".
 *
 * usage: dirty_rounds MIB ROUNDS   (ctest: 32 36) */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>

#include "common.h"

enum { kPage = 4096, kBlocks = 2048, kPeriodMs = 150 };

typedef struct {
  unsigned char* start;
  size_t length;
} Unit;

/* Unit u of the 2 areas: pages of the buffer first, then heap blocks. */
static Unit* units;
static uint64_t* expected; /* checksum of what each unit must hold */
static size_t unit_count;
static size_t page_count;

static uint64_t checksum(const unsigned char* bytes, size_t length) {
  /* word-wise (units are 8-byte multiples), position-dependent, cheap
   * enough to check every byte of both areas each round */
  uint64_t sum = length;
  const uint64_t* words = (const uint64_t*)(const void*)bytes;
  for (size_t i = 0; i < length / 8; ++i) sum += (words[i] ^ (words[i] >> 29)) * (2 * i + 1);
  return mix64(sum);
}

static uint64_t pattern(long round, size_t unit, size_t word) {
  return mix64(((uint64_t)round << 44) ^ ((uint64_t)unit << 12) ^ word);
}

static void write_whole(long round, size_t u) {
  uint64_t* words = (uint64_t*)(void*)units[u].start;
  for (size_t i = 0; i < units[u].length / 8; ++i) words[i] = pattern(round, u, i);
}

/* One word only: the last one of a page, one in the middle of a block. */
static void write_one_word(long round, size_t u) {
  uint64_t* words = (uint64_t*)(void*)units[u].start;
  size_t n = units[u].length / 8;
  size_t index = u < page_count ? n - 1 : (size_t)(mix64(u ^ (uint64_t)round) % n);
  words[index] = pattern(round, u, index) | 1; /* never a zero word */
}

/* Index of the first unit whose bytes differ from their checksum, or
 * unit_count. */
static size_t first_wrong_unit(void) {
  for (size_t u = 0; u < unit_count; ++u)
    if (checksum(units[u].start, units[u].length) != expected[u]) return u;
  return unit_count;
}

static bool selected(long round, size_t u) {
  return mix64(((uint64_t)round << 32) ^ u ^ 0x5eedull) % 20 == 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: dirty_rounds MIB ROUNDS\n");
    return kExitSetup;
  }
  const long mib = parse_count(argv[1], "MIB");
  const long rounds = parse_count(argv[2], "ROUNDS");
  const size_t buffer_bytes = (size_t)mib << 20;
  page_count = buffer_bytes / kPage;
  unit_count = page_count + kBlocks;
  unsigned char* buffer = (unsigned char*)mmap(NULL, buffer_bytes, PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) die("mmap");
  units = (Unit*)calloc(unit_count, sizeof(Unit));
  expected = (uint64_t*)calloc(unit_count, sizeof(uint64_t));
  if (units == NULL || expected == NULL) die("calloc");
  size_t heap_bytes = 0;
  for (size_t u = 0; u < unit_count; ++u) {
    if (u < page_count) {
      units[u].start = buffer + u * kPage;
      units[u].length = kPage;
    } else {
      units[u].length = 700 + (size_t)(mix64(u) % 3300) / 8 * 8;
      units[u].start = (unsigned char*)malloc(units[u].length);
      if (units[u].start == NULL) die("malloc");
      heap_bytes += units[u].length;
    }
  }

  /* round 0 fills everything */
  for (size_t u = 0; u < unit_count; ++u) {
    write_whole(0, u);
    expected[u] = checksum(units[u].start, units[u].length);
  }
  progress("dirty_rounds round", 0);

  long whole_writes = 0, word_writes = 0, bad_round = -1;
  size_t bad_unit = 0;
  const int64_t start = monotonic_ns();
  for (long round = 1; round <= rounds; ++round) {
    sleep_until_ns(start + round * (int64_t)kPeriodMs * 1000000);
    size_t wrong = first_wrong_unit();
    if (wrong != unit_count && bad_round < 0) {
      bad_round = round;
      bad_unit = wrong;
      fprintf(stderr, "dirty_rounds: %s %zu is wrong at the start of round %ld\n",
              wrong < page_count ? "page" : "heap block",
              wrong < page_count ? wrong : wrong - page_count, round);
    }
    /* the round's writes, spread over ~half the period so a checkpoint can
     * land between two of them */
    for (int half = 0; half < 2; ++half) {
      for (size_t u = (size_t)half; u < unit_count; u += 2) {
        if (!selected(round, u)) continue;
        if ((mix64(u + (uint64_t)round * 7) & 3) == 0) {
          write_one_word(round, u);
          ++word_writes;
        } else {
          write_whole(round, u);
          ++whole_writes;
        }
        expected[u] = checksum(units[u].start, units[u].length);
      }
      if (half == 0) sleep_ms(kPeriodMs / 3);
    }
    progress("dirty_rounds round", round);
  }

  size_t wrong = first_wrong_unit();
  if (wrong != unit_count && bad_round < 0) {
    bad_round = rounds + 1;
    bad_unit = wrong;
  }
  uint64_t digest = 0;
  for (size_t u = 0; u < unit_count; ++u) digest = digest_add(digest, expected[u]);
  digest = digest_add(digest, digest_bytes(0, buffer, buffer_bytes));
  int failures = 0;
  printf("buffer %ld MiB (%zu pages), heap %d blocks (%zu bytes), rounds %ld\n", mib, page_count,
         kBlocks, heap_bytes, rounds);
  printf("writes: whole %ld, one word %ld\n", whole_writes, word_writes);
  if (bad_round < 0) {
    printf("every byte as expected at every round: %s\n", verdict(1, &failures));
  } else {
    char when[48];
    if (bad_round > rounds)
      snprintf(when, sizeof when, "at the end");
    else
      snprintf(when, sizeof when, "at the start of round %ld", bad_round);
    printf("%s %zu wrong %s: %s\n", bad_unit < page_count ? "page" : "heap block",
           bad_unit < page_count ? bad_unit : bad_unit - page_count, when, verdict(0, &failures));
  }
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
