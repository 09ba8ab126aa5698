/* dirty_writer: the application of bench/incremental.sh (issue 6). Maps
 * SIZE_MIB of anonymous memory and writes all of it (random bytes: no zero
 * page, nothing compresses), then runs rounds. A round rewrites PERCENT % of
 * the pages, chosen at random and scattered over the whole buffer (each a
 * different page within the round, every byte of it new), then reads the
 * whole buffer SWEEPS times (the computation of a program that reads all its
 * state and writes a part of it; 0: none).
 *
 *   dirty_writer steps SIZE_MIB PERCENT SWEEPS ROUNDS TRIGGER
 *     says "ready 0" on stderr once the buffer is written; then for each
 *     round r = 1..ROUNDS waits until the file TRIGGER.r exists (polled every
 *     2 ms; the benchmark creates it after its checkpoint), runs one round
 *     and says "ready r pages P seconds S" (S: that round alone). Then waits
 *     to be killed.
 *   dirty_writer timed SIZE_MIB PERCENT SWEEPS ROUNDS TRIGGER
 *     says "ready 0", waits for TRIGGER.1, runs ROUNDS rounds back to back
 *     and says "timed R rounds pages P seconds S checksum C", then exits 0.
 *   dirty_writer prewarm SIZE_MIB
 *     touches SIZE_MIB of fresh memory and exits (the VM hands freed memory
 *     back to the host; see ../shared/notes/machine-facts.md).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kPage = 4096, kWordsPerPage = kPage / 8 };

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return state;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pause_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

static void wait_for(const char* trigger, int round) {
  char path[4200];
  snprintf(path, sizeof path, "%s.%d", trigger, round);
  struct stat info;
  while (stat(path, &info) != 0) pause_ms(2);
}

static uint64_t* map_buffer(size_t bytes) {
  void* memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    perror("dirty_writer: mmap");
    exit(1);
  }
  return memory;
}

static void fill_page(uint64_t* page) {
  for (size_t w = 0; w < kWordsPerPage; ++w) page[w] = next_random() | 1; /* never a zero page */
}

/* A round's write: new bytes all over the page, cheaper than fill_page (one
 * random number per page), so that the time of a round is mostly memory. */
static void rewrite_page(uint64_t* page) {
  const uint64_t seed = next_random() | 1;
  for (size_t w = 0; w < kWordsPerPage; ++w) page[w] = seed ^ (w * 0x9e3779b97f4a7c14ull);
}

struct Buffer {
  uint64_t* words;
  size_t pages;
  uint32_t* order; /* a permutation of the page numbers; a round takes its first `per_round` */
  size_t per_round;
  int sweeps;
  uint64_t checksum;
};

/* One round: `per_round` distinct random pages (a partial Fisher-Yates
 * shuffle of `order`), each rewritten whole, then the read sweeps. */
static void round_of_writes(struct Buffer* buffer) {
  for (size_t i = 0; i < buffer->per_round; ++i) {
    const size_t j = i + (size_t)(next_random() % (buffer->pages - i));
    const uint32_t page = buffer->order[j];
    buffer->order[j] = buffer->order[i];
    buffer->order[i] = page;
    rewrite_page(buffer->words + (size_t)page * kWordsPerPage);
  }
  const size_t words = buffer->pages * kWordsPerPage;
  for (int s = 0; s < buffer->sweeps; ++s) {
    uint64_t sum = 0;
    for (size_t w = 0; w < words; w += 8) sum += buffer->words[w] ^ buffer->words[w + 7];
    buffer->checksum += sum;
  }
}

static int usage(void) {
  fprintf(stderr,
          "usage: dirty_writer steps|timed SIZE_MIB PERCENT SWEEPS ROUNDS TRIGGER\n"
          "       dirty_writer prewarm SIZE_MIB\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "prewarm") == 0) {
    const size_t bytes = (size_t)atol(argv[2]) << 20;
    uint64_t* words = map_buffer(bytes);
    for (size_t w = 0; w < bytes / 8; w += kWordsPerPage) words[w] = w;
    return 0;
  }
  if (argc != 7) return usage();
  const int timed = strcmp(argv[1], "timed") == 0;
  if (!timed && strcmp(argv[1], "steps") != 0) return usage();
  const size_t bytes = (size_t)atol(argv[2]) << 20;
  const double percent = atof(argv[3]);
  const int sweeps = atoi(argv[4]);
  const int rounds = atoi(argv[5]);
  const char* trigger = argv[6];
  if (bytes == 0 || percent <= 0 || percent > 100 || sweeps < 0 || rounds < 1) return usage();

  struct Buffer buffer = {map_buffer(bytes), bytes / kPage, NULL, 0, sweeps, 0};
  buffer.per_round = (size_t)((double)buffer.pages * percent / 100.0);
  if (buffer.per_round == 0) buffer.per_round = 1;
  buffer.order = malloc(buffer.pages * sizeof *buffer.order);
  if (buffer.order == NULL) {
    perror("dirty_writer: malloc");
    return 1;
  }
  for (size_t p = 0; p < buffer.pages; ++p) {
    buffer.order[p] = (uint32_t)p;
    fill_page(buffer.words + p * kWordsPerPage);
  }
  fprintf(stderr, "ready 0\n");

  if (timed) {
    wait_for(trigger, 1);
    const double started = now();
    for (int r = 0; r < rounds; ++r) round_of_writes(&buffer);
    fprintf(stderr, "timed %d rounds pages %zu seconds %.4f checksum %llx\n", rounds,
            buffer.per_round, now() - started, (unsigned long long)buffer.checksum);
    return 0;
  }
  for (int round = 1; round <= rounds; ++round) {
    wait_for(trigger, round);
    const double started = now();
    round_of_writes(&buffer);
    fprintf(stderr, "ready %d pages %zu seconds %.4f\n", round, buffer.per_round, now() - started);
  }
  for (;;) pause_ms(1000);
}
