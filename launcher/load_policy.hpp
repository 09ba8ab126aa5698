#pragma once
// The policy a launch runs with, from the policy file (or the built-in
// default), the command-line overrides and the command. Shared by
// ckpt-launch and, later, the checkpoint engine.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/policy/policy.hpp"

namespace ckpt::launcher {

// The group a command given after "--" becomes.
inline constexpr std::string_view kCommandGroupName = "main";

struct PolicySources {
  std::optional<std::filesystem::path> policy_file;  // std::nullopt: the built-in default
  std::optional<std::string> image;                  // --image
  std::optional<std::string> interval;               // --interval
  std::vector<std::string> command;                  // after "--", may be empty
};

// How messages name the policy: the file name, or "built-in default policy".
std::string policy_source_name(const PolicySources& sources);

// Loads the file or the default, applies --interval and --image, and turns
// the command into group "main" when the policy has no [[group]]. A command
// together with [[group]] tables is an error. Throws policy::PolicyError.
policy::Policy load_effective_policy(const PolicySources& sources);

}  // namespace ckpt::launcher
