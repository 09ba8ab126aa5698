#include "group_init.hpp"

#include "group_processes.hpp"
#include "protocol.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ckpt::engine {
namespace {

// Everything init needs, prepared before the clone: after it, the child
// of a (possibly multi-threaded) coordinator only makes system calls.
struct InitPlan {
  bool restore = false;
  int sync_read = -1;   // closed by the parent once uid/gid maps are written
  int sync_write = -1;  // the parent's end: the child closes its copy
  int status_write = -1;
  // launch
  struct App {
    std::vector<char*> argv;
    std::vector<char*> environment;
    const char* cwd = nullptr;
    int control_fd = -1;
  };
  std::vector<App> apps;
  // restore
  const char* restorer = nullptr;
  const char* agent_socket = nullptr;
  std::vector<TopLevelProcess> processes;
};

void write_text(const char* text) { (void)!::write(2, text, std::strlen(text)); }

[[noreturn]] void die(const char* what) {
  char line[256];
  std::snprintf(line, sizeof line, "ckpt-init: %s: %s\n", what, std::strerror(errno));
  write_text(line);
  ::_exit(127);
}

void prepare_namespace_view() {
  // Our own /proc shows the group's PIDs; mounts stay private to the group.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("private mounts");
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    die("mount /proc");
  }
}

// When init exits, the kernel kills every process of the PID namespace:
// also the twin of a checkpoint that is still being read (an application
// that ended just after its checkpoint released it). Twins (exit signal 0)
// end once the coordinator has read them; init waits for them first, up
// to a minute (the coordinator's death ends init anyway: PDEATHSIG).
void wait_for_twins() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    bool twin = false;
    // An orphaned twin has exit signal SIGCHLD (the kernel sets it when it
    // reparents), so it is known by the name it gives itself.
    for (const auto& process : list_group_processes(1)) {
      twin = twin || ((process.exit_signal == 0 || process.name == CKPT_TWIN_NAME) && !process.zombie());
    }
    if (!twin) return;
    while (::waitpid(-1, nullptr, WNOHANG | __WALL) > 0) {
    }
    ::usleep(10000);
  }
}

// Keeps CAP_CHECKPOINT_RESTORE (clone3 set_tid for threads) and
// CAP_SYS_ADMIN across the restorer's exec as ambient capabilities.
void keep_restore_capabilities() {
  struct {
    unsigned version;
    int pid;
  } header{0x20080522, 0};
  struct {
    unsigned effective, permitted, inheritable;
  } data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) die("capget");
  const int capabilities[] = {21 /*CAP_SYS_ADMIN*/, 40 /*CAP_CHECKPOINT_RESTORE*/};
  for (int capability : capabilities) data[capability / 32].inheritable |= 1u << (capability % 32);
  if (::syscall(SYS_capset, &header, data) != 0) die("capset");
  for (int capability : capabilities) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capability, 0, 0) != 0) die("ambient caps");
  }
}

[[noreturn]] void become_restorer(const InitPlan& plan, const TopLevelProcess& process) {
  if (process.sid == process.pid) {
    ::setsid();
  } else if (process.pgid == process.pid) {
    ::setpgid(0, 0);
  }
  keep_restore_capabilities();
  // Nothing of the coordinator's (image files the HDF5 library opened
  // without O_CLOEXEC, ...) may reach the restored process: it keeps
  // only 0-2 and what the restart passes it.
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /*CLOSE_RANGE_CLOEXEC*/) != 0) die("close_range");
  char* const argv[] = {const_cast<char*>("ckpt-restorer"), const_cast<char*>(plan.agent_socket), nullptr};
  char* const environment[] = {nullptr};
  ::execve(plan.restorer, argv, environment);
  die("exec ckpt-restorer");
}

pid_t spawn_with_pid(pid_t pid) {
  clone_args arguments{};
  arguments.exit_signal = SIGCHLD;
  arguments.set_tid = reinterpret_cast<std::uint64_t>(&pid);
  arguments.set_tid_size = 1;
  return static_cast<pid_t>(::syscall(SYS_clone3, &arguments, sizeof arguments));
}

