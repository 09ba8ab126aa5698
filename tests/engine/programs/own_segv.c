/* own_segv: an application that takes SIGSEGV on purpose, as garbage
 * collectors, JIT runtimes and guard-page allocators do, while a dirty-page
 * engine that write-protects memory takes SIGSEGV for its own reasons in
 * the same process. Its handler (sigaction, SA_SIGINFO) expects exactly its
 * own faults: a write to a page of its PROT_NONE guard area (the handler
 * makes the page writable, the write is retried, then the program protects
 * it again) and a write to a page it made read-only itself (same). The
 * handler also writes to memory (counters in .bss, a fault log in malloc'd
 * memory), which such an engine may have write-protected while SIGSEGV is
 * blocked. Meanwhile each round rewrites a pseudo-random 5% of a 16 MiB
 * buffer, verified at the start of each round.
 *
 * Checked: the fault counts are exactly what the program caused, each with
 * si_code SEGV_ACCERR and the exact address, in order; no other fault
 * reaches the handler; sigaction(SIGSEGV) still returns the program's
 * handler after every round; the read-only pages and the buffer hold what
 * was written. stdout (at the end only): counts, a digest, "result ok".
 *
 * usage: own_segv [ROUNDS]   (default 14 rounds of 150 ms; ctest: 36) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

enum {
  kPage = 4096,
  kPeriodMs = 150,
  kBufferBytes = 16 << 20,
  kAreaPages = 16,
  kFaultsPerRound = 4,
  kMaxLog = 4096,
};

static unsigned char* guard;     /* PROT_NONE, opened page by page by the handler */
static unsigned char* read_only; /* PROT_READ, made writable by the handler */
static unsigned char* buffer;    /* ordinary memory */
static uint64_t* fault_log;      /* malloc'd: what the handler saw, in order */

static volatile long guard_faults, read_only_faults, foreign_faults, wrong_code, log_length;
static volatile uintptr_t expected_address;
static volatile long wrong_address;

static void write_text(const char* text) {
  ssize_t ignored = write(2, text, strlen(text));
  (void)ignored;
}

static void handler(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  unsigned char* address = (unsigned char*)info->si_addr;
  unsigned char* page = (unsigned char*)((uintptr_t)address & ~(uintptr_t)(kPage - 1));
  bool in_guard = address >= guard && address < guard + kAreaPages * kPage;
  bool in_read_only = address >= read_only && address < read_only + kAreaPages * kPage;
  if (!in_guard && !in_read_only) {
    /* not ours: an engine's fault that reached the application */
    ++foreign_faults;
    if (address >= buffer && address < buffer + kBufferBytes) {
      if (mprotect(page, kPage, PROT_READ | PROT_WRITE) == 0) return; /* go on, counted */
    }
    write_text("own_segv: SIGSEGV at an address the program did not protect\n");
    _exit(kExitCheckFailed);
  }
  if (info->si_code != SEGV_ACCERR) ++wrong_code;
  if ((uintptr_t)address != expected_address) ++wrong_address;
  if (in_guard)
    ++guard_faults;
  else
    ++read_only_faults;
  if (log_length < kMaxLog)
    fault_log[log_length++] =
        (uint64_t)(address - (in_guard ? guard : read_only)) | (in_guard ? 1ull << 63 : 0);
  if (mprotect(page, kPage, PROT_READ | PROT_WRITE) != 0) {
    write_text("own_segv: mprotect in the handler failed\n");
    _exit(kExitSetup);
  }
}

static uint64_t buffer_tag[kBufferBytes / kPage];
static unsigned char read_only_shadow[kAreaPages * kPage]; /* what the read-only pages must hold */

static void fill_page(size_t page, uint64_t tag) {
  uint64_t* words = (uint64_t*)(void*)(buffer + page * kPage);
  for (size_t i = 0; i < kPage / 8; ++i) words[i] = mix64(tag ^ i);
}

static long wrong_buffer_pages(void) {
  long wrong = 0;
  for (size_t page = 0; page < kBufferBytes / kPage; ++page) {
    const uint64_t* words = (const uint64_t*)(const void*)(buffer + page * kPage);
    for (size_t i = 0; i < kPage / 8; ++i) {
      if (words[i] != mix64(buffer_tag[page] ^ i)) {
        ++wrong;
        break;
      }
    }
  }
  return wrong;
}

/* The expected log entry of fault k of a round. */
static uint64_t expected_entry(long round, int k, bool in_guard) {
  size_t page =
      (size_t)(mix64((uint64_t)round * 16 + (uint64_t)k + (in_guard ? 0 : 8)) % kAreaPages);
  size_t offset = (size_t)(round * 40 + k * 8) % kPage;
  return (uint64_t)(page * kPage + offset) | (in_guard ? 1ull << 63 : 0);
}

