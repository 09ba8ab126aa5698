// fork/vfork, the exec family, posix_spawn, system and popen: every
// process the application starts runs under the agent and registers with
// the coordinator.
//  - fork: the child connects to the coordinator's agent socket and starts
//    its own checkpoint thread before fork() returns in it (vfork is a fork:
//    the agent cannot run in a child that borrows its parent's memory).
//  - exec*: the new program keeps this process's control socket (so the
//    process is never unregistered) and gets LD_PRELOAD and the ckpt
//    variables even if the caller passed an empty environment.
//  - posix_spawn*, system, popen: the new process connects on its own.
//  - statically linked programs are refused (ENOEXEC) with one line.
// The wrappers hold the WrapperGuard (a checkpoint waits for them) only
// where they do not wait for another process of the group.
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.hpp"
#include "exec_environment.hpp"
#include "next_symbol.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

extern char** environ;

namespace ckpt::agent {
namespace {

using ForkFunction = pid_t (*)();
using ExecveFunction = int (*)(const char*, char* const*, char* const*);
using ExecveatFunction = int (*)(int, const char*, char* const*, char* const*, int);
using FexecveFunction = int (*)(int, char* const*, char* const*);
using SpawnFunction = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                              const posix_spawnattr_t*, char* const*, char* const*);
using SystemFunction = int (*)(const char*);
using PopenFunction = FILE* (*)(const char*, const char*);

ForkFunction real_fork;
ExecveFunction real_execve, real_execvpe;
ExecveatFunction real_execveat;
FexecveFunction real_fexecve;
SpawnFunction real_posix_spawn, real_posix_spawnp;
SystemFunction real_system;
PopenFunction real_popen;

char* const* chosen(const ExecEnvironment& environment, char* const* caller) {
  return environment.entries() != nullptr ? environment.entries() : caller;
}

int run_execve(const char* path, char* const argv[], char* const envp[]) {
  WrapperGuard guard;
  if (refuse_static_program(AT_FDCWD, path)) {
    errno = ENOEXEC;
    return -1;
  }
  ExecEnvironment environment(envp, true);
  ChannelAcrossExec channel;
  QuiesceSignalHeldAcrossExec quiesce_held;
  return next_symbol(real_execve, "execve")(path, argv, chosen(environment, envp));
}

int run_execvpe(const char* file, char* const argv[], char* const envp[]) {
  WrapperGuard guard;
  char found[4096];
  if (find_on_path(file, found, sizeof found) && refuse_static_program(AT_FDCWD, found)) {
    errno = ENOEXEC;
    return -1;
  }
  ExecEnvironment environment(envp, true);
  ChannelAcrossExec channel;
  QuiesceSignalHeldAcrossExec quiesce_held;
  return next_symbol(real_execvpe, "execvpe")(file, argv, chosen(environment, envp));
}

// Collects execl-style arguments (up to the terminating null) into `argv`.
template <class Then>
int with_list(const char* first, va_list arguments, bool with_environment, Then then) {
  va_list counting;
  va_copy(counting, arguments);
  unsigned long count = 1;
  while (va_arg(counting, char*) != nullptr) ++count;
  va_end(counting);
  char** argv = static_cast<char**>(__builtin_alloca((count + 1) * sizeof(char*)));
  argv[0] = const_cast<char*>(first);
  for (unsigned long i = 1; i <= count; ++i) argv[i] = va_arg(arguments, char*);
  char* const* envp = with_environment ? va_arg(arguments, char* const*) : environ;
  return then(argv, envp);
}

int spawn(SpawnFunction& cache, const char* name, bool search, pid_t* pid, const char* path,
          const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attributes,
          char* const argv[], char* const envp[]) {
  WrapperGuard guard;
  char found[4096];
  const char* program = path;
  if (search) program = find_on_path(path, found, sizeof found) ? found : nullptr;
  if (program != nullptr && refuse_static_program(AT_FDCWD, program)) return ENOEXEC;
  ExecEnvironment environment(envp, false);
  return next_symbol(cache, name)(pid, path, actions, attributes, argv, chosen(environment, envp));
}

}  // namespace
}  // namespace ckpt::agent

