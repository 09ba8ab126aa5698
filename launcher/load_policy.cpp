#include "load_policy.hpp"

namespace ckpt::launcher {

std::string policy_source_name(const PolicySources& sources) {
  return sources.policy_file ? sources.policy_file->string() : "built-in default policy";
}

policy::Policy load_effective_policy(const PolicySources& sources) {
  policy::Policy effective = sources.policy_file ? policy::load_policy_file(*sources.policy_file)
                                                 : policy::default_policy();
  if (sources.interval) policy::override_interval(effective, *sources.interval, "--interval");
  if (sources.image) policy::override_image(effective, *sources.image, "--image");

  if (sources.command.empty()) return effective;
  if (!effective.groups.empty()) {
    throw policy::PolicyError(policy_source_name(sources) +
                              ": the policy has [[group]] tables, so it takes no command after "
                              "'--'; add the command to a [[group.app]] or drop the groups");
  }
  if (sources.command.front().empty())
    throw policy::PolicyError("--: the command must not be empty");
  policy::App app;
  app.command = sources.command.front();
  app.args.assign(sources.command.begin() + 1, sources.command.end());
  effective.groups.push_back({std::string(kCommandGroupName), {std::move(app)}});
  return effective;
}

}  // namespace ckpt::launcher
