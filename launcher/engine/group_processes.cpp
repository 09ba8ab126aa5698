#include "group_processes.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ckpt::engine {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last number of a "Name:\t1\t2" line of /proc/PID/status (the value in
// the innermost PID namespace); -1 if absent.
long last_status_value(const std::string& status, const std::string& name) {
  const auto at = status.find("\n" + name + ":");
  if (at == std::string::npos) return -1;
  const auto end = status.find('\n', at + 1);
  std::istringstream line(status.substr(at + name.size() + 2, end - at - name.size() - 2));
  long value = -1;
  for (long next; line >> next;) value = next;
  return value;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ignored;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ignored)) {
    std::istringstream list(read_file(task.path().string() + "/children"));
    for (pid_t child; list >> child;) children.push_back(child);
  }
  return children;
}

bool read_process(pid_t outer, GroupProcess& process) {
  const std::string proc = "/proc/" + std::to_string(outer);
  const std::string status = "\n" + read_file(proc + "/status");
  const std::string stat = read_file(proc + "/stat");
  const auto name_start = stat.find('(');
  const auto name_end = stat.rfind(')');
  if (status.size() < 2 || name_end == std::string::npos || name_start == std::string::npos) return false;
  process.outer_pid = outer;
  process.name = stat.substr(name_start + 1, name_end - name_start - 1);
  // Fields after the name: 3 state, 4 ppid, ... 38 exit_signal, ... 52 exit_code.
  std::istringstream fields(stat.substr(name_end + 2));
  std::vector<std::string> values;
  for (std::string value; fields >> value;) values.push_back(value);
  auto field = [&](std::size_t number) -> long {
    return number - 3 < values.size() ? std::stol(values[number - 3]) : 0;
  };
  if (values.empty()) return false;
  process.state = values[0].empty() ? '?' : values[0][0];
  process.outer_ppid = static_cast<pid_t>(field(4));
  process.exit_signal = static_cast<int>(field(38));
  process.wait_status = static_cast<int>(field(52));
  process.inner_pid = static_cast<pid_t>(last_status_value(status, "NSpid"));
  process.pgid = static_cast<pid_t>(std::max(0L, last_status_value(status, "NSpgid")));
  process.sid = static_cast<pid_t>(std::max(0L, last_status_value(status, "NSsid")));
  return process.inner_pid > 0;
}

}  // namespace

std::vector<GroupProcess> list_group_processes(pid_t init_outer_pid) {
  std::vector<GroupProcess> processes;
  std::vector<pid_t> queue = children_of(init_outer_pid);
  for (std::size_t next = 0; next < queue.size(); ++next) {
    GroupProcess process;
    if (!read_process(queue[next], process)) continue;
    for (pid_t child : children_of(queue[next])) queue.push_back(child);
    processes.push_back(process);
  }
  for (auto& process : processes) {
    process.inner_ppid = 1;
    for (const auto& parent : processes) {
      if (parent.outer_pid == process.outer_ppid) process.inner_ppid = parent.inner_pid;
    }
  }
  return processes;
}

}  // namespace ckpt::engine
