#include <stdexcept>

#include "ckpt/policy/image_path.hpp"
#include "ckpt/policy/policy.hpp"
#include "value_checks.hpp"

namespace ckpt::policy {
namespace {

template <typename Apply>
void apply_override(std::string_view option, Apply&& apply) {
  try {
    apply();
  } catch (const std::invalid_argument& error) {
    throw PolicyError(std::string(option) + ": " + error.what());
  }
}

}  // namespace

void override_interval(Policy& policy, std::string_view text, std::string_view option) {
  apply_override(option, [&] { policy.checkpoint.interval = detail::checked_interval(text); });
}

void override_image(Policy& policy, std::string_view text, std::string_view option) {
  apply_override(option, [&] {
    detail::check_no_nul(text);
    check_image_template(text);
    policy.storage.image = text;
  });
}

}  // namespace ckpt::policy
