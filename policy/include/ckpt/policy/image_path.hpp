#pragma once
// The image path template of [storage] image, e.g. "ckpt/{name}-{job}.{task}.h5".
// Placeholders: {name} (job name), {job} (Slurm job id or "local"), {step}
// (Slurm step id or "0"), {task} (Slurm task rank or "0"), {node} (Slurm node
// name or the host name), {user} (the user name).

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/policy/policy.hpp"

namespace ckpt::policy {

// Placeholder names without braces, in documentation order.
inline constexpr std::string_view kImagePlaceholders[] = {"name", "job",  "step",
                                                          "task", "node", "user"};

// The values of the placeholders other than {name}, which comes from the
// policy. The defaults are those outside Slurm.
struct PlaceholderValues {
  std::string job = "local";
  std::string step = "0";
  std::string task = "0";
  std::string node;
  std::string user;

  bool operator==(const PlaceholderValues&) const = default;
};

// Looks up one environment variable; std::nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the process environment.
std::optional<std::string> process_environment(const std::string& name);

// job = SLURM_JOB_ID, step = SLURM_STEP_ID, task = SLURM_PROCID,
// node = SLURMD_NODENAME; each unset (not under Slurm) falls back to "local",
// "0", "0" and the host name. user is the name of the effective user
// (from the user database, else $USER, else the numeric uid).
PlaceholderValues placeholder_values_from_environment(
    const EnvironmentLookup& lookup = process_environment);

// Throws std::invalid_argument naming the problem (unknown placeholder with
// a suggestion, unmatched brace, empty template) if the template is unusable.
void check_image_template(std::string_view image_template);

// Replaces every placeholder of policy.storage.image.
std::string expand_image_path(const Policy& policy, const PlaceholderValues& values);

}  // namespace ckpt::policy
