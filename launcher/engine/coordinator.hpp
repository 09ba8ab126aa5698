// The coordinator: runs a group (launch or restart), serves ckpt-ctl,
// takes checkpoints on schedule, on request and on policy signals, and
// exits with the application's status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "channel.hpp"
#include "codec.hpp"

namespace ckpt::engine {

struct CoordinatorSettings {
  std::string image_path;
  std::string job_name;
  std::string policy_text;
  std::optional<std::chrono::milliseconds> interval;  // nullopt: no periodic checkpoints
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::vector<int> checkpoint_signals;           // checkpoint and continue
  std::vector<int> checkpoint_and_stop_signals;  // checkpoint, then stop the group
  image::Codec codec = image::Codec::kLz4;
  int compression_level = 1;
  std::uint64_t keep_full = 2;
  bool quiet = false;
  std::string program = "ckpt-launch";  // prefix of messages
};

struct AppCommand {
  std::vector<std::string> argv;
  std::vector<std::string> extra_environment;  // NAME=value added to ours
  std::string cwd;
};

class Coordinator {
 public:
  explicit Coordinator(CoordinatorSettings settings);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Runs the application under checkpointing; returns the exit code.
  int launch(const AppCommand& command);
  // Restarts from the newest committed generation; returns the exit code.
  int restart();

 private:
  struct Member {
    Channel channel;
    pid_t outer_pid = -1;
    pid_t inner_pid = -1;
    std::uint64_t agent_state = 0;
    bool registered = false;
  };

  int run();
  void handle_agent_message();
  void handle_control_client(int client);
  void handle_signal(int signal);
  // Takes one checkpoint; returns the committed generation. Throws with
  // the reason; the group is resumed either way.
  std::uint64_t checkpoint();
  void stop_group();
  std::string status_text() const;
  void arm_interval_timer();
  void say(const std::string& line) const;

  CoordinatorSettings settings_;
  std::vector<Member> members_;
  pid_t init_pid_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int listen_fd_ = -1;
  std::string socket_path_;
  std::uint64_t epoch_ = 0;
  std::optional<int> exit_code_;
  std::optional<int> stop_exit_code_;
  std::uint64_t last_generation_ = 0;
  std::chrono::system_clock::time_point last_checkpoint_time_{};
  std::chrono::steady_clock::time_point next_checkpoint_{};
};

// Where the agent library and the restorer are, next to our own binary.
std::string agent_library_path();
std::string restorer_path();

}  // namespace ckpt::engine