static void fault_on(long round, int k, bool in_guard) {
  uint64_t entry = expected_entry(round, k, in_guard) & ~(1ull << 63);
  unsigned char* base = in_guard ? guard : read_only;
  volatile unsigned char* target = base + entry;
  expected_address = (uintptr_t)target;
  unsigned char value = (unsigned char)(round * 8 + k + 1);
  *target = value; /* faults, the handler opens the page, the write is retried */
  expected_address = 0;
  if (*target != value) ++wrong_address;
  unsigned char* page = (unsigned char*)((uintptr_t)target & ~(uintptr_t)(kPage - 1));
  if (in_guard) {
    if (mprotect(page, kPage, PROT_NONE) != 0) die("mprotect PROT_NONE");
  } else {
    read_only_shadow[(size_t)((const unsigned char*)target - read_only)] = value;
    if (mprotect(page, kPage, PROT_READ) != 0) die("mprotect PROT_READ");
  }
}

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 14;
  guard =
      (unsigned char*)mmap(NULL, kAreaPages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  read_only = (unsigned char*)mmap(NULL, kAreaPages * kPage, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  buffer = (unsigned char*)mmap(NULL, kBufferBytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (guard == MAP_FAILED || read_only == MAP_FAILED || buffer == MAP_FAILED) die("mmap");
  fault_log = (uint64_t*)malloc(kMaxLog * sizeof(uint64_t));
  if (fault_log == NULL) die("malloc");
  memset(read_only, 0, kAreaPages * kPage);
  if (mprotect(read_only, kAreaPages * kPage, PROT_READ) != 0) die("mprotect");
  for (size_t page = 0; page < kBufferBytes / kPage; ++page) {
    buffer_tag[page] = mix64(page) | 1;
    fill_page(page, buffer_tag[page]);
  }

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSEGV, &action, NULL) != 0) die("sigaction");
  progress("own_segv round", 0);

  long handler_lost = 0, bad_buffer_rounds = 0, buffer_writes = 0;
  const int64_t start = monotonic_ns();
  for (long round = 1; round <= rounds; ++round) {
    sleep_until_ns(start + round * (int64_t)kPeriodMs * 1000000);
    if (wrong_buffer_pages() != 0 && bad_buffer_rounds++ == 0)
      fprintf(stderr, "own_segv: buffer wrong at the start of round %ld\n", round);
    /* ordinary writes with the program's own faults in between */
    size_t pages = kBufferBytes / kPage;
    for (int part = 0; part < 2 * kFaultsPerRound; ++part) {
      for (size_t page = (size_t)part; page < pages; page += 2 * kFaultsPerRound) {
        if (mix64(((uint64_t)round << 32) ^ page) % 20 != 0) continue;
        buffer_tag[page] = mix64(buffer_tag[page] ^ (uint64_t)round) | 1;
        fill_page(page, buffer_tag[page]);
        ++buffer_writes;
      }
      fault_on(round, part / 2, part % 2 == 0);
      if (part == kFaultsPerRound) sleep_ms(kPeriodMs / 3);
    }
    struct sigaction now;
    if (sigaction(SIGSEGV, NULL, &now) != 0) die("sigaction query");
    if (now.sa_sigaction != handler || !(now.sa_flags & SA_SIGINFO)) {
      if (handler_lost++ == 0)
        fprintf(stderr, "own_segv: sigaction(SIGSEGV) no longer returns the handler\n");
    }
    progress("own_segv round", round);
  }

  int failures = 0;
  long expected_faults = rounds * kFaultsPerRound;
  long log_wrong = 0;
  long index = 0;
  for (long round = 1; round <= rounds; ++round)
    for (int part = 0; part < 2 * kFaultsPerRound; ++part, ++index)
      if (index >= log_length || fault_log[index] != expected_entry(round, part / 2, part % 2 == 0))
        ++log_wrong;
  long read_only_wrong = 0;
  for (size_t i = 0; i < kAreaPages * kPage; ++i)
    read_only_wrong += read_only[i] != read_only_shadow[i];
  long wrong_pages = wrong_buffer_pages();
  uint64_t digest = digest_bytes(0, buffer, kBufferBytes);
  digest = digest_bytes(digest, read_only, kAreaPages * kPage);
  printf("rounds %ld, buffer page writes %ld\n", rounds, buffer_writes);
  printf("guard-page faults %ld (expected %ld): %s\n", guard_faults, expected_faults,
         verdict(guard_faults == expected_faults, &failures));
  printf("read-only-page faults %ld (expected %ld): %s\n", read_only_faults, expected_faults,
         verdict(read_only_faults == expected_faults, &failures));
  printf("faults the program did not cause %ld: %s\n", foreign_faults,
         verdict(foreign_faults == 0, &failures));
  printf("si_code other than SEGV_ACCERR %ld, wrong address or value %ld: %s\n", wrong_code,
         wrong_address, verdict(wrong_code == 0 && wrong_address == 0, &failures));
  printf("fault log entries %ld, out of order %ld: %s\n", log_length, log_wrong,
         verdict(log_length == 2 * expected_faults && log_wrong == 0, &failures));
  printf("sigaction(SIGSEGV) returned another handler in %ld rounds: %s\n", handler_lost,
         verdict(handler_lost == 0, &failures));
  printf("buffer wrong at %ld round starts, %ld pages at the end; read-only bytes wrong %ld: %s\n",
         bad_buffer_rounds, wrong_pages, read_only_wrong,
         verdict(bad_buffer_rounds == 0 && wrong_pages == 0 && read_only_wrong == 0, &failures));
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
