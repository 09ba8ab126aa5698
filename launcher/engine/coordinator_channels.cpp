#include "coordinator_channels.hpp"

namespace ckpt::engine {

std::vector<std::uint8_t> channels_of(const std::map<pid_t, std::vector<std::uint8_t>>& captured,
                                      pid_t outer_pid) {
  const auto found = captured.find(outer_pid);
  return found == captured.end() ? std::vector<std::uint8_t>{} : found->second;
}

}  // namespace ckpt::engine
