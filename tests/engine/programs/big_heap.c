/* big_heap: a large heap block (default 1024 MiB, malloc + touch) rewritten
 * in several passes, plus many small allocations in a linked list; every
 * word is verified against an independent recomputation at the end.
 * The passes are paced (at least 1.5 s each).
 *
 * usage: big_heap [MIB] [PASSES]   (defaults 1024 and 3) */
#define _GNU_SOURCE
#include "common.h"

static inline uint64_t step(uint64_t x, uint64_t pass) {
  /* bijective and cheap: a corrupted word stays visible */
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  return x + pass;
}

struct Node {
  struct Node* next;
  uint64_t value;
  char payload[40];
};

int main(int argc, char** argv) {
  const long mib = argc > 1 ? parse_count(argv[1], "MIB") : 1024;
  const long passes = argc > 2 ? parse_count(argv[2], "PASSES") : 3;
  const size_t bytes = (size_t)mib << 20;
  const size_t words = bytes / sizeof(uint64_t);
  const size_t words_per_progress = ((size_t)64 << 20) / sizeof(uint64_t);

  uint64_t* heap = (uint64_t*)malloc(bytes);
  if (heap == NULL) die("malloc");
  for (size_t i = 0; i < words; ++i) {
    heap[i] = mix64(i);
    if (i % words_per_progress == 0) progress("big_heap touch MiB", (long)(i * 8 >> 20));
  }

  /* small allocations: a list of 200000 nodes, built in a scrambled order */
  struct Node* list = NULL;
  for (uint64_t k = 0; k < 200000; ++k) {
    struct Node* node = (struct Node*)malloc(sizeof *node);
    if (node == NULL) die("malloc");
    node->value = mix64(k ^ 0x5555);
    memset(node->payload, (int)(k & 0x7f), sizeof node->payload);
    node->next = list;
    list = node;
  }

  /* Each pass takes at least 1.5 s, so that the run lasts about as long
   * on a busy machine as on an idle one (the test checkpoints it at a
   * random moment within the first half of a reference run). */
  const int64_t passes_start = monotonic_ns();
  for (long pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < words; ++i) {
      heap[i] = step(heap[i], (uint64_t)pass);
      if (i % words_per_progress == 0) {
        progress("big_heap pass", pass);
      }
    }
    sleep_until_ns(passes_start + (pass + 1) * 1500000000LL);
  }

  /* verify against a recomputation from scratch */
  uint64_t digest = 0;
  size_t mismatches = 0;
  for (size_t i = 0; i < words; ++i) {
    uint64_t expected = mix64(i);
    for (long pass = 0; pass < passes; ++pass) expected = step(expected, (uint64_t)pass);
    if (heap[i] != expected) ++mismatches;
    digest += heap[i] * (2 * i + 1);
    if (i % words_per_progress == 0) progress("big_heap verify MiB", (long)(i * 8 >> 20));
  }
  uint64_t list_digest = 0;
  size_t list_length = 0, list_mismatches = 0;
  uint64_t k = 200000;
  for (struct Node* node = list; node != NULL; node = node->next) {
    --k;
    if (node->value != mix64(k ^ 0x5555) || node->payload[39] != (char)(k & 0x7f)) ++list_mismatches;
    list_digest = digest_add(list_digest, node->value);
    ++list_length;
  }
  while (list != NULL) {
    struct Node* next = list->next;
    free(list);
    list = next;
  }
  free(heap);

  int failures = 0;
  printf("heap MiB %ld passes %ld\n", mib, passes);
  printf("heap digest %016llx mismatched words %zu %s\n", (unsigned long long)digest, mismatches,
         verdict(mismatches == 0, &failures));
  printf("list nodes %zu digest %016llx mismatched nodes %zu %s\n", list_length,
         (unsigned long long)list_digest, list_mismatches,
         verdict(list_length == 200000 && list_mismatches == 0, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
