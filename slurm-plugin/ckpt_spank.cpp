// ckpt_spank.so: the Slurm SPANK plugin behind `srun/sbatch --ckpt-policy=FILE`.
//
// - srun/sbatch (local and allocator contexts): the option is checked at
//   submission by `ckpt-launch --check-policy`; a bad policy fails the
//   submission with the policy's one-line error and nothing runs.
// - slurmstepd, in each task right before exec (task_init): the task's
//   argv[0] becomes ckpt-slurm-task and the real program goes into
//   CKPT_SLURM_PROGRAM; ckpt-slurm-task then runs the task under ckpt, or
//   restarts it after a requeue (see ckpt_slurm_task_main.cpp).
// Without the option the plugin does nothing: jobs run exactly as before.
//
// Plugin arguments (plugstack.conf), all optional:
//   bindir=DIR          where ckpt-launch, ckpt-restart, ckpt-slurm-task are
//   default_policy=FILE what --ckpt-policy=default means
//   requeue_exit=N      exit with N (slurm.conf RequeueExit) instead of
//                       running `scontrol requeue` after a preemption
//
// C++ and SPANK (../shared/notes/slurm.md): the header is C, and the
// SPANK_PLUGIN() macro would give the symbols internal linkage in C++.
extern "C" {
#include <slurm/spank.h>
}

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "task_environment.hpp"

extern "C" {
extern const char plugin_name[] = "ckpt";
extern const char plugin_type[] = "spank";
extern const unsigned int plugin_version = SLURM_VERSION_NUMBER;
extern const unsigned int spank_plugin_version = 0;
}

