/* Every descendant runs under the agent, even when the environment is
 * scrubbed: the parent clears its environment, then starts children
 * through execve with an empty environment, execvp, posix_spawn and
 * system(); each child (this program again, "--child K") computes for a
 * while and exits with a status that depends on the result. A child that is not under the agent makes the
 * next checkpoint fail ("is not under ckpt"), which fails the test. */
#define _GNU_SOURCE
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static int child_main(long k) {
  uint64_t h = (uint64_t)k;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 200000; ++i) h = h * 6364136223846793005ull + 1442695040888963407ull;
    sleep_ms(60);
  }
  /* the result travels in the exit status: the parent prints everything
   * in a fixed order */
  return (int)((h >> 7) % 200 + (uint64_t)k);
}

static void wait_for(pid_t pid, const char* how) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) die("waitpid");
  printf("%s exit %d\n", how, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  fflush(stdout);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--child") == 0) return child_main(atol(argv[2]));
  if (clearenv() != 0) die("clearenv");
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) die("readlink");
  self[length] = '\0';
  setvbuf(stdout, NULL, _IOLBF, 0);
  progress("exec_scrubbed", 0);
  char* const empty[] = {NULL};
  pid_t first = fork();
  if (first == 0) {
    char* const args[] = {self, "--child", "1", NULL};
    execve(self, args, empty);
    _exit(99);
  }
  pid_t second = fork();
  if (second == 0) {
    char* const args[] = {self, "--child", "2", NULL};
    execvp(self, args);
    _exit(99);
  }
  pid_t third = 0;
  char* const spawn_args[] = {self, "--child", "3", NULL};
  if (posix_spawn(&third, self, NULL, NULL, spawn_args, empty) != 0) die("posix_spawn");
  progress("exec_scrubbed", 1);
  char command[4200];
  snprintf(command, sizeof command, "exec %s --child 4", self);
  const int status = system(command);
  printf("system exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  wait_for(first, "execve");
  wait_for(second, "execvp");
  wait_for(third, "posix_spawn");
  return 0;
}
