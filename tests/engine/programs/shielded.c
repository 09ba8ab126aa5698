/* shielded: an application that a batch scheduler's SIGTERM must not kill
 * (CKPT_SHIELD_SIGNALS, tests/engine/shield_test.sh). It takes STEPS steps
 * of 10 ms, each rewriting part of a 1 MiB heap buffer. By default it has
 * no SIGTERM handler (the default action kills it).
 *
 * usage: shielded STEPS [--handler] [--self-at N] [--block-until N] [--empty-env]
 *   --handler        install a SIGTERM handler (SA_SIGINFO) that counts
 *                    its calls, and those sent from inside (si_pid != 0)
 *   --self-at N      at step N, kill(getpid(), SIGTERM): the handler runs,
 *                    or (no handler) the process dies of SIGTERM
 *   --block-until N  block SIGTERM until step N; there print
 *                    "pending-term 0|1" (sigpending) on stderr, take what
 *                    is pending with sigtimedwait (zero timeout), unblock
 *   --empty-env      first exec itself with an environment of one variable
 *                    (SHIELDED_AGAIN=1): ckpt's variables are all dropped
 * stdout (at the end only): "initial disposition default|other",
 * with --handler "handler reported back ok|MISMATCH" and
 * "handled N from-inside M", with --block-until "drained inside N
 * outside M", then "steps N digest D". */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

#include "common.h"

enum { kWords = (1 << 20) / 8 };

static volatile sig_atomic_t handled = 0, from_inside = 0;

static void on_term(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  ++handled;
  if (info != NULL && info->si_pid != 0) ++from_inside;
}

int main(int argc, char** argv) {
  if (getenv("SHIELDED_AGAIN") == NULL) {
    for (int i = 2; i < argc; ++i) {
      if (strcmp(argv[i], "--empty-env") != 0) continue;
      char* only[] = {"SHIELDED_AGAIN=1", NULL};
      execve(argv[0], argv, only);
      die("execve");
    }
  }
  if (argc < 2) {
    fprintf(stderr, "usage: shielded STEPS [--handler] [--self-at N] [--block-until N]\n");
    return kExitSetup;
  }
  const long steps = parse_count(argv[1], "STEPS");
  long self_at = -1, block_until = -1;
  int with_handler = 0;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--handler") == 0) {
      with_handler = 1;
    } else if (i + 1 < argc && strcmp(argv[i], "--self-at") == 0) {
      self_at = parse_count(argv[++i], "step");
    } else if (i + 1 < argc && strcmp(argv[i], "--block-until") == 0) {
      block_until = parse_count(argv[++i], "step");
    } else if (strcmp(argv[i], "--empty-env") == 0) {
      /* done above */
    } else {
      fprintf(stderr, "shielded: bad argument '%s'\n", argv[i]);
      return kExitSetup;
    }
  }

  /* What sigaction reports must be the application's own disposition. */
  struct sigaction initial;
  if (sigaction(SIGTERM, NULL, &initial) != 0) die("sigaction");
  const int initial_default = initial.sa_handler == SIG_DFL;
  int reported_back = 1;
  if (with_handler) {
    struct sigaction action, back;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_term;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGUSR2);
    if (sigaction(SIGTERM, &action, NULL) != 0) die("sigaction");
    if (sigaction(SIGTERM, NULL, &back) != 0) die("sigaction");
    reported_back = back.sa_sigaction == on_term && (back.sa_flags & SA_SIGINFO) != 0 &&
                    sigismember(&back.sa_mask, SIGUSR2) == 1;
  }
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  if (block_until > 0 && sigprocmask(SIG_BLOCK, &term, NULL) != 0) die("sigprocmask");

  uint64_t* words = (uint64_t*)malloc(kWords * sizeof(uint64_t));
  if (words == NULL) die("malloc");
  for (size_t i = 0; i < kWords; ++i) words[i] = mix64(i);

  long drained_inside = 0, drained_outside = 0;
  for (long step = 0; step < steps; ++step) {
    const int64_t deadline = monotonic_ns() + 10 * 1000000;
    const size_t first = (size_t)(step % 16) * (kWords / 16);
    uint64_t carry = (uint64_t)step;
    for (size_t i = first; i < first + kWords / 16; ++i) {
      words[i] = mix64(words[i] ^ carry);
      carry = words[i];
    }
    if (step == self_at) kill(getpid(), SIGTERM);
    if (step == block_until) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) != 0) die("sigpending");
      fprintf(stderr, "pending-term %d\n", sigismember(&pending, SIGTERM) == 1);
      const struct timespec no_wait = {0, 0};
      siginfo_t info;
      while (sigtimedwait(&term, &info, &no_wait) == SIGTERM) {
        if (info.si_pid != 0) {
          ++drained_inside;
        } else {
          ++drained_outside;
        }
      }
      if (sigprocmask(SIG_UNBLOCK, &term, NULL) != 0) die("sigprocmask");
    }
    progress("shielded", step);
    sleep_until_ns(deadline);
  }

  uint64_t digest = 0;
  for (size_t i = 0; i < kWords; ++i) digest = digest_add(digest, words[i]);
  printf("initial disposition %s\n", initial_default ? "default" : "other");
  if (with_handler) {
    printf("handler reported back %s\n", reported_back ? "ok" : "MISMATCH");
    printf("handled %d from-inside %d\n", (int)handled, (int)from_inside);
  }
  if (block_until > 0) printf("drained inside %ld outside %ld\n", drained_inside, drained_outside);
  printf("steps %ld digest %016llx\n", steps, (unsigned long long)digest);
  free(words);
  return 0;
}
