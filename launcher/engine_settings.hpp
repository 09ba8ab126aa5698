// From a validated policy to what the coordinator runs with.
#pragma once

#include <stdexcept>
#include <string>

#include "ckpt/policy/policy.hpp"
#include "coordinator.hpp"

namespace ckpt::launcher {

// What the policy asks for cannot run on this machine (exit code
// kExitNotAvailable), e.g. a dirty-page engine the kernel lacks.
class NotAvailableHere : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The dirty-page engine for the policy's `dirty_tracking`: `auto` takes
// uffd-wp when the kernel has it, else hash. Throws NotAvailableHere for
// an engine the kernel lacks (soft-dirty is not built: refused as well).
engine::DirtyEngine choose_dirty_engine(policy::DirtyTracking tracking);

// `program` prefixes the coordinator's messages (ckpt-launch, ckpt-restart).
// Throws NotAvailableHere (see choose_dirty_engine).
engine::CoordinatorSettings coordinator_settings(const policy::Policy& policy,
                                                 const std::string& image_path,
                                                 const std::string& program);

// The image path: the policy's template expanded with Slurm/host values.
std::string image_path_of(const policy::Policy& policy);

// The applications of the policy's group, launched and checkpointed
// together. Throws policy::PolicyError when the policy has several groups
// (one ckpt-launch runs one group).
std::vector<engine::AppCommand> group_applications(const policy::Policy& policy);

}  // namespace ckpt::launcher
