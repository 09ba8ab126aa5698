// Policy -> canonical TOML: every key in schema order, one spelling per value.

#include <cstdio>
#include <sstream>

#include "ckpt/policy/enum_names.hpp"
#include "ckpt/policy/policy.hpp"
#include "ckpt/policy/signals.hpp"

namespace ckpt::policy {
namespace {

// A TOML basic string.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + '"';
}

// A bare key where TOML allows one, else a quoted key.
std::string key(std::string_view name) {
  const bool bare = !name.empty() && name.find_first_not_of(
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_-") == std::string_view::npos;
  return bare ? std::string(name) : toml_string(name);
}

template <typename Items, typename Format>
std::string array(const Items& items, Format&& format) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ", ";
    out += format(item);
  }
  return out + ']';
}

std::string string_array(const std::vector<std::string>& items) {
  return array(items, [](const std::string& item) { return toml_string(item); });
}

std::string signal_array(const std::vector<int>& signals) {
  return array(signals, [](int number) { return toml_string(signal_name(number)); });
}

void print_app(std::ostream& out, const App& app) {
  out << "\n[[group.app]]\n";
  out << "command = " << toml_string(app.command) << '\n';
  if (!app.args.empty()) out << "args = " << string_array(app.args) << '\n';
  if (!app.env.empty()) {
    out << "env = { ";
    bool first = true;
    for (const auto& [variable, value] : app.env) {
      out << (first ? "" : ", ") << key(variable) << " = " << toml_string(value);
      first = false;
    }
    out << " }\n";
  }
  if (app.cwd) out << "cwd = " << toml_string(*app.cwd) << '\n';
}

}  // namespace

std::string print_policy(const Policy& policy) {
  std::ostringstream out;
  out << "# ckpt policy; every key is described in ckpt-launch(1) and docs/policy.md\n";
  out << "version = " << kSchemaVersion << "\n";

  out << "\n[job]\n";
  if (policy.job.name) {
    out << "name = " << toml_string(*policy.job.name) << '\n';
  } else {
    out << "# name: not set, so the file name of the first command is used\n";
  }

  const auto& checkpoint = policy.checkpoint;
  out << "\n[checkpoint]\n";
  out << "interval = " << toml_string(format_duration_or_off(checkpoint.interval)) << '\n';
  out << "timeout = " << toml_string(format_duration(checkpoint.timeout)) << '\n';
  out << "incremental_depth = " << checkpoint.incremental_depth << '\n';
  out << "after_chain = " << toml_string(to_string(checkpoint.after_chain)) << '\n';
  out << "dirty_tracking = " << toml_string(to_string(checkpoint.dirty_tracking)) << '\n';
  out << "compression = " << toml_string(to_string(checkpoint.compression)) << '\n';
  if (checkpoint.compression == Compression::zstd) {
    out << "compression_level = " << checkpoint.compression_level << '\n';
  }

  out << "\n[signals]\n";
  out << "checkpoint = " << signal_array(policy.signals.checkpoint) << '\n';
  out << "checkpoint_and_stop = " << signal_array(policy.signals.checkpoint_and_stop) << '\n';
  out << "stop_timeout = " << toml_string(format_duration_or_off(policy.signals.stop_timeout))
      << '\n';

  const auto& storage = policy.storage;
  out << "\n[storage]\n";
  out << "image = " << toml_string(storage.image) << '\n';
  out << "keep_full = " << storage.keep_full << '\n';
  out << "include = " << string_array(storage.include) << '\n';
  out << "exclude = " << string_array(storage.exclude) << '\n';
  out << "on_external_change = " << toml_string(to_string(storage.on_external_change)) << '\n';

  out << "\n[slurm]\n";
  out << "batch = " << toml_string(to_string(policy.slurm.batch)) << '\n';
  out << "on_failed_checkpoint = " << toml_string(to_string(policy.slurm.on_failed_checkpoint))
      << '\n';

  if (policy.groups.empty()) {
    out << "\n# No [[group]]: ckpt-launch runs the command given after '--'.\n";
  }
  for (const auto& group : policy.groups) {
    out << "\n[[group]]\n";
    out << "name = " << toml_string(group.name) << '\n';
    for (const auto& app : group.apps) print_app(out, app);
  }
  return out.str();
}

}  // namespace ckpt::policy
