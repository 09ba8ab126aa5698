#include "coordinator_channels.hpp"

namespace ckpt::engine {

std::map<pid_t, std::vector<std::uint8_t>> capture_group_channels(const std::vector<pid_t>&) {
  return {};  // filled in when group_channels lands
}

std::vector<std::uint8_t> channels_of(const std::map<pid_t, std::vector<std::uint8_t>>& captured,
                                      pid_t outer_pid) {
  const auto found = captured.find(outer_pid);
  return found == captured.end() ? std::vector<std::uint8_t>{} : found->second;
}

std::vector<std::string> restore_group_channels(const std::map<pid_t, std::vector<std::uint8_t>>&,
                                                const std::map<pid_t, const Channel*>&) {
  return {};
}

}  // namespace ckpt::engine