int init_main(void* argument) {
  const InitPlan& plan = *static_cast<InitPlan*>(argument);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the coordinator blocks its signals
  ::signal(SIGXFSZ, SIG_DFL);                   // and ignores this one
  ::close(plan.sync_write);
  char ready = 0;
  (void)!::read(plan.sync_read, &ready, 1);  // uid/gid maps are in place
  ::close(plan.sync_read);
  prepare_namespace_view();
  std::vector<pid_t> applications;
  if (plan.restore) {
    for (const auto& process : plan.processes) {
      const pid_t child = spawn_with_pid(process.pid);
      if (child == 0) become_restorer(plan, process);
      if (child < 0) die("clone3 with the saved PID");
      applications.push_back(child);
    }
  } else {
    for (const auto& app : plan.apps) {
      const pid_t child = ::fork();
      if (child == 0) {
        for (const auto& other : plan.apps) {
          if (other.control_fd != app.control_fd) ::close(other.control_fd);
        }
        if (app.cwd != nullptr && ::chdir(app.cwd) != 0) die("chdir");
        ::execvpe(app.argv[0], app.argv.data(), app.environment.data());
        char line[512];
        std::snprintf(line, sizeof line, "ckpt-launch: cannot run %s: %s\n", app.argv[0],
                      std::strerror(errno));
        write_text(line);
        ::_exit(127);
      }
      if (child < 0) die("fork");
      applications.push_back(child);
    }
    for (const auto& app : plan.apps) ::close(app.control_fd);
  }
  // Reap everything; leave when every application has ended, with the
  // first non-zero status among them.
  int exit_code = 0;
  while (!applications.empty()) {
    int status = 0;
    // __WALL: also checkpoint twins orphaned by an application that exited.
    const pid_t done = ::waitpid(-1, &status, __WALL);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) break;
    const auto found = std::find(applications.begin(), applications.end(), done);
    if (found == applications.end()) continue;
    applications.erase(found);
    if (exit_code == 0) exit_code = status_to_exit_code(status);
  }
  wait_for_twins();
  ::_exit(exit_code);
}

void write_file(pid_t pid, const char* name, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(saved));
  }
  ::close(fd);
}

GroupInit start_init(InitPlan& plan) {
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(strerror(errno)));
  plan.sync_read = sync[0];
  plan.sync_write = sync[1];
  const bool root = ::geteuid() == 0;
  int flags = CLONE_NEWPID | CLONE_NEWNS | SIGCHLD;
  if (!root) flags |= CLONE_NEWUSER;
  constexpr std::size_t kStackBytes = 256 * 1024;
  static std::vector<char> stack(kStackBytes);
  const pid_t pid = ::clone(init_main, stack.data() + stack.size(), flags, &plan);
  if (pid < 0) {
    const int saved = errno;
    ::close(sync[0]);
    ::close(sync[1]);
    if (!root && (saved == EPERM || saved == EINVAL || saved == ENOSPC)) {
      throw std::runtime_error(
          std::string("cannot create user and PID namespaces (") + std::strerror(saved) +
          "): unprivileged user namespaces are disabled; enable them with sysctl "
          "user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 where it exists)");
    }
    throw std::runtime_error(std::string("cannot create the group's namespaces: ") +
                             std::strerror(saved));
  }
  ::close(sync[0]);
  try {
    if (!root) {
      write_file(pid, "setgroups", "deny");
      write_file(pid, "uid_map", std::to_string(::getuid()) + " " + std::to_string(::getuid()) + " 1");
      write_file(pid, "gid_map", std::to_string(::getgid()) + " " + std::to_string(::getgid()) + " 1");
    }
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(sync[1]);
    throw;
  }
  ::close(sync[1]);  // init may go on
  return {pid};
}

}  // namespace

GroupInit start_launch_init(const std::vector<LaunchSpec>& applications) {
  static InitPlan plan;  // read by the child after clone (shared copy-on-write)
  static std::vector<LaunchSpec> specs;
  specs = applications;
  plan = InitPlan{};
  for (auto& spec : specs) {
    InitPlan::App app;
    for (auto& value : spec.argv) app.argv.push_back(value.data());
    app.argv.push_back(nullptr);
    for (auto& value : spec.environment) app.environment.push_back(value.data());
    app.environment.push_back(nullptr);
    app.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
    app.control_fd = spec.control_fd;
    plan.apps.push_back(std::move(app));
  }
  return start_init(plan);
}

GroupInit start_restore_init(const RestoreSpec& spec) {
  static InitPlan plan;
  static std::string restorer, agent_socket;
  restorer = spec.restorer_path;
  agent_socket = spec.agent_socket;
  plan = InitPlan{};
  plan.restore = true;
  plan.restorer = restorer.c_str();
  plan.agent_socket = agent_socket.c_str();
  plan.processes = spec.processes;
  return start_init(plan);
}

int status_to_exit_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace ckpt::engine
