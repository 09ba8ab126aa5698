#pragma once
// Duration strings of the policy: "500ms", "90s", "15m", "2h", "1h30m".

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ckpt::policy {

using Duration = std::chrono::milliseconds;

// Thrown by parse_duration; what() says what is wrong, without a location.
class DurationSyntaxError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Parses one or more "<digits><unit>" parts, units ms, s, m, h, each used at
// most once and from the largest to the smallest ("1h30m", not "30m1h").
// No signs, spaces or fractions. Throws DurationSyntaxError.
Duration parse_duration(std::string_view text);

// Like parse_duration, but "off" gives std::nullopt.
std::optional<Duration> parse_duration_or_off(std::string_view text);

// The shortest canonical spelling: 90s -> "1m30s", 0 -> "0s", 1500ms -> "1s500ms".
// parse_duration(format_duration(d)) == d for every d >= 0.
std::string format_duration(Duration duration);

// format_duration, or "off" for std::nullopt.
std::string format_duration_or_off(const std::optional<Duration>& duration);

}  // namespace ckpt::policy
