#include "coordinator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "control_socket.hpp"
#include "stderr_line.hpp"
#include "group_init.hpp"

extern char** environ;

namespace ckpt::engine {
namespace {

std::string own_folder() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

std::string first_existing(const std::vector<std::string>& candidates, const char* what) {
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), R_OK) == 0) return std::filesystem::canonical(candidate);
  }
  throw std::runtime_error(std::string("cannot find ") + what + " (looked in " + candidates.front() +
                           " and beside it)");
}

std::string environment_value(const std::vector<std::string>& environment, const std::string& name) {
  for (const auto& entry : environment) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return "";
}

void set_environment(std::vector<std::string>& environment, const std::string& name,
                     const std::string& value) {
  for (auto& entry : environment) {
    if (entry.rfind(name + "=", 0) == 0) {
      entry = name + "=" + value;
      return;
    }
  }
  environment.push_back(name + "=" + value);
}

}  // namespace

std::string agent_library_path() {
  const std::string folder = own_folder();
  return first_existing({folder + "/../lib/libckpt-interpose.so",
                         folder + "/../" CKPT_INSTALL_LIBDIR "/ckpt/libckpt-interpose.so"},
                        "libckpt-interpose.so");
}

std::string restorer_path() {
  const std::string folder = own_folder();
  return first_existing(
      {folder + "/ckpt-restorer", folder + "/../" CKPT_INSTALL_LIBEXECDIR "/ckpt/ckpt-restorer"},
      "ckpt-restorer");
}

std::string merge_tool_path() {
  const std::string folder = own_folder();
  return first_existing({folder + "/ckpt-merge"}, "ckpt-merge");
}

void Coordinator::merge_ended(bool ok, const std::string& outcome) {
  if (ok) incrementals_in_chain_ = 0;
  say(outcome);
}

Coordinator::Coordinator(CoordinatorSettings settings)
    : settings_(std::move(settings)),
      storage_(settings_.storage_include, settings_.storage_exclude, settings_.image_path) {
  sigset_t handled;
  sigemptyset(&handled);
  for (int signal : {SIGCHLD, SIGTERM, SIGUSR1, SIGHUP}) sigaddset(&handled, signal);
  for (int signal : settings_.checkpoint_signals) sigaddset(&handled, signal);
  for (int signal : settings_.checkpoint_and_stop_signals) sigaddset(&handled, signal);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  // An image write past the file-size limit fails with EFBIG (reported,
  // the group runs on) instead of killing the coordinator and the group.
  ::signal(SIGXFSZ, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &handled, SFD_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  const auto image_folder = std::filesystem::path(settings_.image_path).parent_path();
  if (!image_folder.empty()) std::filesystem::create_directories(image_folder);
  socket_path_ = control_socket_path(settings_.image_path);
  listen_fd_ = listen_control_socket(socket_path_);
  agent_socket_path_ = agent_socket_path(settings_.image_path);
  agent_listen_fd_ = listen_agent_socket(agent_socket_path_);
}

Coordinator::~Coordinator() {
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(socket_path_.c_str());
  }
  if (agent_listen_fd_ >= 0) {
    ::close(agent_listen_fd_);
    ::unlink(agent_socket_path_.c_str());
  }
  if (init_pid_ > 0) {
    ::kill(init_pid_, SIGKILL);
    ::waitpid(init_pid_, nullptr, 0);
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

void Coordinator::say(const std::string& line) const {
  if (!settings_.quiet) write_stderr_line(settings_.program, line);
}

int Coordinator::launch(const std::vector<AppCommand>& commands) {
  std::vector<std::string> inherited;
  for (char** entry = environ; *entry != nullptr; ++entry) inherited.emplace_back(*entry);
  std::vector<LaunchSpec> specs;
  std::vector<int> child_ends;
  for (const auto& command : commands) {
    auto [channel, child_end] = make_control_pair();
    std::vector<std::string> environment = inherited;
    for (const auto& extra : command.extra_environment) {
      const auto equals = extra.find('=');
      set_environment(environment, extra.substr(0, equals), extra.substr(equals + 1));
    }
    const std::string preload = environment_value(environment, "LD_PRELOAD");
    set_environment(environment, "LD_PRELOAD",
                    agent_library_path() + (preload.empty() ? "" : ":" + preload));
    set_environment(environment, CKPT_ENV_CONTROL_FD, std::to_string(child_end));
    set_environment(environment, CKPT_ENV_AGENT_SOCKET, agent_socket_path_);
    // rseq registrations are per-thread kernel state that a restart cannot
    // carry over; glibc falls back to plain system calls without it.
    const std::string tunables = environment_value(environment, "GLIBC_TUNABLES");
    set_environment(environment, "GLIBC_TUNABLES",
                    (tunables.empty() ? "" : tunables + ":") + "glibc.pthread.rseq=0");
    LaunchSpec spec;
    spec.argv = command.argv;
    spec.environment = environment;
    spec.cwd = command.cwd;
    spec.control_fd = child_end;
    specs.push_back(std::move(spec));
    child_ends.push_back(child_end);
    Member member;
    member.channel = std::move(channel);
    member.channel.set_report_sink(&storage_);
    members_.push_back(std::move(member));
  }
  const GroupInit init = start_launch_init(specs);
  for (int child_end : child_ends) ::close(child_end);
  init_pid_ = init.pid;
  arm_interval_timer();
  return run();
}

void Coordinator::arm_interval_timer() {
  itimerspec spec{};
  if (settings_.interval) {
    const auto ms = settings_.interval->count();
    spec.it_value.tv_sec = ms / 1000;
    spec.it_value.tv_nsec = (ms % 1000) * 1000000;
    spec.it_interval = spec.it_value;
    next_checkpoint_ = std::chrono::steady_clock::now() + *settings_.interval;
  }
  ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
}

int Coordinator::run() {
  for (;;) {
    if (exit_code_) {
      if (last_generation_ != 0) storage_.record_files_seen(settings_.image_path, last_generation_);
      return *exit_code_;
    }
    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}, {timer_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0},
                               {agent_listen_fd_, POLLIN, 0}};
    for (const auto& member : members_) fds.push_back({member.channel.fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signal_fd_, &info, sizeof info) == sizeof info) {
        handle_signal(static_cast<int>(info.ssi_signo));
      }
    }
    if (exit_code_) continue;
    if (fds[1].revents & POLLIN) {
      std::uint64_t expirations = 0;
      (void)!::read(timer_fd_, &expirations, sizeof expirations);
      next_checkpoint_ = std::chrono::steady_clock::now() + settings_.interval.value_or(std::chrono::milliseconds(0));
      try {
        checkpoint();
      } catch (const std::exception& error) {
        say(std::string("periodic checkpoint failed: ") + error.what());
      }
    }
    if (fds[2].revents & POLLIN) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        handle_control_client(client);
        ::close(client);
      }
    }
    if (fds[3].revents & POLLIN) accept_new_members(0);
    for (std::size_t i = 4; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        handle_agent_message();
        break;
      }
    }
  }
}

