#pragma once
// The checkpoint policy: what forms a group, how often and how it is
// checkpointed, and where images go. See docs/policy.md for every key.

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/policy/duration.hpp"

namespace ckpt::policy {

// The schema version this build reads and writes ("version = 1").
inline constexpr int kSchemaVersion = 1;

// What happens once incremental_depth incrementals follow a full checkpoint.
enum class AfterChain { full, merge };

// How the pages written since the last checkpoint are found.
enum class DirtyTracking { automatic, uffd_wp, mprotect, soft_dirty, hash, none };

enum class Compression { lz4, zstd, none };

// What a restart does with a file changed outside the group after the checkpoint.
enum class ExternalChangeAction { rollback, keep, refuse };

// In a Slurm batch job: "script" checkpoints the batch script and everything
// it starts as one group; "steps" runs the script as usual and each srun step
// under ckpt (its tasks are the groups).
enum class BatchMode { script, steps };

// What Slurm does with a job whose checkpoint on preemption (or on a requeue
// request) failed or timed out: requeue it anyway (it restarts from the
// previous committed checkpoint, or from the start), or end it.
enum class FailedCheckpointAction { requeue, end };

struct JobSettings {
  // std::nullopt: resolve_job_name() derives the name from the first command.
  std::optional<std::string> name;

  bool operator==(const JobSettings&) const = default;
};

struct CheckpointSettings {
  // std::nullopt ("off"): no periodic checkpoints, only on request or signal.
  std::optional<Duration> interval = std::chrono::minutes(30);
  Duration timeout = std::chrono::minutes(10);
  int incremental_depth = 3;
  AfterChain after_chain = AfterChain::full;
  DirtyTracking dirty_tracking = DirtyTracking::automatic;
  Compression compression = Compression::lz4;
  int compression_level = 1;  // used by zstd only

  bool operator==(const CheckpointSettings&) const = default;
};

struct SignalSettings {
  std::vector<int> checkpoint{SIGUSR1};
  std::vector<int> checkpoint_and_stop{SIGTERM};
  // Longest time the checkpoint of a checkpoint_and_stop signal may take;
  // std::nullopt ("off"): checkpoint.timeout applies. Under Slurm, keep it
  // below GraceTime (+ KillWait), after which the job is killed.
  std::optional<Duration> stop_timeout;

  bool operator==(const SignalSettings&) const = default;
};

struct StorageSettings {
  std::string image = "{name}.ckpt.h5";  // template, see image_path.hpp
  int keep_full = 2;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  ExternalChangeAction on_external_change = ExternalChangeAction::rollback;

  bool operator==(const StorageSettings&) const = default;
};

// Read by the Slurm plugin only; ckpt-launch ignores it.
struct SlurmSettings {
  BatchMode batch = BatchMode::script;
  FailedCheckpointAction on_failed_checkpoint = FailedCheckpointAction::requeue;

  bool operator==(const SlurmSettings&) const = default;
};

struct App {
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the inherited environment
  std::optional<std::string> cwd;          // std::nullopt: the launch directory

  bool operator==(const App&) const = default;
};

struct Group {
  std::string name;
  std::vector<App> apps;

  bool operator==(const Group&) const = default;
};

struct Policy {
  JobSettings job;
  CheckpointSettings checkpoint;
  SignalSettings signals;
  StorageSettings storage;
  SlurmSettings slurm;
  std::vector<Group> groups;  // empty: the launcher's command forms the group

  bool operator==(const Policy&) const = default;
};

// A policy that cannot be used. what() is exactly one line, normally
// "FILE:LINE:COLUMN: message"; for command-line overrides "--option: message".
class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The built-in policy used when no file is given.
Policy default_policy();

// Parses and validates policy text. source_name starts every error message.
// Throws PolicyError.
Policy parse_policy(std::string_view toml_text, std::string_view source_name);

// Reads and parses a policy file. Throws PolicyError, also when the file
// cannot be read ("FILE: cannot read policy: No such file or directory").
Policy load_policy_file(const std::filesystem::path& file);

// Canonical TOML for the policy; parse_policy(print_policy(p), ...) == p.
std::string print_policy(const Policy& policy);

// job.name if set, else the file name of the first application's command,
// else "job".
std::string resolve_job_name(const Policy& policy);

// The time limit of the checkpoint taken on a checkpoint_and_stop signal:
// signals.stop_timeout if set, else checkpoint.timeout.
Duration effective_stop_timeout(const Policy& policy);

// Command-line overrides, validated like the policy keys they replace.
// Errors read "OPTION: message", e.g. "--interval: bad duration ...".
void override_interval(Policy& policy, std::string_view text, std::string_view option);
void override_image(Policy& policy, std::string_view text, std::string_view option);

}  // namespace ckpt::policy
