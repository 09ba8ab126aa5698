#include "background_merge.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace ckpt::engine {
namespace {

double now_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

BackgroundMerge::~BackgroundMerge() {
  if (pid_ > 0) {
    std::string ignored;
    wait(ignored);
  }
}

void BackgroundMerge::start(const std::string& tool, const std::string& image_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);  // we block the signals we read from a signalfd
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv{const_cast<char*>(tool.c_str()), const_cast<char*>(image_path.c_str()),
                          nullptr};
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, tool.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw std::runtime_error("cannot start " + tool + ": " + std::strerror(error));
  pid_ = pid;
  started_ = now_seconds();
}

bool BackgroundMerge::finish(int status, std::string& outcome) {
  pid_ = -1;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", now_seconds() - started_);
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  outcome =
      ok ? std::string("chain merged into a full generation in the background (") + seconds + ")"
         : std::string("warning: the background merge of the chain failed (status ") +
               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
               "); the next checkpoint is a full one";
  return ok;
}

bool BackgroundMerge::wait(std::string& outcome) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t got;
  do got = ::waitpid(pid_, &status, 0);
  while (got < 0 && errno == EINTR);
  if (got != pid_) status = 1 << 8;
  return finish(status, outcome);
}

bool BackgroundMerge::ended(std::string& outcome, bool& ok) {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
  ok = finish(status, outcome);
  return true;
}

}  // namespace ckpt::engine
