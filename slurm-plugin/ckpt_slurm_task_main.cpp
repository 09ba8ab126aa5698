// ckpt-slurm-task: the program a Slurm task becomes when the job asked for
// --ckpt-policy. The SPANK plugin (ckpt_spank.cpp) replaces the task's
// argv[0] with this program and puts the real one in CKPT_SLURM_PROGRAM.
//
// 1. As the task: runs it under ckpt-launch, or after a requeue restarts it
//    with ckpt-restart from the image's newest committed generation. It
//    execs them, so Slurm's signals reach the coordinator directly.
// 2. As ckpt-launch's after-stop program (`--after-stop ...`, see
//    launcher/after_stop.hpp): when Slurm preempts the job (or someone
//    requeues it) every process of the job gets SIGTERM; ckpt-launch
//    checkpoints and stops the group (the agent keeps the signal from the
//    applications) and execs us. We make sure the job is requeued instead
//    of ending COMPLETED: `scontrol requeue` once every task of the step
//    has stopped, or the plugin's requeue_exit status.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ckpt/policy/image_path.hpp"
#include "ckpt/policy/policy.hpp"
#include "image.hpp"
#include "slurm_task.hpp"

namespace fs = std::filesystem;
namespace slurm = ckpt::slurm;

namespace {

void say(const std::string& message) {
  const std::string line = "ckpt: " + message + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

[[noreturn]] void fail(const std::string& message, int code) {
  say(message);
  std::exit(code);
}

std::string environment(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

int environment_number(const char* name, int fallback) {
  try {
    const std::string text = environment(name);
    return text.empty() ? fallback : std::stoi(text);
  } catch (const std::exception&) {
    return fallback;
  }
}

ckpt::policy::Policy load_policy(const std::string& file) {
  try {
    return ckpt::policy::load_policy_file(file);
  } catch (const std::exception& error) {
    fail(error.what(), 2);
  }
}

std::optional<unsigned long long> committed_generation(const std::string& image_path) {
  if (!fs::exists(image_path)) return std::nullopt;
  try {
    const auto image = ckpt::image::Image::open(image_path);
    const auto chain = image.current_chain();
    if (chain.empty()) return std::nullopt;
    return chain.back().seq;
  } catch (const std::exception& error) {
    say(std::string("cannot read ") + image_path + ": " + error.what() + "; starting from the beginning");
    return std::nullopt;
  }
}

[[noreturn]] void exec_command(std::vector<std::string> command, bool search_path) {
  std::vector<char*> argv;
  for (auto& text : command) argv.push_back(text.data());
  argv.push_back(nullptr);
  if (search_path) {
    ::execvp(argv[0], argv.data());
  } else {
    ::execv(argv[0], argv.data());
  }
  fail("cannot run " + command[0] + ": " + std::strerror(errno), 127);
}

std::string job_and_task(bool batch) {
  return "job " + environment("SLURM_JOB_ID") + (batch ? " batch script" : " task " + environment("SLURM_PROCID", "0"));
}

// Where the tasks of a step say they stopped: next to task 0's image.
constexpr const char* kStopsFolderVariable = "CKPT_SLURM_STOPS";

std::string stops_folder(const slurm::TaskInputs& inputs) {
  ckpt::policy::PlaceholderValues first_task = ckpt::policy::placeholder_values_from_environment();
  first_task.task = "0";
  return ckpt::policy::expand_image_path(inputs.policy, first_task) + ".stops-" +
         environment("SLURM_STEP_ID", "batch") + "-" + std::to_string(inputs.restart_count);
}

// Mode 1: the task itself.
[[noreturn]] void run_task(int argc, char** argv) {
  const std::string program = environment(slurm::kProgramVariable);
  const std::string policy_file = environment(slurm::kPolicyVariable);
  if (program.empty() || policy_file.empty()) {
    fail("ckpt-slurm-task runs Slurm tasks for the ckpt SPANK plugin (srun --ckpt-policy=FILE); "
         "it is not meant to be started by hand",
         2);
  }
  slurm::TaskInputs inputs;
  const fs::path self = fs::canonical("/proc/self/exe");
  inputs.tools_folder = self.parent_path().string();
  inputs.policy_file = policy_file;
  inputs.batch_step = environment(slurm::kStepKindVariable) == "batch";
  inputs.restart_count = environment_number("SLURM_RESTART_COUNT", 0);
  inputs.program_and_args.push_back(program);
  for (int index = 1; index < argc; ++index) inputs.program_and_args.emplace_back(argv[index]);
  ::unsetenv(slurm::kProgramVariable);
  inputs.policy = load_policy(policy_file);
  // {name}: the policy's, else the program's file name as ckpt-launch
  // would take it; a batch script (slurmd's copy is "slurm_script") is
  // named after the job.
  if (!inputs.policy.job.name) {
    inputs.policy.job.name = inputs.batch_step ? environment("SLURM_JOB_NAME", "job")
                                               : fs::path(program).filename().string();
  }
  try {
    inputs.image =
        ckpt::policy::expand_image_path(inputs.policy, ckpt::policy::placeholder_values_from_environment());
  } catch (const std::exception& error) {
    fail(policy_file + ": storage.image: " + error.what(), 2);
  }
  const bool plain = inputs.batch_step && inputs.policy.slurm.batch == ckpt::policy::BatchMode::steps;
  if (!plain) inputs.committed_generation = committed_generation(inputs.image);
  const slurm::TaskPlan plan = slurm::plan_task(inputs);
  say(job_and_task(inputs.batch_step) + ": " + plan.summary);
  if (plan.action == slurm::TaskAction::run_plain) {
    ::unsetenv(slurm::kPolicyVariable);
    ::unsetenv(slurm::kStepKindVariable);
    exec_command(plan.command, true);
  }
  for (const auto& entry : plan.environment) {
    const auto equals = entry.find('=');
    ::setenv(entry.substr(0, equals).c_str(), entry.substr(equals + 1).c_str(), 1);
  }
  ::setenv(slurm::kAfterStopVariable, self.c_str(), 1);
  ::setenv(kStopsFolderVariable, stops_folder(inputs).c_str(), 1);
  exec_command(plan.command, false);
}

// Marks this task stopped; task 0 waits (bounded) for the others, so that
// the requeue does not kill a task whose checkpoint is still running.
void wait_for_sibling_stops(const std::string& folder, int task, int tasks, std::chrono::seconds limit) {
  std::error_code error;
  fs::create_directories(folder, error);
  std::ofstream(folder + "/task" + std::to_string(task)) << "stopped\n";
  if (task != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int stopped = 0;
    for (int other = 0; other < tasks; ++other) stopped += fs::exists(folder + "/task" + std::to_string(other));
    if (stopped >= tasks) break;
    if (std::chrono::steady_clock::now() > deadline) {
      say(std::to_string(tasks - stopped) + " task(s) of the step did not stop in time; requeueing anyway");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fs::remove_all(folder, error);
}

// JobState of `scontrol show job -o JOB` ("RUNNING", "CANCELLED", ...),
// empty if it cannot be read.
std::string job_state(const std::string& job) {
  const std::string command = "scontrol show job -o " + job + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string text;
  char buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, got);
  ::pclose(pipe);
  const auto start = text.find("JobState=");
  if (start == std::string::npos) return "";
  const auto end = text.find_first_of(" \n", start);
  return text.substr(start + 9, end == std::string::npos ? std::string::npos : end - start - 9);
}

int requeue_job(int exit_code) {
  const std::string job = environment("SLURM_JOB_ID");
  // scancel and `scontrol requeue` send the same SIGTERM as a preemption,
  // but then the job is already ending (COMPLETING): a cancelled job stays
  // cancelled (Slurm would requeue it while it completes), a requeued one
  // comes back anyway. Preemption, --signal and scancel --signal leave it
  // RUNNING.
  const std::string state = job_state(job);
  if (!state.empty() && state != "RUNNING") {
    say("job " + job + " is " + state + " (cancelled, or requeued by someone): not requeueing it; the image " +
        "stays for a requeue or ckpt-restart");
    return exit_code;
  }
  const std::string requeue_exit = environment(slurm::kRequeueExitVariable);
  if (!requeue_exit.empty()) {
    say("exiting with status " + requeue_exit + " (RequeueExit) so that Slurm requeues the job");
    return std::atoi(requeue_exit.c_str());
  }
  say("requeueing job " + job);
  const pid_t child = ::fork();
  if (child == 0) {
    ::execlp("scontrol", "scontrol", "requeue", job.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (child < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // Also when Slurm is requeueing the job already (scontrol requeue by
    // someone, preemption): then the job comes back anyway.
    say("`scontrol requeue " + job + "` did not requeue the job (see above): fine if it is being requeued "
        "already, else is it requeueable (sbatch --requeue, JobRequeue=1)?");
  }
  return exit_code;
}

// Mode 2: ckpt-launch stopped the group on a signal.
int after_stop(char** argv) {
  const bool committed = std::strcmp(argv[2], "committed") == 0;
  const std::string generation = argv[3];
  const int signal = std::atoi(argv[4]);
  const int exit_code = std::atoi(argv[5]);
  const ckpt::policy::Policy policy = load_policy(environment(slurm::kPolicyVariable));
  const bool batch = environment(slurm::kStepKindVariable) == "batch";
  const std::string signal_name = strsignal(signal);
  if (!committed && policy.slurm.on_failed_checkpoint == ckpt::policy::FailedCheckpointAction::end) {
    say(job_and_task(batch) + ": the checkpoint on " + signal_name +
        " failed; not requeueing ([slurm] on_failed_checkpoint = \"end\")");
    return exit_code;
  }
  say(job_and_task(batch) + ": " +
      (committed ? "checkpoint " + generation + " committed on " + signal_name
                 : "the checkpoint on " + signal_name + " failed; " +
                       (generation == "0" ? "no checkpoint to restart from"
                                          : "generation " + generation + " stays the restart point")));
  const int tasks = batch ? 1 : environment_number("SLURM_STEP_NUM_TASKS", 1);
  const int task = batch ? 0 : environment_number("SLURM_PROCID", 0);
  const auto limit =
      std::chrono::duration_cast<std::chrono::seconds>(ckpt::policy::effective_stop_timeout(policy));
  wait_for_sibling_stops(environment(kStopsFolderVariable), task, tasks, limit + std::chrono::seconds(5));
  if (task != 0) return exit_code;
  return requeue_job(exit_code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "--after-stop") == 0) return after_stop(argv);
  run_task(argc, argv);
}