std::size_t Coordinator::accept_new_members(std::uint64_t epoch_to_send) {
  std::size_t accepted = 0;
  for (;;) {
    // (the listening socket is non-blocking; the accepted one blocks)
    const int fd = ::accept4(agent_listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return accepted;
    Member member;
    member.channel = Channel(fd);
    member.channel.set_report_sink(&storage_);
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0) member.outer_pid = credentials.pid;
    if (epoch_to_send != 0) {
      // It joined during a checkpoint: it takes part (the request waits in
      // its socket until its checkpoint thread runs).
      CkptEpoch request = checkpoint_request(epoch_to_send);
      try {
        member.channel.send(&request, sizeof request);
      } catch (const std::exception&) {
        member.gone = true;
      }
    }
    members_.push_back(std::move(member));
    ++accepted;
  }
}

void Coordinator::handle_agent_message() {
  for (auto& member : members_) {
    pollfd probe{member.channel.fd(), POLLIN, 0};
    if (::poll(&probe, 1, 0) <= 0) continue;
    try {
      const auto message = member.channel.receive(std::chrono::milliseconds(1000));
      const auto header = message_as<CkptMessageHeader>(message);
      if (header.type == CKPT_MSG_HELLO) {
        // A new process, or one that exec'd a new program (same socket).
        const auto hello = message_as<CkptHello>(message);
        member.inner_pid = hello.pid;
        member.outer_pid = member.channel.peer_pid();
        member.agent_state = hello.agent_state;
        member.registered = true;
      }
    } catch (const std::exception&) {
      // The process closed its socket (exiting); its exit reaches us as SIGCHLD of init.
      member_ended(member);
      member.registered = false;
      member.channel = Channel();
    }
  }
  members_.remove_if([](const Member& member) { return member.channel.fd() < 0; });
}

void Coordinator::member_ended(Member& member) {
  if (member.ended) return;
  member.ended = true;
  storage_.process_ended(member.outer_pid);
}

