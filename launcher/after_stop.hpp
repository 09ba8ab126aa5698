#pragma once
// The after-stop hook: with CKPT_EXEC_AFTER_STOP=PROGRAM in its environment,
// ckpt-launch (and ckpt-restart), once a checkpoint-and-stop signal has
// stopped the group, exec PROGRAM instead of exiting:
//   PROGRAM --after-stop committed|failed GENERATION SIGNAL EXIT_CODE
// GENERATION is the newest committed one (0: none), EXIT_CODE what ckpt-launch
// would have exited with. The Slurm task wrapper uses it to requeue the job
// (slurm-plugin/ckpt_slurm_task_main.cpp); the program keeps our PID, so the
// scheduler still sees the task it started.

#include <optional>

#include "coordinator.hpp"

namespace ckpt::launcher {

inline constexpr const char* kAfterStopVariable = "CKPT_EXEC_AFTER_STOP";

// Returns exit_code when there is no report or no hook; otherwise does not
// return unless the exec fails (then says so and returns exit_code).
int run_after_stop_hook(const std::optional<engine::StopReport>& report, int exit_code, const char* program);

}  // namespace ckpt::launcher
