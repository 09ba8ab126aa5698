/* dirty_mappings: the address space changes between checkpoints. Each round
 * (150 ms) does one of: mmap a new region; munmap a whole region and the
 * middle of another (which splits it in two); mremap to grow a region
 * (possibly moving it); mremap to move one to a reserved address; mprotect
 * one read-only (it stays read-only across the next checkpoint); mprotect
 * it back and write it; madvise(MADV_DONTNEED) a written range, which must
 * read back as zeros; mmap(MAP_FIXED) a fresh anonymous mapping over part of
 * a written region (zeros again). Every round also rewrites a pseudo-random
 * 5% of the writable pages. An incremental checkpoint must record pages
 * that became zero, regions that were replaced or moved, and must not bring
 * back pages of a mapping that no longer exists.
 *
 * The program remembers what each page must hold (a tag: 0 = zeros, else
 * the page's words are derived from the tag) and checks every byte of every
 * region at the start of each round, after each madvise/MAP_FIXED, and at
 * the end. stdout (at the end only): counts, a digest, "result ok".
 *
 * usage: dirty_mappings [ROUNDS]   (default 16; ctest: 36) */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>

#include "common.h"

enum { kPage = 4096, kMaxRegions = 16, kPeriodMs = 150 };

typedef struct {
  unsigned char* addr;
  size_t pages;
  uint64_t* tags; /* per page: 0 = zeros */
  bool read_only;
  bool split; /* several mappings (MAP_FIXED over a part): mremap cannot take it */
} Region;

static Region regions[kMaxRegions];
static int region_count;
static uint64_t tag_counter;
static uint64_t random_state = 42;
static int failures;
static long wrong_pages;
static long operations[8];

static uint64_t next_random(void) {
  return random_state = mix64(random_state);
}
static uint64_t new_tag(void) {
  return mix64(++tag_counter) | 1;
}

static void fill_page(unsigned char* page, uint64_t tag) {
  uint64_t* words = (uint64_t*)(void*)page;
  for (size_t i = 0; i < kPage / 8; ++i) words[i] = mix64(tag ^ i);
}

static bool page_is(const unsigned char* page, uint64_t tag) {
  const uint64_t* words = (const uint64_t*)(const void*)page;
  for (size_t i = 0; i < kPage / 8; ++i)
    if (words[i] != (tag == 0 ? 0 : mix64(tag ^ i))) return false;
  return true;
}

static void write_page(Region* region, size_t page) {
  region->tags[page] = new_tag();
  fill_page(region->addr + page * kPage, region->tags[page]);
}

/* Every byte of every region; the first wrong page is reported. */
static void verify(const char* when, long round) {
  for (int r = 0; r < region_count; ++r) {
    for (size_t p = 0; p < regions[r].pages; ++p) {
      if (page_is(regions[r].addr + p * kPage, regions[r].tags[p])) continue;
      if (wrong_pages++ == 0)
        fprintf(stderr, "dirty_mappings: region %d page %zu (%s) wrong %s round %ld\n", r, p,
                regions[r].tags[p] == 0 ? "must be zeros" : "written", when, round);
    }
  }
}

static Region* add_region(size_t pages) {
  if (region_count == kMaxRegions) {
    fprintf(stderr, "dirty_mappings: too many regions\n");
    exit(kExitSetup);
  }
  Region* region = &regions[region_count++];
  region->addr = (unsigned char*)mmap(NULL, pages * kPage, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region->addr == MAP_FAILED) die("mmap");
  region->pages = pages;
  region->tags = (uint64_t*)calloc(pages, sizeof(uint64_t));
  if (region->tags == NULL) die("calloc");
  region->read_only = false;
  region->split = false;
  for (size_t p = 0; p < pages; ++p) write_page(region, p);
  return region;
}

static void remove_region(int index) {
  free(regions[index].tags);
  for (int r = index; r + 1 < region_count; ++r) regions[r] = regions[r + 1];
  --region_count;
}

/* The largest writable region (ties: the first), with WHOLE one that is a
 * single mapping. */
static int largest_writable(bool whole) {
  int best = -1;
  for (int r = 0; r < region_count; ++r)
    if (!regions[r].read_only && !(whole && regions[r].split) &&
        (best < 0 || regions[r].pages > regions[best].pages))
      best = r;
  return best;
}

static void grow_tags(Region* region, size_t pages) {
  region->tags = (uint64_t*)realloc(region->tags, pages * sizeof(uint64_t));
  if (region->tags == NULL) die("realloc");
  for (size_t p = region->pages; p < pages; ++p) region->tags[p] = 0;
  region->pages = pages;
}

