// The group's init process: PID 1 of fresh PID + mount namespaces (and a
// user namespace when not root, mapping the caller's uid/gid to
// themselves). It mounts a private /proc, starts the application (launch)
// or the restorers that become the checkpointed processes with their
// original PIDs (restart), reaps orphans, and exits with the main
// application's status. It dies with the coordinator (PR_SET_PDEATHSIG),
// and every process of the namespace dies with it: no orphans.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ckpt::engine {

// One application of the group, started by init.
struct LaunchSpec {
  std::vector<std::string> argv;
  std::vector<std::string> environment;  // complete "NAME=value" list
  std::string cwd;
  int control_fd = -1;  // the child's end of its control socket
};

// A process init creates at restart (clone3 with set_tid = its saved PID):
// it becomes ckpt-restorer, which creates the process's own children.
struct TopLevelProcess {
  pid_t pid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
};

struct RestoreSpec {
  std::string restorer_path;
  std::string agent_socket;  // the restorers connect here (argv[1])
  std::vector<TopLevelProcess> processes;  // init ends when all of them have ended
};

struct GroupInit {
  pid_t pid = -1;  // in the coordinator's PID namespace
};

// Starts init for a launch of every application together. Init ends when
// all of them have ended, with the first non-zero status among them (in
// the order they ended), else 0. Throws std::runtime_error with one clear
// line (e.g. user namespaces disabled, naming the sysctl).
GroupInit start_launch_init(const std::vector<LaunchSpec>& applications);
GroupInit start_restore_init(const RestoreSpec& spec);

// Exit status of the group as a shell reports it (code, or 128+signal).
int status_to_exit_code(int wait_status);

}  // namespace ckpt::engine
