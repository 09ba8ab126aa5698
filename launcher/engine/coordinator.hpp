// The coordinator: runs a group (launch or restart), serves ckpt-ctl,
// takes checkpoints on schedule, on request and on policy signals, and
// exits with the application's status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "channel.hpp"
#include "codec.hpp"
#include "group_processes.hpp"
#include "background_merge.hpp"
#include "page_hashes.hpp"
#include "storage_checkpoint.hpp"

namespace ckpt::engine {

enum class DirtyEngine { kHash, kUffdWp, kMprotect };
const char* dirty_engine_name(DirtyEngine engine);

struct CoordinatorSettings {
  std::string image_path;
  std::string job_name;
  std::string policy_text;
  std::optional<std::chrono::milliseconds> interval;  // nullopt: no periodic checkpoints
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Of the checkpoint taken on a checkpoint-and-stop signal (nullopt: timeout).
  std::optional<std::chrono::milliseconds> stop_timeout;
  std::vector<int> checkpoint_signals;           // checkpoint and continue
  std::vector<int> checkpoint_and_stop_signals;  // checkpoint, then stop the group
  image::Codec codec = image::Codec::kLz4;
  int compression_level = 1;
  std::uint64_t keep_full = 2;
  // Incremental generations after each full one (0: every one full).
  std::uint64_t incremental_depth = 3;
  // How their pages are found: written pages reported by the agent's
  // engine where it tracks memory (tracked_writes.hpp), hashes elsewhere
  // (page_hashes.hpp); kHash: hashes only.
  DirtyEngine dirty_engine = DirtyEngine::kHash;
  // after_chain = "merge": a full chain is folded in the background
  // (background_merge.hpp) instead of the next checkpoint being full.
  bool merge_after_chain = false;
  bool quiet = false;
  std::vector<std::string> storage_include;  // absolute: saved with every checkpoint
  std::vector<std::string> storage_exclude;  // absolute: never saved
  ExternalChange on_external_change = ExternalChange::kRollBack;
  std::string program = "ckpt-launch";  // prefix of messages
};

// How a checkpoint-and-stop signal ended the group.
struct StopReport {
  int signal = 0;
  bool committed = false;           // its checkpoint was committed
  std::uint64_t generation = 0;     // the newest committed generation (0: none)
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

  // Runs the applications (one group, checkpointed together) under
  // checkpointing; returns the exit code: the first non-zero status
  // among them, in the order they ended, else 0.
  int launch(const std::vector<AppCommand>& commands);
  // Restarts from the newest committed generation; returns the exit code.
  int restart();
  // Set when a checkpoint-and-stop signal stopped the group.
  const std::optional<StopReport>& stop_report() const { return stop_report_; }

 private:
  // A process of the group with its control socket.
  struct Member {
    Channel channel;
    pid_t outer_pid = -1;
    pid_t inner_pid = -1;
    std::uint64_t agent_state = 0;
    bool registered = false;  // said HELLO
    // during a checkpoint
    bool quiesced = false;
    bool twin_expected = false;
    pid_t twin = -1;     // outer PID of its twin
    int twin_pidfd = -1; // signals and liveness of the twin without PID reuse races
    bool gone = false;   // its socket closed (it exited)
    bool ended = false;  // told to the storage checkpoint (once)
  };
  // The member's socket closed: it exited (or died).
  void member_ended(Member& member);

  int run();
  void handle_agent_message();
  // Accepts every pending connection on the agent socket as a new member.
  // Returns how many.
  std::size_t accept_new_members(std::uint64_t epoch_to_send);
  // Handles one message of `member` during a checkpoint of `epoch`.
  void handle_checkpoint_message(Member& member, std::uint64_t epoch);
  // Phase 1: until every process of the group is quiesced (or a zombie).
  void quiesce_group(std::uint64_t epoch);
  // RESUME to everyone; waits for RESUMED of those that quiesced.
  void resume_group(std::uint64_t epoch);
  void handle_control_client(int client);
  void handle_signal(int signal);
  // Takes one checkpoint; returns the committed generation. Throws with
  // the reason; the group is resumed either way.
  // With `final_checkpoint` (the group stops right after) the group is not
  // let run again once committed, so no file changes after it.
  std::uint64_t checkpoint(bool final_checkpoint = false);
  void stop_group();
  std::string status_text() const;
  void arm_interval_timer();
  // The CHECKPOINT request of `epoch` (with the agents' dirty-page engine).
  CkptEpoch checkpoint_request(std::uint64_t epoch) const;
  void say(const std::string& line) const;

  CoordinatorSettings settings_;
  std::list<Member> members_;
  std::vector<GroupProcess> group_snapshot_;  // the group at the last quiesce
  StorageCheckpoint storage_;  // stable addresses: members join during checkpoints
  PageHashes page_hashes_;     // of the last committed generation
  std::uint64_t incrementals_in_chain_ = 0;
  std::uint64_t committed_epoch_ = 0;  // of the last committed generation of this run
  BackgroundMerge merge_;
  // The background merge ended: the chain starts again from its result.
  void merge_ended(bool ok, const std::string& outcome);
  pid_t init_pid_ = -1;
  int agent_listen_fd_ = -1;
  std::string agent_socket_path_;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int listen_fd_ = -1;
  std::string socket_path_;
  std::uint64_t epoch_ = 0;
  std::optional<int> exit_code_;
  std::optional<int> stop_exit_code_;
  std::optional<StopReport> stop_report_;
  std::uint64_t last_generation_ = 0;
  std::chrono::system_clock::time_point last_checkpoint_time_{};
  std::chrono::steady_clock::time_point next_checkpoint_{};
};

// Where the agent library and the restorer are, next to our own binary.
std::string agent_library_path();
std::string restorer_path();
std::string merge_tool_path();

}  // namespace ckpt::engine
