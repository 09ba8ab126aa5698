#pragma once
// What ckpt-slurm-task does with one Slurm task: run it under ckpt-launch,
// restart it from its image after a requeue, or run it as it is (a batch
// script with [slurm] batch = "steps"). Decided from the task's environment
// and the policy, without side effects, so that tests can check it.

#include <optional>
#include <string>
#include <vector>

#include "ckpt/policy/policy.hpp"
#include "task_environment.hpp"

namespace ckpt::slurm {

enum class TaskAction { launch, restart, run_plain };

struct TaskPlan {
  TaskAction action = TaskAction::launch;
  std::string image;                 // expanded image path
  std::vector<std::string> command;  // what to exec
  std::vector<std::string> environment;  // NAME=VALUE added for the command
  std::string summary;               // one line for the job's stderr
};

struct TaskInputs {
  std::string tools_folder;  // where ckpt-launch and ckpt-restart are
  std::string policy_file;
  policy::Policy policy;
  bool batch_step = false;
  int restart_count = 0;  // SLURM_RESTART_COUNT, 0 when unset
  std::vector<std::string> program_and_args;
  // Newest committed generation of the image, std::nullopt if none.
  std::optional<unsigned long long> committed_generation;
  std::string image;
};

TaskPlan plan_task(const TaskInputs& inputs);

// "15,10": the numbers of every signal of the policy's [signals] lists.
std::string shielded_signal_list(const policy::Policy& policy);

}  // namespace ckpt::slurm
