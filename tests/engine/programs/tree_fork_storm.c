/* tree_fork_storm: short-lived children, forked continually.
 *
 * Child i (0 <= i < CHILDREN) is forked about every 10 ms; it computes a
 * value from its index (a few thousand mixing steps), sleeps 0..30 ms (so
 * several children are alive at once, some still running and some already
 * zombies) and exits with status value % 255 (255 means its parent was not
 * the process that forked it). Whenever kInFlight children are unreaped,
 * the parent reaps the oldest (waitpid on its PID), so the reaping order -
 * and the order-dependent digest - is fixed. A checkpoint lands on children
 * in every state: just forked, computing, sleeping, exited but not yet
 * reaped. Every status is checked against the parent's own computation;
 * the sum, the count and the digest are printed at the end.
 *
 * usage: tree_fork_storm [CHILDREN]   (default 600, ~6 s) */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

enum { kInFlight = 6, kPaceMs = 10 };

static uint64_t child_value(long index) {
  uint64_t value = (uint64_t)index;
  for (int i = 0; i < 3000 + (int)(index % 7) * 500; ++i) value = mix64(value + (uint64_t)i);
  return value;
}

int main(int argc, char** argv) {
  const long children = argc > 1 ? parse_count(argv[1], "CHILDREN") : 600;
  pid_t queue[kInFlight];
  long queue_index[kInFlight];
  int head = 0, used = 0;
  long reaped_count = 0, wrong = 0, max_used = 0;
  uint64_t sum = 0, digest = 0;

  const pid_t me = getpid();
  for (long next = 0; next < children || used > 0;) {
    if (next < children && used < kInFlight) {
      fflush(NULL);
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) {
        uint64_t value = child_value(next);
        if (getppid() != me) _exit(255); /* never a value: statuses stay below 255 */
        sleep_ms((long)(next % 4) * 10);
        _exit((int)(value % 255));
      }
      queue[(head + used) % kInFlight] = pid;
      queue_index[(head + used) % kInFlight] = next;
      ++used;
      if (used > max_used) max_used = used;
      if (next % 50 == 0) progress("tree_fork_storm forked", next);
      ++next;
      sleep_ms(kPaceMs);
      /* reap the oldest if it is due (keeps the queue short without blocking) */
      if (used < kInFlight) continue;
    }
    /* the oldest child: blocking wait */
    int status = 0;
    pid_t reaped;
    do reaped = waitpid(queue[head], &status, 0);
    while (reaped < 0 && errno == EINTR);
    if (reaped != queue[head]) die("waitpid");
    const long index = queue_index[head];
    head = (head + 1) % kInFlight;
    --used;
    const int expected = (int)(child_value(index) % 255);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != expected) {
      ++wrong;
      fprintf(stderr, "child %ld: status %d, expected %d\n", index, code, expected);
    }
    sum += (uint64_t)code;
    digest = digest_add(digest, (uint64_t)index << 16 | (uint64_t)code);
    ++reaped_count;
  }
  /* no child may be left */
  const bool none_left = waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;

  int failures = 0;
  printf("children forked and reaped: %ld of %ld: %s\n", reaped_count, children,
         verdict(reaped_count == children, &failures));
  printf("exit statuses as computed: %s\n", verdict(wrong == 0, &failures));
  printf("at most %ld children unreaped at once (limit %d): %s\n", max_used, (int)kInFlight,
         verdict(max_used == (children < kInFlight ? children : kInFlight), &failures));
  printf("no child left: %s\n", verdict(none_left, &failures));
  printf("sum of exit statuses %llu\n", (unsigned long long)sum);
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
