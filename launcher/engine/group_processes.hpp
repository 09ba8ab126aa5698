// The processes of a group as the kernel sees them: every descendant of
// the group's init, with its PIDs inside the group, parent, process group,
// session, state and, for a zombie, its wait status. Read from /proc of
// the coordinator's PID namespace (outer PIDs) and NSpid/NSpgid/NSsid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ckpt::engine {

struct GroupProcess {
  pid_t outer_pid = 0;
  pid_t inner_pid = 0;
  pid_t outer_ppid = 0;
  pid_t inner_ppid = 0;  // 1: the group's init
  pid_t pgid = 0;        // inside the group; 0: outside it (inherited from ckpt-launch)
  pid_t sid = 0;
  char state = '?';      // R S D T Z ...
  int exit_signal = 0;   // sent to the parent at exit (0: a clone child, e.g. a twin)
  int wait_status = 0;   // zombies: what waitpid() will report
  std::string name;      // comm

  bool zombie() const { return state == 'Z' || state == 'X'; }
};

// Every descendant of `init_outer_pid`, parents before children. Processes
// that vanish while being read are left out.
std::vector<GroupProcess> list_group_processes(pid_t init_outer_pid);

}  // namespace ckpt::engine
