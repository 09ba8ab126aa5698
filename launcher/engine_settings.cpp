#include "engine_settings.hpp"

#include <filesystem>

#include "ckpt/policy/image_path.hpp"
#include "dirty_engine_probe.hpp"

namespace ckpt::launcher {

std::string image_path_of(const policy::Policy& policy) {
  return policy::expand_image_path(policy, policy::placeholder_values_from_environment());
}

engine::DirtyEngine choose_dirty_engine(policy::DirtyTracking tracking) {
  switch (tracking) {
    case policy::DirtyTracking::automatic:
      return engine::uffd_wp_unavailable().empty() ? engine::DirtyEngine::kUffdWp : engine::DirtyEngine::kHash;
    case policy::DirtyTracking::uffd_wp:
      if (const std::string why = engine::uffd_wp_unavailable(); !why.empty()) {
        throw NotAvailableHere("dirty_tracking = \"uffd-wp\" is not available on this machine: " + why +
                               "; use \"auto\" or \"hash\"");
      }
      return engine::DirtyEngine::kUffdWp;
    case policy::DirtyTracking::soft_dirty: {
      const std::string why = engine::soft_dirty_unavailable();
      throw NotAvailableHere("dirty_tracking = \"soft-dirty\" is not available: " +
                             (why.empty() ? std::string("this version of ckpt does not implement it") : why) +
                             "; use \"auto\", \"uffd-wp\" or \"hash\"");
    }
    case policy::DirtyTracking::mprotect:
      return engine::DirtyEngine::kMprotect;
    case policy::DirtyTracking::hash:
    case policy::DirtyTracking::none:
      break;
  }
  return engine::DirtyEngine::kHash;
}

engine::CoordinatorSettings coordinator_settings(const policy::Policy& policy,
                                                 const std::string& image_path,
                                                 const std::string& program) {
  engine::CoordinatorSettings settings;
  settings.image_path = image_path;
  settings.job_name = policy::resolve_job_name(policy);
  settings.policy_text = policy::print_policy(policy);
  if (policy.checkpoint.interval) {
    settings.interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(*policy.checkpoint.interval);
  }
  settings.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(policy.checkpoint.timeout);
  if (policy.signals.stop_timeout) {
    settings.stop_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*policy.signals.stop_timeout);
  }
  settings.checkpoint_signals = policy.signals.checkpoint;
  settings.checkpoint_and_stop_signals = policy.signals.checkpoint_and_stop;
  switch (policy.checkpoint.compression) {
    case policy::Compression::lz4:
      settings.codec = image::Codec::kLz4;
      break;
    case policy::Compression::zstd:
      settings.codec = image::Codec::kZstd;
      break;
    case policy::Compression::none:
      settings.codec = image::Codec::kNone;
      break;
  }
  settings.compression_level = policy.checkpoint.compression_level;
  settings.keep_full = static_cast<std::uint64_t>(policy.storage.keep_full);
  // "none" keeps every generation full.
  settings.dirty_engine = choose_dirty_engine(policy.checkpoint.dirty_tracking);
  settings.merge_after_chain = policy.checkpoint.after_chain == policy::AfterChain::merge;
  settings.incremental_depth = policy.checkpoint.dirty_tracking == policy::DirtyTracking::none
                                   ? 0
                                   : static_cast<std::uint64_t>(policy.checkpoint.incremental_depth);
  settings.program = program;
  switch (policy.storage.on_external_change) {
    case policy::ExternalChangeAction::rollback:
      settings.on_external_change = engine::ExternalChange::kRollBack;
      break;
    case policy::ExternalChangeAction::keep:
      settings.on_external_change = engine::ExternalChange::kKeep;
      break;
    case policy::ExternalChangeAction::refuse:
      settings.on_external_change = engine::ExternalChange::kRefuse;
      break;
  }
  // Storage paths are relative to where ckpt-launch (or ckpt-restart) runs.
  for (const auto& path : policy.storage.include) {
    settings.storage_include.push_back(std::filesystem::absolute(path).lexically_normal().string());
  }
  for (const auto& path : policy.storage.exclude) {
    settings.storage_exclude.push_back(std::filesystem::absolute(path).lexically_normal().string());
  }
  return settings;
}

std::vector<engine::AppCommand> group_applications(const policy::Policy& policy) {
  if (policy.groups.size() != 1) {
    throw policy::PolicyError("the policy has " + std::to_string(policy.groups.size()) +
                              " groups; one ckpt-launch runs one group (start one per group)");
  }
  std::vector<engine::AppCommand> commands;
  for (const policy::App& app : policy.groups.front().apps) {
    engine::AppCommand command;
    command.argv.push_back(app.command);
    command.argv.insert(command.argv.end(), app.args.begin(), app.args.end());
    for (const auto& [name, value] : app.env) command.extra_environment.push_back(name + "=" + value);
    command.cwd = app.cwd.value_or("");
    commands.push_back(std::move(command));
  }
  return commands;
}

}  // namespace ckpt::launcher
