#pragma once
// Checks shared by the policy file parser and the command-line overrides.
// Each throws std::invalid_argument with a message that names no key or
// location; the caller adds "FILE:LINE:COL: key: " or "--option: ".

#include <optional>
#include <string_view>

#include "ckpt/policy/duration.hpp"

namespace ckpt::policy::detail {

inline constexpr Duration kShortestInterval = std::chrono::seconds(1);
inline constexpr Duration kShortestTimeout = std::chrono::seconds(1);
inline constexpr Duration kShortestStopTimeout = std::chrono::seconds(1);

// A duration of at least kShortestInterval, or "off" (std::nullopt).
std::optional<Duration> checked_interval(std::string_view text);

// A duration of at least kShortestTimeout.
Duration checked_timeout(std::string_view text);

// A duration of at least kShortestStopTimeout, or "off" (std::nullopt).
std::optional<Duration> checked_stop_timeout(std::string_view text);

// Job and group names: not empty, no '/', no control characters, not "." or "..".
void check_name(std::string_view name);

// Anything that ends up in argv, the environment or a path: no NUL byte.
void check_no_nul(std::string_view text);

}  // namespace ckpt::policy::detail
