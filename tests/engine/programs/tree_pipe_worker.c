/* tree_pipe_worker: a parent and a worker it fork()s and execv()s (this same
 * program with --worker), connected by two pipes: requests on the worker's
 * fd 0, replies on its fd 1. The parent keeps up to kWindow requests in
 * flight (written before it reads the first reply), so there are bytes in
 * the pipes at any instant: during "slow worker" blocks the worker sleeps
 * per request and the request pipe fills (requests carry payloads of up to
 * 3000 bytes, up to ~24 KiB queued); during "slow parent" blocks the parent
 * sleeps per reply and the reply pipe fills. Pipes must be drained at a
 * checkpoint and refilled at the restart: a lost, repeated or reordered
 * byte changes a reply, the order check or the final digest.
 *
 * The parent checks every reply against its own computation, keeps the
 * reply lines in memory and prints them at the end, then closes the
 * request pipe (the worker sees end of file and exits with the number of
 * requests it served modulo 128) and waitpid()s it.
 *
 * usage: tree_pipe_worker [REQUESTS]   (default 400, ~6 s)
 *        tree_pipe_worker --worker      (internal: the exec'd worker) */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

enum { kWindow = 8, kBlock = 50, kSleepMs = 15, kMaxPayload = 3000 };

/* Block b of requests: even blocks the worker is slow, odd ones the parent. */
static bool worker_slow(long index) { return (index / kBlock) % 2 == 0; }

static size_t payload_length(long index) { return 10 + (size_t)(mix64((uint64_t)index) % (kMaxPayload - 10)); }

static void fill_payload(long index, char* payload, size_t length) {
  uint64_t state = (uint64_t)index * 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < length; ++i) {
    if (i % 8 == 0) state = mix64(state);
    payload[i] = (char)('a' + (state >> ((i % 8) * 8)) % 26);
  }
}

/* The worker's computation: a few rounds over the payload (~0.1 ms). */
static uint64_t work(long index, const char* payload, size_t length) {
  uint64_t h = (uint64_t)index;
  for (int round = 0; round < 16; ++round) h = digest_bytes(h + (uint64_t)round, payload, length);
  return h;
}