static void operation(long round) {
  int kind = (int)(round % 8);
  ++operations[kind];
  switch (kind) {
    case 0: { /* a new region */
      if (region_count >= kMaxRegions - 2) {
        if (munmap(regions[0].addr, regions[0].pages * kPage) != 0) die("munmap");
        remove_region(0);
      }
      add_region(8 + next_random() % 56);
      break;
    }
    case 1: { /* munmap a whole region, and the middle of the largest one */
      if (region_count > 3) {
        int victim = (int)(next_random() % (uint64_t)region_count);
        if (munmap(regions[victim].addr, regions[victim].pages * kPage) != 0) die("munmap");
        remove_region(victim);
      }
      int r = largest_writable(false);
      if (r >= 0 && regions[r].pages >= 8 && region_count < kMaxRegions) {
        Region* region = &regions[r];
        size_t cut_start = region->pages / 3, cut_end = region->pages / 3 + 2;
        if (munmap(region->addr + cut_start * kPage, (cut_end - cut_start) * kPage) != 0)
          die("munmap middle");
        Region* tail = &regions[region_count++];
        tail->addr = region->addr + cut_end * kPage;
        tail->pages = region->pages - cut_end;
        tail->tags = (uint64_t*)malloc(tail->pages * sizeof(uint64_t));
        if (tail->tags == NULL) die("malloc");
        memcpy(tail->tags, region->tags + cut_end, tail->pages * sizeof(uint64_t));
        tail->read_only = false;
        tail->split = region->split;
        region->pages = cut_start;
      }
      break;
    }
    case 2: { /* mremap: grow (the kernel may move it); the new pages are zeros */
      int r = largest_writable(true);
      if (r < 0) break;
      Region* region = &regions[r];
      size_t pages = region->pages + 16;
      void* moved = mremap(region->addr, region->pages * kPage, pages * kPage, MREMAP_MAYMOVE);
      if (moved == MAP_FAILED) die("mremap grow");
      size_t old_pages = region->pages;
      region->addr = (unsigned char*)moved;
      grow_tags(region, pages);
      verify("after mremap grow in", round);
      for (size_t p = old_pages; p < pages; p += 2) write_page(region, p);
      break;
    }
    case 3: { /* mremap: move to a reserved address */
      int r = (int)(next_random() % (uint64_t)region_count);
      while (regions[r].split && r + 1 < region_count) ++r;
      if (regions[r].split) break;
      Region* region = &regions[r];
      size_t bytes = region->pages * kPage;
      void* target =
          mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (target == MAP_FAILED) die("mmap reserve");
      void* moved = mremap(region->addr, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, target);
      if (moved != target) die("mremap move");
      region->addr = (unsigned char*)moved;
      break;
    }
    case 4: { /* read-only until the next round's operation 5 */
      int r = largest_writable(false);
      if (r < 0) break;
      if (mprotect(regions[r].addr, regions[r].pages * kPage, PROT_READ) != 0)
        die("mprotect read-only");
      regions[r].read_only = true;
      break;
    }
    case 5: { /* writable again, written */
      for (int r = 0; r < region_count; ++r) {
        if (!regions[r].read_only) continue;
        if (mprotect(regions[r].addr, regions[r].pages * kPage, PROT_READ | PROT_WRITE) != 0)
          die("mprotect back");
        regions[r].read_only = false;
        for (size_t p = 0; p < regions[r].pages; p += 3) write_page(&regions[r], p);
      }
      break;
    }
    case 6: { /* MADV_DONTNEED a written range: zeros */
      int r = largest_writable(false);
      if (r < 0 || regions[r].pages < 4) break;
      Region* region = &regions[r];
      size_t first = 1, count = region->pages / 2;
      if (madvise(region->addr + first * kPage, count * kPage, MADV_DONTNEED) != 0) die("madvise");
      for (size_t p = first; p < first + count; ++p) region->tags[p] = 0;
      verify("after MADV_DONTNEED in", round);
      break;
    }
    case 7: { /* MAP_FIXED over part of a written region: zeros */
      int r = largest_writable(false);
      if (r < 0 || regions[r].pages < 6) break;
      Region* region = &regions[r];
      size_t first = region->pages / 2, count = region->pages / 4;
      void* fresh = mmap(region->addr + first * kPage, count * kPage, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (fresh != region->addr + first * kPage) die("mmap MAP_FIXED");
      region->split = true;
      for (size_t p = first; p < first + count; ++p) region->tags[p] = 0;
      verify("after MAP_FIXED in", round);
      write_page(region, first); /* the first page of the new mapping */
      break;
    }
  }
}

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 16;
  for (int r = 0; r < 4; ++r) add_region(16 + 16 * (size_t)r);
  progress("dirty_mappings round", 0);
  const int64_t start = monotonic_ns();
  long page_writes = 0;
  for (long round = 1; round <= rounds; ++round) {
    sleep_until_ns(start + round * (int64_t)kPeriodMs * 1000000);
    verify("at the start of", round);
    operation(round);
    /* 5% of the writable pages, spread over the round */
    sleep_ms(kPeriodMs / 3);
    for (int r = 0; r < region_count; ++r) {
      if (regions[r].read_only) continue;
      for (size_t p = 0; p < regions[r].pages; ++p) {
        if (next_random() % 20 != 0) continue;
        write_page(&regions[r], p);
        ++page_writes;
      }
    }
    progress("dirty_mappings round", round);
  }
  verify("at the end after", rounds);

  uint64_t digest = 0;
  size_t pages = 0, zero_pages = 0;
  for (int r = 0; r < region_count; ++r) {
    digest = digest_add(digest, regions[r].pages);
    for (size_t p = 0; p < regions[r].pages; ++p) {
      digest =
          digest_add(digest, digest_bytes(regions[r].tags[p], regions[r].addr + p * kPage, kPage));
      zero_pages += regions[r].tags[p] == 0;
    }
    pages += regions[r].pages;
  }
  printf(
      "rounds %ld: mmap %ld, munmap %ld, mremap grow %ld, mremap move %ld, mprotect read-only %ld, "
      "back %ld, "
      "MADV_DONTNEED %ld, MAP_FIXED %ld\n",
      rounds, operations[0], operations[1], operations[2], operations[3], operations[4],
      operations[5], operations[6], operations[7]);
  printf("regions %d, pages %zu (zeros %zu), random page writes %ld\n", region_count, pages,
         zero_pages, page_writes);
  printf("every byte as expected at every check: %s (wrong pages %ld)\n",
         verdict(wrong_pages == 0, &failures), wrong_pages);
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
