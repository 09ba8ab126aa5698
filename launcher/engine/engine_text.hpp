// Small formatting helpers shared by the coordinator's messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ckpt::engine {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline std::string format_mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace ckpt::engine
