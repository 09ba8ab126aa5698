#include "ckpt/policy/image_path.hpp"

#include <pwd.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <stdexcept>

#include "ckpt/policy/suggest.hpp"

namespace ckpt::policy {
namespace {

std::string known_placeholder_list() {
  std::string list;
  for (const auto name : kImagePlaceholders) {
    if (!list.empty()) list += ' ';
    list += '{';
    list += name;
    list += '}';
  }
  return list;
}

// Splits the template into literal text and placeholder names, calling
// on_text / on_placeholder in order. Throws std::invalid_argument.
template <typename OnText, typename OnPlaceholder>
void scan_template(std::string_view image_template, OnText&& on_text,
                   OnPlaceholder&& on_placeholder) {
  if (image_template.empty()) throw std::invalid_argument("the image path must not be empty");
  std::size_t position = 0;
  while (position < image_template.size()) {
    const std::size_t brace = image_template.find_first_of("{}", position);
    on_text(image_template.substr(position, brace - position));
    if (brace == std::string_view::npos) return;
    if (image_template[brace] == '}') {
      throw std::invalid_argument("unmatched '}' at character " + std::to_string(brace + 1));
    }
    const std::size_t close = image_template.find_first_of("{}", brace + 1);
    if (close == std::string_view::npos || image_template[close] == '{') {
      throw std::invalid_argument("unmatched '{' at character " + std::to_string(brace + 1));
    }
    const std::string_view name = image_template.substr(brace + 1, close - brace - 1);
    bool known = false;
    for (const auto candidate : kImagePlaceholders) known = known || candidate == name;
    if (!known) {
      std::string message = "unknown placeholder '{" + std::string(name) +
                            "}' (known: " + known_placeholder_list() + ")";
      if (const auto suggestion = closest_match(name, kImagePlaceholders)) {
        message += "; did you mean '{" + std::string(*suggestion) + "}'?";
      }
      throw std::invalid_argument(message);
    }
    on_placeholder(name);
    position = close + 1;
  }
}

std::string host_name() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0) return "localhost";
  return buffer.data();
}

std::string user_name(const EnvironmentLookup& lookup) {
  const uid_t uid = geteuid();
  // getpwuid_r with a buffer owned here; the record is not kept.
  std::array<char, 4096> buffer{};
  passwd record{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &record, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0') {
    return found->pw_name;
  }
  if (auto from_environment = lookup("USER"); from_environment && !from_environment->empty()) {
    return *from_environment;
  }
  return std::to_string(uid);
}

}  // namespace

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

PlaceholderValues placeholder_values_from_environment(const EnvironmentLookup& lookup) {
  PlaceholderValues values;  // starts with the values outside Slurm
  const auto replace_if_set = [&](const char* variable, std::string& value) {
    if (auto found = lookup(variable); found && !found->empty()) value = std::move(*found);
  };
  replace_if_set("SLURM_JOB_ID", values.job);
  replace_if_set("SLURM_STEP_ID", values.step);
  replace_if_set("SLURM_PROCID", values.task);
  replace_if_set("SLURMD_NODENAME", values.node);
  if (values.node.empty()) values.node = host_name();
  values.user = user_name(lookup);
  return values;
}

void check_image_template(std::string_view image_template) {
  scan_template(
      image_template, [](std::string_view) {}, [](std::string_view) {});
}

std::string expand_image_path(const Policy& policy, const PlaceholderValues& values) {
  const std::string job_name = resolve_job_name(policy);
  std::string path;
  const auto append_value = [&](std::string_view placeholder) {
    if (placeholder == "name") path += job_name;
    if (placeholder == "job") path += values.job;
    if (placeholder == "step") path += values.step;
    if (placeholder == "task") path += values.task;
    if (placeholder == "node") path += values.node;
    if (placeholder == "user") path += values.user;
  };
  scan_template(
      policy.storage.image, [&](std::string_view text) { path += text; }, append_value);
  return path;
}

}  // namespace ckpt::policy
