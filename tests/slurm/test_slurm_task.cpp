// What ckpt-slurm-task decides for a task (slurm-plugin/slurm_task.hpp).
#include <catch2/catch.hpp>
#include <algorithm>
#include <csignal>

#include "slurm_task.hpp"

using namespace ckpt::slurm;

namespace {

TaskInputs inputs_for(bool batch, int restart_count, std::optional<unsigned long long> committed) {
  TaskInputs inputs;
  inputs.tools_folder = "/opt/ckpt/bin";
  inputs.policy_file = "/home/u/job.toml";
  inputs.batch_step = batch;
  inputs.restart_count = restart_count;
  inputs.program_and_args = {"./solver", "-n", "4"};
  inputs.committed_generation = committed;
  inputs.image = "/scratch/u/solver-42.task0.h5";
  return inputs;
}

bool has(const std::vector<std::string>& list, const std::string& entry) {
  return std::find(list.begin(), list.end(), entry) != list.end();
}

}  // namespace

TEST_CASE("a first run launches the task under ckpt-launch with its policy", "[slurm]") {
  const TaskPlan plan = plan_task(inputs_for(false, 0, std::nullopt));
  CHECK(plan.action == TaskAction::launch);
  CHECK(plan.command == std::vector<std::string>{"/opt/ckpt/bin/ckpt-launch", "--policy", "/home/u/job.toml",
                                                 "--image", "/scratch/u/solver-42.task0.h5", "--", "./solver",
                                                 "-n", "4"});
  CHECK(has(plan.environment, "CKPT_SHIELD_SIGNALS=10,15"));
  CHECK_FALSE(has(plan.environment, "CKPT_SLURM_GROUP=1"));
}

TEST_CASE("an image left from an earlier job is not restarted without a requeue", "[slurm]") {
  CHECK(plan_task(inputs_for(false, 0, 7)).action == TaskAction::launch);
}

TEST_CASE("after a requeue the task restarts from its image", "[slurm]") {
  const TaskPlan plan = plan_task(inputs_for(false, 1, 7));
  CHECK(plan.action == TaskAction::restart);
  CHECK(plan.command ==
        std::vector<std::string>{"/opt/ckpt/bin/ckpt-restart", "/scratch/u/solver-42.task0.h5"});
  CHECK(plan.summary.find("generation 7") != std::string::npos);
}

TEST_CASE("after a requeue without a committed checkpoint the task starts again", "[slurm]") {
  const TaskPlan plan = plan_task(inputs_for(false, 2, std::nullopt));
  CHECK(plan.action == TaskAction::launch);
  CHECK(plan.summary.find("no committed checkpoint") != std::string::npos);
}

TEST_CASE("a batch script runs under ckpt and refuses srun inside", "[slurm]") {
  const TaskPlan plan = plan_task(inputs_for(true, 0, std::nullopt));
  CHECK(plan.action == TaskAction::launch);
  CHECK(has(plan.environment, "CKPT_SLURM_GROUP=1"));
}

TEST_CASE("with batch = steps the batch script runs as it is", "[slurm]") {
  TaskInputs inputs = inputs_for(true, 1, 3);
  inputs.policy.slurm.batch = ckpt::policy::BatchMode::steps;
  const TaskPlan plan = plan_task(inputs);
  CHECK(plan.action == TaskAction::run_plain);
  CHECK(plan.command == std::vector<std::string>{"./solver", "-n", "4"});
  CHECK(plan.environment.empty());
}

TEST_CASE("every policy signal is shielded from the applications", "[slurm]") {
  ckpt::policy::Policy policy;
  policy.signals.checkpoint = {SIGUSR1, SIGUSR2};
  policy.signals.checkpoint_and_stop = {SIGTERM, SIGINT};
  CHECK(shielded_signal_list(policy) == "10,12,15,2");
  policy.signals.checkpoint.clear();
  policy.signals.checkpoint_and_stop.clear();
  CHECK(shielded_signal_list(policy).empty());
}
