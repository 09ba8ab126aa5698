/* tree_session: sessions, process groups and group-directed signals.
 *
 * The top process forks a leader L, which calls setsid() (a new session,
 * L its leader), then forks 3 members and puts them into a new process
 * group whose ID is the first member's PID (setpgid from both sides). The
 * members count SIGUSR1 in a handler. For ROUNDS rounds L sends
 * kill(-pgid, SIGUSR1) and waits for one acknowledgement byte per member
 * on an ack pipe before the next round (so no two signals coalesce: counts
 * are exact); every 5th round it also signals one member directly
 * (kill(pid)), round-robin. Members wait in sigsuspend with SIGUSR1 blocked
 * otherwise, and check all along that getsid/getpgid/getppid stay put.
 *
 * At the end each member reports its count and checks on a report pipe and
 * exits with status 1 + its index; L reaps them, checks its own session
 * and group (getsid/getpgid of itself and of its members) and reports too;
 * the top process reaps L and prints the sorted report.
 *
 * usage: tree_session [ROUNDS]   (default 200, ~5 s) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "report_pipe.h"

enum { kMembers = 3, kDirectEvery = 5, kRoundMs = 22, kMaxReport = 8192 };

static volatile sig_atomic_t g_count;

static void on_usr1(int signal_number) {
  (void)signal_number;
  g_count = g_count + 1;
}

static void write_byte(int fd, char byte) {
  for (;;) {
    ssize_t n = write(fd, &byte, 1);
    if (n == 1) return;
    if (n < 0 && errno == EINTR) continue;
    die("write");
  }
}

static char read_byte(int fd) {
  char byte;
  for (;;) {
    ssize_t n = read(fd, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      fprintf(stderr, "FATAL: unexpected end of file on a pipe\n");
      exit(kExitSetup);
    }
    die("read");
  }
}

/* Signals member `index` receives: every round, plus the direct ones. */
static long expected_signals(int index, long rounds) {
  long direct = 0;
  for (long round = 0; round < rounds; ++round)
    if (round % kDirectEvery == kDirectEvery - 1 && (round / kDirectEvery) % kMembers == index) ++direct;
  return rounds + direct;
}

static _Noreturn void member(int index, long rounds, pid_t leader, int ack, int go) {
  /* SIGUSR1 is blocked (inherited) and handled by on_usr1 (inherited). */
  const pid_t sid = getsid(0);
  char byte = read_byte(go); /* the leader has set our group */
  (void)byte;
  const pid_t pgid = getpgid(0);
  const long expected = expected_signals(index, rounds);
  sigset_t wait_mask;
  sigprocmask(SIG_SETMASK, NULL, &wait_mask);
  sigdelset(&wait_mask, SIGUSR1);
  long acked = 0, changes = 0, suspends = 0;
  while (acked < expected) {
    while (g_count == acked) {
      sigsuspend(&wait_mask);
      ++suspends;
    }
    while (acked < g_count) {
      write_byte(ack, (char)('0' + index));
      ++acked;
    }
    if (getsid(0) != sid || getpgid(0) != pgid || getppid() != leader) ++changes;
  }
  report("member %d: SIGUSR1 received %ld times, expected %ld: %s", index, (long)g_count, expected,
         yes(g_count == expected));
  report("member %d: session is the leader's: %s; my group is the first member's, not the leader's: %s",
         index, yes(getsid(0) == leader), yes(getpgid(0) != leader));
  report("member %d: session, group and parent never changed: %s; woken %s", index, yes(changes == 0),
         suspends >= expected ? "at least once per signal" : "less than once per signal");
  exit(1 + index);
}