static void write_all(int fd, const void* data, size_t length) {
  const char* bytes = (const char*)data;
  while (length > 0) {
    ssize_t n = write(fd, bytes, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write");
    bytes += n;
    length -= (size_t)n;
  }
}

static int run_worker(void) {
  /* requests: "R INDEX LENGTH\n" then LENGTH payload bytes */
  char payload[kMaxPayload + 1];
  long served = 0;
  for (;;) {
    long index = 0, length = 0;
    int fields = scanf("R %ld %ld", &index, &length);
    if (fields == EOF) break;
    if (fields != 2 || getchar() != '\n' || length < 0 || length > kMaxPayload) {
      fprintf(stderr, "worker: malformed request after %ld requests\n", served);
      return 100;
    }
    if (fread(payload, 1, (size_t)length, stdin) != (size_t)length) {
      fprintf(stderr, "worker: short payload in request %ld\n", index);
      return 101;
    }
    if (worker_slow(index)) sleep_ms(kSleepMs);
    uint64_t h = work(index, payload, (size_t)length);
    printf("reply %ld %ld %016llx\n", index, length, (unsigned long long)h);
    if (fflush(stdout) != 0) die("worker: fflush");
    ++served;
  }
  return (int)(served % 128);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--worker") == 0) return run_worker();
  const long requests = argc > 1 ? parse_count(argv[1], "REQUESTS") : 400;

  char self[PATH_MAX];
  ssize_t self_length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (self_length <= 0) die("readlink /proc/self/exe");
  self[self_length] = '\0';

  int to_worker[2], from_worker[2];
  if (pipe(to_worker) != 0 || pipe(from_worker) != 0) die("pipe");
  signal(SIGPIPE, SIG_IGN);
  fflush(NULL);
  pid_t worker = fork();
  if (worker < 0) die("fork");
  if (worker == 0) {
    if (dup2(to_worker[0], 0) < 0 || dup2(from_worker[1], 1) < 0) die("dup2");
    close(to_worker[0]);
    close(to_worker[1]);
    close(from_worker[0]);
    close(from_worker[1]);
    char* worker_argv[] = {argv[0], (char*)"--worker", NULL};
    execv(self, worker_argv);
    die("execv");
  }
  close(to_worker[0]);
  close(from_worker[1]);
  FILE* replies = fdopen(from_worker[0], "r");
  if (replies == NULL) die("fdopen");

  /* reply lines are kept in memory and printed at the end */
  size_t output_capacity = (size_t)requests * 48 + 64, output_length = 0;
  char* output = (char*)malloc(output_capacity);
  if (output == NULL) die("malloc");

  char* payload = (char*)malloc(kMaxPayload);
  if (payload == NULL) die("malloc");
  long sent = 0, bad = 0, max_in_flight = 0;
  uint64_t digest = 0;
  for (long received = 0; received < requests; ++received) {
    while (sent < requests && sent < received + kWindow) {
      size_t length = payload_length(sent);
      fill_payload(sent, payload, length);
      char header[64];
      int header_length = snprintf(header, sizeof header, "R %ld %zu\n", sent, length);
      write_all(to_worker[1], header, (size_t)header_length);
      write_all(to_worker[1], payload, length);
      ++sent;
    }
    if (sent - received > max_in_flight) max_in_flight = sent - received;
    if (!worker_slow(received)) sleep_ms(kSleepMs);  /* let replies pile up */

    char line[128];
    if (fgets(line, sizeof line, replies) == NULL) {
      fprintf(stderr, "FATAL: the worker closed its reply pipe after %ld replies\n", received);
      return kExitSetup;
    }
    long index = -1, length = -1;
    unsigned long long h = 0;
    size_t expected_length = payload_length(received);
    fill_payload(received, payload, expected_length);
    if (sscanf(line, "reply %ld %ld %llx", &index, &length, &h) != 3 || index != received ||
        length != (long)expected_length || h != work(received, payload, expected_length)) {
      ++bad;
      fprintf(stderr, "bad reply %ld: %s", received, line);
    }
    digest = digest_add(digest, h ^ (uint64_t)index << 48);
    size_t line_length = strlen(line);
    if (output_length + line_length + 1 > output_capacity) {
      output_capacity = 2 * (output_length + line_length + 1);
      output = (char*)realloc(output, output_capacity);
      if (output == NULL) die("realloc");
    }
    memcpy(output + output_length, line, line_length);
    output_length += line_length;
    if (received % 20 == 0) progress("tree_pipe_worker reply", received);
  }
  close(to_worker[1]); /* the worker sees end of file and ends */
  int status = 0;
  if (waitpid(worker, &status, 0) != worker) die("waitpid");
  /* after the worker's end, nothing more is in its reply pipe */
  bool reply_eof = fgetc(replies) == EOF;
  fclose(replies);

  int failures = 0;
  fwrite(output, 1, output_length, stdout);
  printf("replies %ld, all as computed: %s\n", requests, verdict(bad == 0, &failures));
  printf("requests in flight at most %ld (window %d): %s\n", max_in_flight, (int)kWindow,
         verdict(max_in_flight == (requests < kWindow ? requests : kWindow), &failures));
  printf("reply pipe at end of file after the worker ended: %s\n", verdict(reply_eof, &failures));
  if (WIFEXITED(status)) {
    printf("worker exited with status %d: %s\n", WEXITSTATUS(status),
           verdict(WEXITSTATUS(status) == (int)(requests % 128), &failures));
  } else {
    printf("worker killed by signal %d: %s\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1,
           verdict(false, &failures));
  }
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
