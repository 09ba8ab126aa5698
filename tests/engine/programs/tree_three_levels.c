/* tree_three_levels: a parent, 2 children, 4 grandchildren (2 per child).
 *
 *  - grandchild (c, g), k = 2c + g, computes for 0.8 + 0.6 k s (paced), checks
 *    all along that its parent, process group and session stay what they
 *    were, reports on a pipe shared by the whole tree and exits with status
 *    10 (k + 1) + (its digest % 10): distinct statuses at different times;
 *  - child c waits until both its grandchildren have exited without reaping
 *    them (waitid WNOWAIT), then keeps them as zombies for 2.5 s, checks
 *    they are still zombies (/proc/PID/stat) and waitpid()s them in PID
 *    order; reports their statuses and exits with 100 + 50 c + (sum % 50);
 *  - the parent waitpid()s child 1 first, then child 0 (child 0 ended
 *    earlier: a zombie for about a second), then reads the shared report
 *    pipe (whose lines were written long before, so they lie in the pipe
 *    across checkpoints) and prints everything, sorted, at the end.
 *
 * Checkpoints at random moments land on running grandchildren, zombies of
 * both generations and bytes in the report pipe. PIDs are never printed,
 * only whether relationships hold ("yes"/"NO").
 *
 * usage: tree_three_levels   (~5.5 s) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "report_pipe.h"

enum { kChildren = 2, kGrandchildren = 2, kZombieMs = 2500, kMaxReport = 8192 };

static pid_t g_top_pid, g_top_pgid, g_top_sid;

static _Noreturn void grandchild(int c, int g, pid_t parent) {
  const int k = kGrandchildren * c + g;
  const long steps = (800 + 600 * k) / 20; /* 20 ms steps */
  uint64_t digest = (uint64_t)k;
  long wrong_parent = 0, wrong_group = 0;
  const pid_t pgid = getpgid(0), sid = getsid(0);
  for (long step = 0; step < steps; ++step) {
    for (int i = 0; i < 20000; ++i) digest = digest_add(digest, (uint64_t)(step * 20000 + i));
    if (getppid() != parent) ++wrong_parent;
    if (getpgid(0) != pgid || getsid(0) != sid) ++wrong_group;
    if (step % 10 == 0) fprintf(stderr, "progress tree_three_levels grandchild %d.%d step %ld\n", c, g, step);
    sleep_ms(20); /* relative: the pace survives a restart (no catching up) */
  }
  const int status = 10 * (k + 1) + (int)(digest % 10);
  report("c%d g%d: digest %016llx, exit status %d", c, g, (unsigned long long)digest, status);
  report("c%d g%d: my parent stayed the child that forked me: %s", c, g, yes(wrong_parent == 0));
  report("c%d g%d: process group and session of the top process: %s, stayed: %s", c, g,
         yes(pgid == g_top_pgid && sid == g_top_sid), yes(wrong_group == 0));
  exit(status);
}

