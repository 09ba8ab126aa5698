#pragma once
// The environment variables between ckpt_spank.so, ckpt-slurm-task and the
// tools they start: one spelling for the plugin (which links nothing of
// ours) and the task wrapper.

namespace ckpt::slurm {

// The environment the SPANK plugin prepares in the task (see ckpt_spank.cpp).
inline constexpr const char* kProgramVariable = "CKPT_SLURM_PROGRAM";   // the task's own argv[0]
inline constexpr const char* kPolicyVariable = "CKPT_SLURM_POLICY";     // the policy file
inline constexpr const char* kStepKindVariable = "CKPT_SLURM_STEP";     // "batch" or "step"
inline constexpr const char* kRequeueExitVariable = "CKPT_SLURM_REQUEUE_EXIT";
// Set inside a batch script that runs under ckpt: an srun there is refused.
inline constexpr const char* kInsideGroupVariable = "CKPT_SLURM_GROUP";
// Read by the agent: policy signals sent from outside the group are the
// scheduler's, meant for ckpt-launch, and are kept from the applications.
inline constexpr const char* kShieldSignalsVariable = "CKPT_SHIELD_SIGNALS";
// ckpt-launch execs this program after a checkpoint-and-stop (after_stop.hpp).
inline constexpr const char* kAfterStopVariable = "CKPT_EXEC_AFTER_STOP";

}  // namespace ckpt::slurm