static _Noreturn void leader(long rounds, pid_t top) {
  const pid_t sid = setsid();
  if (sid < 0) die("setsid");
  const pid_t me = getpid();
  int ack[2], go[2];
  if (pipe(ack) != 0 || pipe(go) != 0) die("pipe");

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGUSR1, &action, NULL) != 0) die("sigaction");
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);

  pid_t members[kMembers];
  pid_t pgid = 0;
  for (int i = 0; i < kMembers; ++i) {
    fflush(NULL);
    members[i] = fork();
    if (members[i] < 0) die("fork");
    if (members[i] == 0) {
      close(ack[0]);
      close(go[1]);
      /* join (or, for the first member, create) the group; the leader does the same */
      if (setpgid(0, pgid) != 0 && errno != EACCES) die("setpgid (member)");
      member(i, rounds, me, ack[1], go[0]);
    }
    if (pgid == 0) pgid = members[0];
    if (setpgid(members[i], pgid) != 0 && errno != EACCES) die("setpgid (leader)");
  }
  close(ack[1]);
  close(go[0]);
  for (int i = 0; i < kMembers; ++i) write_byte(go[1], 'g');

  long acks[kMembers] = {0};
  long wrong_acks = 0;
  for (long round = 0; round < rounds; ++round) {
    if (kill(-pgid, SIGUSR1) != 0) die("kill(-pgid)");
    for (int i = 0; i < kMembers; ++i) {
      int who = read_byte(ack[0]) - '0';
      if (who >= 0 && who < kMembers) ++acks[who]; else ++wrong_acks;
    }
    if (round % kDirectEvery == kDirectEvery - 1) {
      const int target = (int)((round / kDirectEvery) % kMembers);
      if (kill(members[target], SIGUSR1) != 0) die("kill(member)");
      int who = read_byte(ack[0]) - '0';
      if (who == target) ++acks[who]; else ++wrong_acks;
    }
    if (round % 10 == 0) progress("tree_session round", round);
    sleep_ms(kRoundMs);
  }
  /* the members' sessions and groups, seen from the leader, before they end */
  bool members_session = true, members_group = true;
  for (int i = 0; i < kMembers; ++i) {
    if (getsid(members[i]) != sid) members_session = false;
    if (getpgid(members[i]) != pgid) members_group = false;
  }
  int statuses_ok = 1;
  for (int i = 0; i < kMembers; ++i) {
    int status = 0;
    pid_t reaped;
    do reaped = waitpid(members[i], &status, 0);
    while (reaped < 0 && errno == EINTR);
    if (reaped != members[i]) die("waitpid member");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 + i) statuses_ok = 0;
    report("member %d: exit status %d", i, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (acks[i] != expected_signals(i, rounds)) statuses_ok = 0;
  }
  report("leader: getsid == getpid (session leader): %s; getpgid == getpid: %s", yes(getsid(0) == me),
         yes(getpgid(0) == me));
  report("leader: members in my session: %s; members in one group led by the first member: %s",
         yes(members_session), yes(members_group));
  report("leader: parent is the top process: %s; acknowledgements as expected: %s", yes(getppid() == top),
         yes(wrong_acks == 0 && statuses_ok));
  exit(0);
}

static int compare_lines(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 200;
  const pid_t top = getpid(), top_sid = getsid(0);
  int report_pipe[2];
  if (pipe(report_pipe) != 0) die("pipe");
  g_report = report_pipe[1];
  progress("tree_session start", 0);
  fflush(NULL);
  pid_t leader_pid = fork();
  if (leader_pid < 0) die("fork");
  if (leader_pid == 0) {
    close(report_pipe[0]);
    leader(rounds, top);
  }
  close(report_pipe[1]);

  /* the reports, read while the tree runs: end of file once every member and L have ended */
  char* text = (char*)malloc(kMaxReport + 1);
  if (text == NULL) die("malloc");
  size_t length = 0;
  for (;;) {
    ssize_t n = read(report_pipe[0], text + length, kMaxReport - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read report");
    length += (size_t)n;
    if (n == 0 || length >= kMaxReport) break;
  }
  text[length] = '\0';
  int status = 0;
  pid_t reaped;
  do reaped = waitpid(leader_pid, &status, 0);
  while (reaped < 0 && errno == EINTR);
  if (reaped != leader_pid) die("waitpid leader");

  char* lines[64];
  int count = 0;
  for (char* line = strtok(text, "\n"); line != NULL && count < 64; line = strtok(NULL, "\n")) lines[count++] = line;
  qsort(lines, (size_t)count, sizeof lines[0], compare_lines);
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    printf("%s\n", lines[i]);
    if (strstr(lines[i], ": NO") != NULL || strstr(lines[i], "less than once") != NULL) ++failures;
  }
  printf("report lines %d: %s\n", count, verdict(count == kMembers * 4 + 3, &failures));
  printf("leader exited with status %d: %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
         verdict(WIFEXITED(status) && WEXITSTATUS(status) == 0, &failures));
  printf("top process stayed outside the leader's session: %s\n",
         verdict(getsid(0) == top_sid && getsid(0) != leader_pid, &failures));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
