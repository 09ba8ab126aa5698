/* deny_userns COMMAND [ARGS...]: runs COMMAND where creating a user
 * namespace fails with EPERM, as on machines that disable unprivileged
 * user namespaces (or in containers whose seccomp profile forbids them):
 * a seccomp filter refuses clone()/unshare() with CLONE_NEWUSER, and
 * clone3() (whose flags a filter cannot see) with ENOSYS, so that libc
 * falls back to clone(). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LOAD_ARG0_LOW BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]))

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: deny_userns COMMAND [ARGS...]\n");
    return 2;
  }
  struct sock_filter filter[] = {
      LOAD_NR,
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 3),
      LOAD_ARG0_LOW,
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
    perror("deny_userns: seccomp");
    return 2;
  }
  execvp(argv[1], argv + 1);
  perror("deny_userns: exec");
  return 127;
}
