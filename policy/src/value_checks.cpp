#include "value_checks.hpp"

#include <stdexcept>
#include <string>

namespace ckpt::policy::detail {

std::optional<Duration> checked_interval(std::string_view text) {
  const auto interval = parse_duration_or_off(text);
  if (interval && *interval < kShortestInterval) {
    throw std::invalid_argument("an interval of " + format_duration(*interval) +
                                " is too short; use at least " +
                                format_duration(kShortestInterval) + ", or \"off\"");
  }
  return interval;
}

Duration checked_timeout(std::string_view text) {
  if (text == "off")
    throw std::invalid_argument("a timeout cannot be \"off\"; give a duration like \"10m\"");
  const Duration timeout = parse_duration(text);
  if (timeout < kShortestTimeout) {
    throw std::invalid_argument("a timeout of " + format_duration(timeout) +
                                " is too short; use at least " + format_duration(kShortestTimeout));
  }
  return timeout;
}

std::optional<Duration> checked_stop_timeout(std::string_view text) {
  const auto timeout = parse_duration_or_off(text);
  if (timeout && *timeout < kShortestStopTimeout) {
    throw std::invalid_argument(
        "a stop timeout of " + format_duration(*timeout) + " is too short; use at least " +
        format_duration(kShortestStopTimeout) + ", or \"off\" to use checkpoint.timeout");
  }
  return timeout;
}

void check_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("the name must not be empty");
  if (name == "." || name == "..") {
    throw std::invalid_argument("'" + std::string(name) + "' is not a usable name");
  }
  for (const char c : name) {
    if (c == '/') {
      throw std::invalid_argument("the name '" + std::string(name) + "' must not contain '/'");
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw std::invalid_argument("the name must not contain control characters");
    }
  }
}

void check_no_nul(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("must not contain a NUL character");
  }
}

}  // namespace ckpt::policy::detail
