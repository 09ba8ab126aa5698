#include "slurm_task.hpp"

namespace ckpt::slurm {

std::string shielded_signal_list(const policy::Policy& policy) {
  std::string list;
  for (const auto* signals : {&policy.signals.checkpoint, &policy.signals.checkpoint_and_stop}) {
    for (int signal : *signals) {
      if (!list.empty()) list += ',';
      list += std::to_string(signal);
    }
  }
  return list;
}

TaskPlan plan_task(const TaskInputs& inputs) {
  TaskPlan plan;
  plan.image = inputs.image;
  if (inputs.batch_step && inputs.policy.slurm.batch == policy::BatchMode::steps) {
    plan.action = TaskAction::run_plain;
    plan.command = inputs.program_and_args;
    plan.summary = "batch script runs without ckpt ([slurm] batch = \"steps\"); its srun steps run under ckpt";
    return plan;
  }
  plan.environment.push_back(std::string(kShieldSignalsVariable) + "=" + shielded_signal_list(inputs.policy));
  if (inputs.batch_step) plan.environment.push_back(std::string(kInsideGroupVariable) + "=1");
  if (inputs.restart_count > 0 && inputs.committed_generation) {
    plan.action = TaskAction::restart;
    plan.command = {inputs.tools_folder + "/ckpt-restart", inputs.image};
    plan.summary = "requeued (restart " + std::to_string(inputs.restart_count) + "): restarting from " +
                   inputs.image + ", generation " + std::to_string(*inputs.committed_generation);
    return plan;
  }
  plan.action = TaskAction::launch;
  plan.command = {inputs.tools_folder + "/ckpt-launch", "--policy", inputs.policy_file, "--image", inputs.image,
                  "--"};
  plan.command.insert(plan.command.end(), inputs.program_and_args.begin(), inputs.program_and_args.end());
  plan.summary = (inputs.restart_count > 0 ? "requeued, but " + inputs.image +
                                                 " has no committed checkpoint: starting from the beginning"
                                           : "running under ckpt, image " + inputs.image);
  return plan;
}

}  // namespace ckpt::slurm
