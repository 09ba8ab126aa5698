/* madvise_fork: private anonymous memory marked MADV_WIPEONFORK (used for
 * instance by random-number generators) or MADV_DONTFORK (RDMA, DPDK
 * buffers). Both are ordinary memory for the process itself, so their
 * contents must survive a checkpoint/restart like any other page (an
 * engine that reads memory from a fork()ed copy sees zeros or nothing
 * there). Filled at the start, updated for ~2.5 s, verified at the end.
 *
 * usage: madvise_fork [ROUNDS]   (default 100 rounds of 25 ms) */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>

#include "common.h"

enum { kBytes = 4 << 20 };

static uint64_t* map_with(int advice) {
  uint64_t* region = (uint64_t*)mmap(NULL, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) die("mmap");
  if (madvise(region, kBytes, advice) != 0) die("madvise");
  return region;
}

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 100;
  const size_t words = kBytes / 8;
  uint64_t* wipe = map_with(MADV_WIPEONFORK);
  uint64_t* dontfork = map_with(MADV_DONTFORK);
  for (size_t i = 0; i < words; ++i) {
    wipe[i] = mix64(i);
    dontfork[i] = mix64(i + words);
  }
  const int64_t start = monotonic_ns();
  for (long round = 0; round < rounds; ++round) {
    for (size_t i = (size_t)round; i < words; i += 101) {
      wipe[i] = mix64(wipe[i]);
      dontfork[i] = mix64(dontfork[i] ^ 1);
    }
    sleep_until_ns(start + (round + 1) * 25000000LL);
    if (round % 5 == 0) progress("madvise_fork round", round);
  }
  /* recompute independently */
  size_t wipe_bad = 0, dontfork_bad = 0, wipe_zero = 0;
  uint64_t digest = 0;
  for (size_t i = 0; i < words; ++i) {
    uint64_t a = mix64(i), b = mix64(i + words);
    for (long round = 0; round < rounds; ++round) {
      if (i >= (size_t)round && (i - (size_t)round) % 101 == 0) {
        a = mix64(a);
        b = mix64(b ^ 1);
      }
    }
    wipe_bad += wipe[i] != a;
    wipe_zero += wipe[i] == 0;
    dontfork_bad += dontfork[i] != b;
    digest = digest_add(digest, wipe[i] ^ dontfork[i]);
  }
  int failures = 0;
  printf("rounds %ld, MiB per region %d\n", rounds, kBytes >> 20);
  printf("MADV_WIPEONFORK region: wrong words %zu (zero words %zu) %s\n", wipe_bad, wipe_zero,
         verdict(wipe_bad == 0, &failures));
  printf("MADV_DONTFORK region: wrong words %zu %s\n", dontfork_bad, verdict(dontfork_bad == 0, &failures));
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
