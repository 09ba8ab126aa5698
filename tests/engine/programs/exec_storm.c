/* exec_storm: a process that exec()s itself STEPS times (default 6000),
 * each program doing a little work and carrying a digest forward in argv.
 * Under a checkpoint storm (checkpoint_storm_test.sh), checkpoints keep
 * landing while the process is between two programs: a quiesce signal sent
 * just as the exec happens must not kill the next program.
 * stdout (at the end only): "execs N digest D".
 *
 * usage: exec_storm [STEPS [STEP DIGEST]] */
#define _GNU_SOURCE
#include <unistd.h>

#include "common.h"

int main(int argc, char** argv) {
  const long steps = argc > 1 ? parse_count(argv[1], "STEPS") : 6000;
  const long step = argc > 2 ? parse_count(argv[2], "STEP") : 0;
  uint64_t digest = argc > 3 ? strtoull(argv[3], NULL, 16) : 0;
  for (long i = 0; i < 2000; ++i) digest = mix64(digest ^ (uint64_t)(step * 2000 + i));
  if (step % 50 == 0) progress("exec_storm", step);
  if (step + 1 >= steps) {
    printf("execs %ld digest %016llx\n", steps, (unsigned long long)digest);
    return 0;
  }
  char steps_text[32], step_text[32], digest_text[32];
  snprintf(steps_text, sizeof steps_text, "%ld", steps);
  snprintf(step_text, sizeof step_text, "%ld", step + 1);
  snprintf(digest_text, sizeof digest_text, "%016llx", (unsigned long long)digest);
  char* next[] = {argv[0], steps_text, step_text, digest_text, NULL};
  execv("/proc/self/exe", next);
  die("execv");
}