namespace {

// SLURM_BATCH_SCRIPT of slurm/slurm.h, which does not build as C++.
constexpr uint32_t kBatchScriptStep = 0xfffffffb;

std::string tools_folder = CKPT_SPANK_DEFAULT_BINDIR;
std::string default_policy;
std::string requeue_exit;
std::string policy_option;  // empty: --ckpt-policy not given

int remember_policy(int, const char* argument, int) {
  // Called once per context, sometimes twice in slurmstepd: idempotent.
  policy_option = argument != nullptr ? argument : "";
  if (policy_option.empty()) {
    slurm_error("ckpt: --ckpt-policy needs a policy file (or \"default\")");
    return -1;
  }
  return 0;
}

struct spank_option policy_option_spec = {
    const_cast<char*>("ckpt-policy"), const_cast<char*>("FILE"),
    const_cast<char*>("Run each task under ckpt checkpoint/restart with the TOML policy FILE "
                      "(\"default\": the site's default policy); checkpoints on preemption, "
                      "restarts after requeue"),
    1, 0, remember_policy};

bool starts_with(const char* text, const char* prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

int read_arguments(int argc, char** argv) {
  for (int index = 0; index < argc; ++index) {
    const char* argument = argv[index];
    if (starts_with(argument, "bindir=")) {
      tools_folder = argument + strlen("bindir=");
    } else if (starts_with(argument, "default_policy=")) {
      default_policy = argument + strlen("default_policy=");
    } else if (starts_with(argument, "requeue_exit=")) {
      requeue_exit = argument + strlen("requeue_exit=");
      char* end = nullptr;
      const long value = strtol(requeue_exit.c_str(), &end, 10);
      if (requeue_exit.empty() || *end != '\0' || value < 1 || value > 255) {
        slurm_error("ckpt: plugstack.conf: requeue_exit=%s: expected a number from 1 to 255",
                    requeue_exit.c_str());
        return -1;
      }
    } else {
      slurm_error("ckpt: plugstack.conf: unknown argument '%s' (known: bindir=, default_policy=, requeue_exit=)",
                  argument);
      return -1;
    }
  }
  return 0;
}

// The policy file the option names ("default": the plugin's default_policy).
bool policy_file(std::string& file) {
  if (policy_option != "default") {
    file = policy_option;
    return true;
  }
  if (default_policy.empty()) {
    slurm_error("ckpt: --ckpt-policy=default, but this site set no default_policy= in plugstack.conf");
    return false;
  }
  file = default_policy;
  return true;
}

// Runs `ckpt-launch --check-policy --policy FILE -q`; its one-line error goes
// to the user's stderr.
bool policy_is_valid(const std::string& file) {
  const std::string launcher = tools_folder + "/ckpt-launch";
  const pid_t child = fork();
  if (child < 0) {
    slurm_error("ckpt: cannot check the policy: fork: %s", strerror(errno));
    return false;
  }
  if (child == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execl(launcher.c_str(), launcher.c_str(), "--check-policy", "--policy", file.c_str(),
          static_cast<char*>(nullptr));
    dprintf(STDERR_FILENO, "ckpt: cannot run %s: %s (bindir= in plugstack.conf)\n", launcher.c_str(),
            strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool set_task_environment(spank_t spank, const char* name, const std::string& value) {
  if (spank_setenv(spank, name, value.c_str(), 1) == ESPANK_SUCCESS) return true;
  slurm_error("ckpt: cannot set %s in the task", name);
  return false;
}

// The policy path as the task sees it: relative paths are taken from the
// task's working directory, else from the submission directory.
std::string absolute_policy_path(spank_t spank, const std::string& file) {
  if (!file.empty() && file[0] == '/') return file;
  char resolved[PATH_MAX];
  if (realpath(file.c_str(), resolved) != nullptr) return resolved;
  char submit_dir[PATH_MAX];
  if (spank_getenv(spank, "SLURM_SUBMIT_DIR", submit_dir, sizeof submit_dir) == ESPANK_SUCCESS) {
    return std::string(submit_dir) + "/" + file;
  }
  return file;
}

}  // namespace

extern "C" {

int slurm_spank_init(spank_t spank, int argc, char** argv) {
  if (read_arguments(argc, argv) != 0) return -1;
  if (spank_option_register(spank, &policy_option_spec) != ESPANK_SUCCESS) {
    slurm_error("ckpt: cannot register --ckpt-policy");
    return -1;
  }
  return 0;
}

// srun and sbatch: refuse a bad policy before anything runs.
int slurm_spank_init_post_opt(spank_t spank, int, char**) {
  if (policy_option.empty()) return 0;
  const spank_context_t context = spank_context();
  if (context != S_CTX_LOCAL && context != S_CTX_ALLOCATOR) return 0;
  if (context == S_CTX_LOCAL && getenv(ckpt::slurm::kInsideGroupVariable) != nullptr) {
    slurm_error(
        "ckpt: srun inside a batch script that runs under ckpt ([slurm] batch = \"script\"); "
        "set batch = \"steps\" in the policy to run srun steps under ckpt");
    return -1;
  }
  std::string file;
  if (!policy_file(file)) return -1;
  if (!policy_is_valid(file)) {
    slurm_error("ckpt: --ckpt-policy=%s: the policy is not usable; nothing was submitted", policy_option.c_str());
    return -1;
  }
  (void)spank;
  return 0;
}

// In the task process, right before exec: run it through ckpt-slurm-task.
int slurm_spank_task_init(spank_t spank, int, char**) {
  if (policy_option.empty()) return 0;
  std::string file;
  if (!policy_file(file)) return -1;
  int task_argc = 0;
  char** task_argv = nullptr;
  if (spank_get_item(spank, S_JOB_ARGV, &task_argc, &task_argv) != ESPANK_SUCCESS || task_argc < 1) {
    slurm_error("ckpt: cannot read the task's command");
    return -1;
  }
  uint32_t step = 0;
  if (spank_get_item(spank, S_JOB_STEPID, &step) != ESPANK_SUCCESS) {
    slurm_error("ckpt: cannot read the task's step id");
    return -1;
  }
  const bool batch = step == kBatchScriptStep;
  if (!set_task_environment(spank, ckpt::slurm::kProgramVariable, task_argv[0]) ||
      !set_task_environment(spank, ckpt::slurm::kPolicyVariable, absolute_policy_path(spank, file)) ||
      !set_task_environment(spank, ckpt::slurm::kStepKindVariable, batch ? "batch" : "step") ||
      (!requeue_exit.empty() && !set_task_environment(spank, ckpt::slurm::kRequeueExitVariable, requeue_exit))) {
    return -1;
  }
  // slurmstepd's own argv array: it cannot grow, but its first entry can
  // point elsewhere (Slurm 23.02 has spank_prepend_task_argv for this).
  static std::string wrapper;
  wrapper = tools_folder + "/ckpt-slurm-task";
  task_argv[0] = wrapper.data();
  return 0;
}

}  // extern "C"