using namespace ckpt::agent;

extern "C" {

__attribute__((visibility("default"))) pid_t fork() {
  WrapperGuard guard;
  const pid_t pid = next_symbol(real_fork, "fork")();
  if (pid == 0) register_forked_child();
  return pid;
}

// A vfork child borrows its parent's memory and stack: the agent cannot
// run there. fork() is a valid vfork().
__attribute__((visibility("default"))) pid_t vfork() { return fork(); }

__attribute__((visibility("default"))) int execve(const char* path, char* const argv[], char* const envp[]) { return run_execve(path, argv, envp); }

__attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) { return run_execve(path, argv, environ); }

__attribute__((visibility("default"))) int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return run_execvpe(file, argv, envp);
}

__attribute__((visibility("default"))) int execvp(const char* file, char* const argv[]) { return run_execvpe(file, argv, environ); }

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) {
  va_list arguments;
  va_start(arguments, arg);
  const int result = with_list(arg, arguments, false, [&](char* const* argv, char* const* envp) {
    return run_execve(path, argv, envp);
  });
  va_end(arguments);
  return result;
}

__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) {
  va_list arguments;
  va_start(arguments, arg);
  const int result = with_list(arg, arguments, true, [&](char* const* argv, char* const* envp) {
    return run_execve(path, argv, envp);
  });
  va_end(arguments);
  return result;
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) {
  va_list arguments;
  va_start(arguments, arg);
  const int result = with_list(arg, arguments, false, [&](char* const* argv, char* const* envp) {
    return run_execvpe(file, argv, envp);
  });
  va_end(arguments);
  return result;
}

__attribute__((visibility("default"))) int fexecve(int fd, char* const argv[], char* const envp[]) {
  WrapperGuard guard;
  if (refuse_static_program(AT_FDCWD, "", fd)) {
    errno = ENOEXEC;
    return -1;
  }
  ExecEnvironment environment(envp, true);
  ChannelAcrossExec channel;
  QuiesceSignalHeldAcrossExec quiesce_held;
  return next_symbol(real_fexecve, "fexecve")(fd, argv, chosen(environment, envp));
}

__attribute__((visibility("default"))) int execveat(int directory_fd, const char* path, char* const argv[], char* const envp[], int flags) {
  WrapperGuard guard;
  const bool empty_path = path[0] == '\0';
  if (refuse_static_program(directory_fd, path, empty_path ? directory_fd : -1)) {
    errno = ENOEXEC;
    return -1;
  }
  ExecEnvironment environment(envp, true);
  ChannelAcrossExec channel;
  QuiesceSignalHeldAcrossExec quiesce_held;
  return next_symbol(real_execveat, "execveat")(directory_fd, path, argv, chosen(environment, envp), flags);
}

__attribute__((visibility("default"))) int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                const posix_spawnattr_t* attributes, char* const argv[], char* const envp[]) {
  return spawn(real_posix_spawn, "posix_spawn", false, pid, path, actions, attributes, argv, envp);
}

__attribute__((visibility("default"))) int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                 const posix_spawnattr_t* attributes, char* const argv[], char* const envp[]) {
  return spawn(real_posix_spawnp, "posix_spawnp", true, pid, file, actions, attributes, argv, envp);
}

// libc starts the shell of system() and popen() with environ internally.
// No guard while system() waits: its child takes part in checkpoints, and
// a parent that could not park until the child ended would deadlock them.
__attribute__((visibility("default"))) int system(const char* command) {
  {
    WrapperGuard guard;
    repair_own_environment();
  }
  return next_symbol(real_system, "system")(command);
}

__attribute__((visibility("default"))) FILE* popen(const char* command, const char* mode) {
  {
    WrapperGuard guard;
    repair_own_environment();
  }
  return next_symbol(real_popen, "popen")(command, mode);
}

}  // extern "C"
