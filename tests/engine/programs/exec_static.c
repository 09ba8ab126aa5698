/* Execs the statically linked program given as argv[1]. Under ckpt the
 * exec must fail with ENOEXEC (the agent says why on stderr) and the
 * program goes on; it prints what happened. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char* const args[] = {argv[1], NULL};
  execv(argv[1], args);
  printf("exec failed: %s\n", errno == ENOEXEC ? "ENOEXEC" : strerror(errno));
  return 0;
}