void Coordinator::handle_signal(int signal) {
  if (signal == SIGCHLD) {
    int status = 0;
    if (::waitpid(init_pid_, &status, WNOHANG) == init_pid_) {
      init_pid_ = -1;
      exit_code_ = stop_exit_code_.value_or(status_to_exit_code(status));
    }
    std::string outcome;
    bool ok = false;
    if (merge_.ended(outcome, ok)) merge_ended(ok, outcome);
    return;
  }
  const auto& stop = settings_.checkpoint_and_stop_signals;
  const auto& keep = settings_.checkpoint_signals;
  const bool and_stop = std::find(stop.begin(), stop.end(), signal) != stop.end();
  const bool checkpoint_only = std::find(keep.begin(), keep.end(), signal) != keep.end();
  if (!and_stop && !checkpoint_only) {
    // Not a policy signal (e.g. SIGTERM removed from the policy): stop.
    stop_exit_code_ = 128 + signal;
    stop_group();
    return;
  }
  say(std::string("signal ") + strsignal(signal) + ": checkpointing" + (and_stop ? ", then stopping" : ""));
  const auto usual_timeout = settings_.timeout;
  if (and_stop && settings_.stop_timeout) settings_.timeout = *settings_.stop_timeout;
  bool committed = false;
  try {
    checkpoint(and_stop);
    committed = true;
  } catch (const std::exception& error) {
    say(std::string("checkpoint failed: ") + error.what() +
        (last_generation_ ? "; generation " + std::to_string(last_generation_) + " stays the restart point" : ""));
  }
  settings_.timeout = usual_timeout;
  if (and_stop) {
    stop_report_ = StopReport{signal, committed, last_generation_};
    stop_exit_code_ = 128 + signal;
    stop_group();
  }
}

void Coordinator::stop_group() {
  if (init_pid_ > 0) {
    ::kill(init_pid_, SIGKILL);
    int status = 0;
    ::waitpid(init_pid_, &status, 0);
    init_pid_ = -1;
  }
  exit_code_ = stop_exit_code_.value_or(0);
}

void Coordinator::handle_control_client(int client) {
  auto reply = [&](const std::string& text) { (void)!::write(client, text.data(), text.size()); };
  if (!peer_is_owner(client)) {
    reply("error permission denied\n");
    return;
  }
  char buffer[256];
  const ssize_t got = ::read(client, buffer, sizeof buffer - 1);
  if (got <= 0) return;
  std::string request(buffer, static_cast<std::size_t>(got));
  while (!request.empty() && (request.back() == '\n' || request.back() == '\r')) request.pop_back();
  if (request == "checkpoint" || request == "stop --checkpoint") {
    try {
      const auto generation = checkpoint(request != "checkpoint");
      reply("ok " + std::to_string(generation) + "\n");
    } catch (const std::exception& error) {
      // Also for "stop --checkpoint": the group runs on rather than lose
      // the work since the last checkpoint; plain "stop" still ends it.
      reply(std::string("error ") + error.what() +
            (request == "checkpoint" ? "" : "; the group was not stopped") + "\n");
      return;
    }
  } else if (request == "status") {
    reply(status_text() + "ok\n");
    return;
  } else if (request != "stop") {
    reply("error unknown request '" + request + "'\n");
    return;
  }
  if (request.rfind("stop", 0) == 0) {
    if (request == "stop") reply("ok stopped\n");
    stop_exit_code_ = 0;
    say("stopping the group on request");
    stop_group();
  }
}

std::string Coordinator::status_text() const {
  std::ostringstream out;
  out << "image " << std::filesystem::absolute(settings_.image_path).string() << "\n";
  for (const auto& member : members_) {
    std::size_t threads = 0;
    if (member.outer_pid > 0) {
      std::error_code ignored;
      for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator(
               "/proc/" + std::to_string(member.outer_pid) + "/task", ignored)) {
        ++threads;
      }
    }
    std::string exe;
    std::error_code ignored;
    exe = std::filesystem::read_symlink("/proc/" + std::to_string(member.outer_pid) + "/exe", ignored).string();
    out << "process " << member.inner_pid << " threads " << threads << " exe " << exe
        << (member.registered ? "" : " (not registered)") << "\n";
  }
  if (last_generation_ != 0) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now() - last_checkpoint_time_);
    out << "last-checkpoint generation " << last_generation_ << ", " << age.count() << " s ago\n";
  } else {
    out << "last-checkpoint none\n";
  }
  if (settings_.interval) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        next_checkpoint_ - std::chrono::steady_clock::now());
    out << "next-checkpoint in " << std::max<long>(0, left.count()) << " s\n";
  } else {
    out << "next-checkpoint on request only\n";
  }
  // The same decision as checkpoint() takes (a background merge, when it
  // succeeds, starts a new chain first).
  const std::uint64_t in_chain = merge_.running() ? 0 : incrementals_in_chain_;
  const bool incremental = page_hashes_.valid() && in_chain < settings_.incremental_depth;
  out << "next-kind "
      << (incremental ? "incremental " + std::to_string(in_chain + 1) + " of " +
                            std::to_string(settings_.incremental_depth)
                      : std::string("full"))
      << ", dirty tracking " << (settings_.incremental_depth > 0 ? dirty_engine_name(settings_.dirty_engine) : "none")
      << (merge_.running() ? ", once the chain's background merge ends (full if it fails)" : "") << "\n";
  return out.str();
}

}  // namespace ckpt::engine
