#include <filesystem>

#include "ckpt/policy/policy.hpp"

namespace ckpt::policy {

// The defaults are the member initialisers in policy.hpp, so that the types
// and the built-in policy cannot drift apart; docs/policy.md lists them.
Policy default_policy() {
  return Policy{};
}

std::string resolve_job_name(const Policy& policy) {
  if (policy.job.name) return *policy.job.name;
  for (const auto& group : policy.groups) {
    for (const auto& app : group.apps) {
      const std::string file_name = std::filesystem::path(app.command).filename().string();
      if (!file_name.empty() && file_name != "." && file_name != "..") return file_name;
    }
  }
  return "job";
}

Duration effective_stop_timeout(const Policy& policy) {
  return policy.signals.stop_timeout.value_or(policy.checkpoint.timeout);
}

}  // namespace ckpt::policy