static char process_state(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* file = fopen(path, "r");
  if (file == NULL) return '?';
  size_t length = fread(line, 1, sizeof line - 1, file);
  fclose(file);
  line[length] = '\0';
  const char* close_paren = strrchr(line, ')');
  return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static _Noreturn void child(int c) {
  const pid_t me = getpid();
  pid_t pids[kGrandchildren];
  for (int g = 0; g < kGrandchildren; ++g) {
    fflush(NULL);
    pids[g] = fork();
    if (pids[g] < 0) die("fork");
    if (pids[g] == 0) grandchild(c, g, me);
  }
  /* wait until both have exited, without reaping them */
  for (int g = 0; g < kGrandchildren; ++g) {
    siginfo_t info;
    for (;;) {
      memset(&info, 0, sizeof info);
      if (waitid(P_PID, (id_t)pids[g], &info, WEXITED | WNOWAIT) == 0) break;
      if (errno != EINTR) die("waitid WNOWAIT");
    }
    report("c%d: g%d has exited (seen without reaping it, status %d)", c, g, info.si_status);
  }
  /* keep them as zombies for a while: checkpoints land here */
  for (int tick = 0; tick < kZombieMs / 100; ++tick) {
    if (tick % 5 == 0) fprintf(stderr, "progress tree_three_levels child %d holds zombies %d\n", c, tick);
    sleep_ms(100);
  }
  bool zombies[kGrandchildren];
  for (int g = 0; g < kGrandchildren; ++g) zombies[g] = process_state(pids[g]) == 'Z';
  /* reap in PID order */
  int order[kGrandchildren];
  for (int g = 0; g < kGrandchildren; ++g) order[g] = g;
  for (int a = 0; a < kGrandchildren; ++a)
    for (int b = a + 1; b < kGrandchildren; ++b)
      if (pids[order[b]] < pids[order[a]]) {
        int t = order[a];
        order[a] = order[b];
        order[b] = t;
      }
  int sum = 0;
  for (int i = 0; i < kGrandchildren; ++i) {
    const int g = order[i];
    int status = 0;
    pid_t reaped;
    do reaped = waitpid(pids[g], &status, 0);
    while (reaped < 0 && errno == EINTR);
    if (reaped != pids[g]) die("waitpid grandchild");
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    sum += code;
    report("c%d: reaped g%d (reap #%d in PID order), still a zombie until then: %s, exit status %d", c, g, i,
           yes(zombies[g]), code);
  }
  report("c%d: my parent is the top process: %s", c, yes(getppid() == g_top_pid));
  report("c%d: same process group and session as the top process: %s", c,
         yes(getpgid(0) == g_top_pgid && getsid(0) == g_top_sid));
  exit(100 + 50 * c + sum % 50);
}

static int compare_lines(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

int main(void) {
  g_top_pid = getpid();
  g_top_pgid = getpgid(0);
  g_top_sid = getsid(0);
  int report_pipe[2];
  if (pipe(report_pipe) != 0) die("pipe");
  g_report = report_pipe[1];
  progress("tree_three_levels start", 0);

  pid_t children[kChildren];
  for (int c = 0; c < kChildren; ++c) {
    fflush(NULL);
    children[c] = fork();
    if (children[c] < 0) die("fork");
    if (children[c] == 0) {
      close(report_pipe[0]);
      child(c);
    }
  }
  close(report_pipe[1]);

  /* child 1 first: child 0 ends earlier and stays a zombie meanwhile */
  int statuses[kChildren];
  bool child0_zombie = false;
  for (int c = kChildren - 1; c >= 0; --c) {
    if (c == 0) child0_zombie = process_state(children[0]) == 'Z';
    int status = 0;
    pid_t reaped;
    do reaped = waitpid(children[c], &status, 0);
    while (reaped < 0 && errno == EINTR);
    if (reaped != children[c]) die("waitpid child");
    statuses[c] = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }

  /* all reports: they have waited in the pipe since they were written */
  char* text = (char*)malloc(kMaxReport + 1);
  if (text == NULL) die("malloc");
  size_t length = 0;
  for (;;) {
    ssize_t n = read(report_pipe[0], text + length, kMaxReport - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read report");
    if (n == 0 || length + (size_t)n >= kMaxReport) {
      length += (size_t)(n > 0 ? n : 0);
      break;
    }
    length += (size_t)n;
  }
  text[length] = '\0';
  char* lines[128];
  int count = 0;
  for (char* line = strtok(text, "\n"); line != NULL && count < 128; line = strtok(NULL, "\n")) lines[count++] = line;
  qsort(lines, (size_t)count, sizeof lines[0], compare_lines);

  int failures = 0;
  for (int i = 0; i < count; ++i) {
    printf("%s\n", lines[i]);
    if (strstr(lines[i], ": NO") != NULL) ++failures;
  }
  const int expected_lines = kChildren * (kGrandchildren * (3 + 2) + 2);
  printf("report lines %d: %s\n", count, verdict(count == expected_lines, &failures));
  for (int c = 0; c < kChildren; ++c)
    printf("child c%d exited with status %d (range %d..%d): %s\n", c, statuses[c], 100 + 50 * c,
           149 + 50 * c, verdict(statuses[c] >= 100 + 50 * c && statuses[c] <= 149 + 50 * c, &failures));
  printf("child c0 was a zombie while c1 was waited for: %s\n", verdict(child0_zombie, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
