/* dirty_huge: incremental checkpoints of a large address space with many
 * scattered writes. One anonymous mapping of GIB GiB, every page written
 * at the start (one word: every page is resident, the rest zeros, so
 * images compress well; ~1 s per GiB on the test machines, where a page
 * fault costs ~4 us and reading /proc/PID/mem ~1.5 s per GiB, twice that
 * for pages never written, which is why they are all written). Each round
 * writes one word in a pseudo-random 5% of the pages (for 4 GiB: ~52 000
 * separate pages, close to vm.max_map_count = 65530, so an engine that
 * write-protects memory cannot give each dirty page a mapping of its own).
 *
 * The program keeps a checksum per page (of its non-zero words, so a check
 * is a fast scan), checks 1/64 of the pages at the start of each round and
 * every page at the end. stdout (at the end only): sizes, writes, a digest,
 * "result ok".
 *
 * usage: dirty_huge GIB ROUNDS [PERIOD_MS]   (default period 600 ms; ctest: 4 30 1500) */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>

#include "common.h"

enum { kPage = 4096, kWords = kPage / 8 };

static uint64_t* memory;
static uint64_t* checksums; /* per page */
static size_t page_count;

static uint64_t word_hash(size_t index, uint64_t word) {
  return mix64(word ^ ((uint64_t)index << 52));
}

static uint64_t page_checksum(size_t page) {
  const uint64_t* words = memory + page * kWords;
  uint64_t sum = 0;
  for (size_t i = 0; i < kWords; ++i)
    if (words[i] != 0) sum += word_hash(i, words[i]);
  return sum;
}

static void write_word(size_t page, size_t index, uint64_t value) {
  uint64_t* word = memory + page * kWords + index;
  if (*word != 0) checksums[page] -= word_hash(index, *word);
  *word = value;
  checksums[page] += word_hash(index, value);
}

/* Pages whose contents differ from their checksum, every STEP-th from FIRST. */
static size_t wrong_pages(size_t first, size_t step, size_t* first_wrong) {
  size_t wrong = 0;
  for (size_t page = first; page < page_count; page += step) {
    if (page_checksum(page) == checksums[page]) continue;
    if (wrong++ == 0) *first_wrong = page;
  }
  return wrong;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dirty_huge GIB ROUNDS [PERIOD_MS]\n");
    return kExitSetup;
  }
  const long gib = parse_count(argv[1], "GIB");
  const long rounds = parse_count(argv[2], "ROUNDS");
  const long period_ms = argc > 3 ? parse_count(argv[3], "PERIOD_MS") : 600;
  const size_t bytes = (size_t)gib << 30;
  page_count = bytes / kPage;
  memory = (uint64_t*)mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) die("mmap");
  checksums = (uint64_t*)calloc(page_count, sizeof(uint64_t));
  if (checksums == NULL) die("calloc");
  for (size_t page = 0; page < page_count; ++page) {
    write_word(page, 0, mix64(page) | 1);
    if ((page & 0x3ffff) == 0x3ffff)
      fprintf(stderr, "progress dirty_huge populating: %zu of %ld GiB\n", (page >> 18) + 1, gib);
  }
  progress("dirty_huge round", 0);

  long writes = 0, bad_round = -1;
  size_t bad_page = 0;
  const int64_t start = monotonic_ns();
  for (long round = 1; round <= rounds; ++round) {
    sleep_until_ns(start + round * period_ms * 1000000);
    size_t first_wrong = 0;
    if (wrong_pages((size_t)round % 64, 64, &first_wrong) != 0 && bad_round < 0) {
      bad_round = round;
      bad_page = first_wrong;
      fprintf(stderr, "dirty_huge: page %zu wrong at the start of round %ld\n", first_wrong, round);
    }
    for (size_t page = 0; page < page_count; ++page) {
      uint64_t r = mix64(((uint64_t)round << 40) ^ page);
      if (r % 20 != 0) continue;
      write_word(page, 1 + (size_t)(r >> 32) % (kWords - 1), (r >> 8) | 1);
      ++writes;
    }
    progress("dirty_huge round", round);
  }

  size_t first_wrong = 0;
  size_t wrong = wrong_pages(0, 1, &first_wrong);
  uint64_t digest = 0;
  for (size_t page = 0; page < page_count; ++page) digest = digest_add(digest, checksums[page]);
  int failures = 0;
  printf("memory %ld GiB (%zu pages), rounds %ld, scattered word writes %ld\n", gib, page_count,
         rounds, writes);
  printf("pages wrong at the end %zu%s: %s\n", wrong, wrong ? " (see stderr)" : "",
         verdict(wrong == 0, &failures));
  if (wrong)
    fprintf(stderr, "dirty_huge: %zu pages wrong at the end, the first is %zu\n", wrong,
            first_wrong);
  if (bad_round >= 0)
    printf("page %zu wrong at the start of round %ld: %s\n", bad_page, bad_round,
           verdict(0, &failures));
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
