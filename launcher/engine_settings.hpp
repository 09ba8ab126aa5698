// From a validated policy to what the coordinator runs with.
#pragma once

#include <string>

#include "ckpt/policy/policy.hpp"
#include "coordinator.hpp"

namespace ckpt::launcher {

// `program` prefixes the coordinator's messages (ckpt-launch, ckpt-restart).
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
