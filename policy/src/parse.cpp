// Policy text -> validated Policy. The schema walk lives here; typed access
// with error positions is in toml_reader.hpp.

#include <algorithm>
#include <cctype>
#include <limits>

#include "ckpt/policy/image_path.hpp"
#include "ckpt/policy/policy.hpp"
#include "ckpt/policy/signals.hpp"
#include "toml_reader.hpp"
#include "value_checks.hpp"

namespace ckpt::policy {
namespace {

using detail::ErrorReporter;
using detail::Field;
using detail::TableReader;

constexpr std::string_view kTopLevelKeys[] = {"version", "job",   "checkpoint", "signals",
                                              "storage", "slurm", "group"};
constexpr std::string_view kJobKeys[] = {"name"};
constexpr std::string_view kCheckpointKeys[] = {
    "interval",       "timeout",     "incremental_depth", "after_chain",
    "dirty_tracking", "compression", "compression_level"};
constexpr std::string_view kSignalKeys[] = {"checkpoint", "checkpoint_and_stop", "stop_timeout"};
constexpr std::string_view kStorageKeys[] = {"image", "keep_full", "include", "exclude",
                                             "on_external_change"};
constexpr std::string_view kSlurmKeys[] = {"batch", "on_failed_checkpoint"};
constexpr std::string_view kGroupKeys[] = {"name", "app"};
constexpr std::string_view kAppKeys[] = {"command", "args", "env", "cwd"};

constexpr std::string_view kDurationExpectation = "a string (duration like \"15m\")";
constexpr std::int64_t kMostIncrementals = 1000;
constexpr std::int64_t kMostFullChainsKept = 1000;
constexpr std::int64_t kLowestZstdLevel = 1;
constexpr std::int64_t kHighestZstdLevel = 19;

template <typename Value>
bool contains(const std::vector<Value>& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

void read_version(const TableReader& top) {
  const Field version = top.required("version", "(start the file with \"version = 1\")");
  const std::int64_t number = version.integer(std::numeric_limits<std::int64_t>::min(),
                                              std::numeric_limits<std::int64_t>::max());
  if (number > kSchemaVersion) {
    version.fail("this policy needs schema version " + std::to_string(number) +
                 ", but this ckpt reads only version " + std::to_string(kSchemaVersion) +
                 "; use a newer ckpt or write a version " + std::to_string(kSchemaVersion) +
                 " policy");
  }
  if (number < kSchemaVersion) {
    version.fail("there is no schema version " + std::to_string(number) +
                 "; write version = " + std::to_string(kSchemaVersion));
  }
}

void read_job(const TableReader& job, JobSettings& settings) {
  job.reject_unknown_keys(kJobKeys);
  if (const auto name = job.field("name")) {
    settings.name = name->string();
    name->checked([&] { detail::check_name(*settings.name); });
  }
}

void read_checkpoint(const TableReader& checkpoint, CheckpointSettings& settings) {
  checkpoint.reject_unknown_keys(kCheckpointKeys);
  if (const auto interval = checkpoint.field("interval")) {
    const std::string text = interval->string(kDurationExpectation);
    settings.interval = interval->checked([&] { return detail::checked_interval(text); });
  }
  if (const auto timeout = checkpoint.field("timeout")) {
    const std::string text = timeout->string(kDurationExpectation);
    settings.timeout = timeout->checked([&] { return detail::checked_timeout(text); });
  }
  const auto depth = checkpoint.field("incremental_depth");
  if (depth) settings.incremental_depth = static_cast<int>(depth->integer(0, kMostIncrementals));
  if (const auto after_chain = checkpoint.field("after_chain")) {
    settings.after_chain = after_chain->enumeration<AfterChain>();
  }
  if (const auto tracking = checkpoint.field("dirty_tracking")) {
    settings.dirty_tracking = tracking->enumeration<DirtyTracking>();
    if (settings.dirty_tracking == DirtyTracking::none && settings.incremental_depth > 0) {
      tracking->fail(
          "\"none\" finds no changed pages, so every checkpoint is full; set "
          "incremental_depth = 0 as well");
    }
  }
  if (const auto compression = checkpoint.field("compression")) {
    settings.compression = compression->enumeration<Compression>();
  }
  if (const auto level = checkpoint.field("compression_level")) {
    settings.compression_level =
        static_cast<int>(level->integer(kLowestZstdLevel, kHighestZstdLevel));
    if (settings.compression != Compression::zstd) {
      level->fail("only zstd has levels, but compression = \"" +
                  std::string(to_string(settings.compression)) + "\"");
    }
  }
}

// other_list: the list already read from the other key, which must not
// share a signal with this one.
std::vector<int> read_signal_list(const Field& list, const std::vector<int>& other_list,
                                  std::string_view other_key) {
  std::vector<int> signals;
  for (const auto& element : list.array_elements("an array of signal names")) {
    const std::string name = element.string("a signal name like \"SIGTERM\"");
    const auto number = signal_from_name(name);
    if (!number) {
      element.fail("unknown signal \"" + name +
                   "\" (write e.g. \"SIGTERM\", \"USR1\", \"SIGRTMIN+3\")");
    }
    if (const auto why_not = why_not_a_trigger_signal(*number)) element.fail(*why_not);
    if (contains(signals, *number)) element.fail(signal_name(*number) + " is listed twice");
    if (contains(other_list, *number)) {
      element.fail(signal_name(*number) + " is also in " + std::string(other_key) +
                   "; a signal can do only one thing");
    }
    signals.push_back(*number);
  }
  return signals;
}

void read_signals(const TableReader& signals, SignalSettings& settings) {
  signals.reject_unknown_keys(kSignalKeys);
  if (const auto list = signals.field("checkpoint")) {
    settings.checkpoint = read_signal_list(*list, {}, {});
  }
  if (const auto list = signals.field("checkpoint_and_stop")) {
    settings.checkpoint_and_stop =
        read_signal_list(*list, settings.checkpoint, "signals.checkpoint");
  }
  if (const auto stop_timeout = signals.field("stop_timeout")) {
    const std::string text = stop_timeout->string(kDurationExpectation);
    settings.stop_timeout =
        stop_timeout->checked([&] { return detail::checked_stop_timeout(text); });
  }
}

// other_list: the list already read from the other key, which must not
// share a path with this one.
std::vector<std::string> read_path_list(const Field& list,
                                        const std::vector<std::string>& other_list,
                                        std::string_view other_key) {
  std::vector<std::string> paths;
  for (const auto& element : list.array_elements("an array of paths")) {
    std::string path = element.string("a path");
    if (path.empty()) element.fail("a path must not be empty");
    if (contains(paths, path)) element.fail("\"" + path + "\" is listed twice");
    if (contains(other_list, path)) {
      element.fail("\"" + path + "\" is also in " + std::string(other_key));
    }
    paths.push_back(std::move(path));
  }
  return paths;
}

void read_storage(const TableReader& storage, StorageSettings& settings) {
  storage.reject_unknown_keys(kStorageKeys);
  if (const auto image = storage.field("image")) {
    settings.image = image->string("a string (path template)");
    image->checked([&] { check_image_template(settings.image); });
  }
  if (const auto keep_full = storage.field("keep_full")) {
    settings.keep_full = static_cast<int>(keep_full->integer(1, kMostFullChainsKept));
  }
  if (const auto include = storage.field("include")) {
    settings.include = read_path_list(*include, {}, {});
  }
  if (const auto exclude = storage.field("exclude")) {
    settings.exclude = read_path_list(*exclude, settings.include, "storage.include");
  }
  if (const auto action = storage.field("on_external_change")) {
    settings.on_external_change = action->enumeration<ExternalChangeAction>();
  }
}

void read_slurm(const TableReader& slurm, SlurmSettings& settings) {
  slurm.reject_unknown_keys(kSlurmKeys);
  if (const auto batch = slurm.field("batch")) settings.batch = batch->enumeration<BatchMode>();
  if (const auto action = slurm.field("on_failed_checkpoint")) {
    settings.on_failed_checkpoint = action->enumeration<FailedCheckpointAction>();
  }
}

App read_app(const TableReader& table, const ErrorReporter& errors) {
  table.reject_unknown_keys(kAppKeys);
  App app;
  const Field command = table.required("command");
  app.command = command.string();
  if (app.command.empty()) command.fail("the command must not be empty");
  if (const auto args = table.field("args")) app.args = args->strings();
  if (const auto env = table.field("env")) {
    env->table("[group.app.env]")
        .for_each_entry([&](const toml::source_position& where, const std::string& variable,
                            const Field& value) {
          if (variable.empty() || variable.find('=') != std::string::npos ||
              variable.find('\0') != std::string::npos) {
            errors.fail_at(where, env->path() + ": \"" + variable +
                                      "\" is not a usable environment variable name");
          }
          app.env[variable] = value.string();
        });
  }
  if (const auto cwd = table.field("cwd")) {
    app.cwd = cwd->string("a string (directory)");
    if (app.cwd->empty()) cwd->fail("must not be empty; leave cwd out to use the launch directory");
  }
  return app;
}

Group read_group(const TableReader& table, const ErrorReporter& errors) {
  table.reject_unknown_keys(kGroupKeys);
  Group group;
  const Field name = table.required("name");
  group.name = name.string();
  name.checked([&] { detail::check_name(group.name); });

  const auto apps = table.field("app");
  if (!apps) table.fail("group \"" + group.name + "\" has no [[group.app]]; add at least one");
  const auto app_fields = apps->array_elements("an array of tables ([[group.app]])");
  if (app_fields.empty()) apps->fail("group \"" + group.name + "\" needs at least one app");
  for (const auto& app : app_fields)
    group.apps.push_back(read_app(app.table("[[group.app]]"), errors));
  return group;
}

std::vector<Group> read_groups(const Field& groups_field, const ErrorReporter& errors) {
  std::vector<Group> groups;
  const auto group_fields = groups_field.array_elements("an array of tables ([[group]])");
  for (const auto& group_field : group_fields) {
    Group group = read_group(group_field.table("[[group]]"), errors);
    for (std::size_t earlier = 0; earlier < groups.size(); ++earlier) {
      if (groups[earlier].name == group.name) {
        group_field.fail("the group name \"" + group.name + "\" is already used by group[" +
                         std::to_string(earlier) + "]");
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace

Policy parse_policy(std::string_view toml_text, std::string_view source_name) {
  const ErrorReporter errors(source_name);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& error) {
    std::string description(error.description());
    if (!description.empty()) description[0] = static_cast<char>(std::tolower(description[0]));
    errors.fail_at(error.source().begin, "invalid TOML: " + description);
  }

  const TableReader top(root, "", "at the top level", errors);
  read_version(top);  // before the keys: a newer schema may have keys this one lacks
  top.reject_unknown_keys(kTopLevelKeys);

  Policy policy = default_policy();
  if (const auto job = top.field("job")) read_job(job->table("[job]"), policy.job);
  if (const auto checkpoint = top.field("checkpoint")) {
    read_checkpoint(checkpoint->table("[checkpoint]"), policy.checkpoint);
  }
  if (const auto signals = top.field("signals")) {
    read_signals(signals->table("[signals]"), policy.signals);
  }
  if (const auto storage = top.field("storage")) {
    read_storage(storage->table("[storage]"), policy.storage);
  }
  if (const auto slurm = top.field("slurm")) read_slurm(slurm->table("[slurm]"), policy.slurm);
  if (const auto groups = top.field("group")) policy.groups = read_groups(*groups, errors);
  return policy;
}

}  // namespace ckpt::policy
