// The coordinator's use of group_channels: the pipes and sockets of the
// group, captured while every process is stopped (one engine blob per
// process in the image) and recreated at restart (passed to each process
// over its control socket with SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "channel.hpp"

namespace ckpt::engine {

// Per outer PID: the blob for the image. Throws with one line.
std::map<pid_t, std::vector<std::uint8_t>> capture_group_channels(const std::vector<pid_t>& outer_pids);

std::vector<std::uint8_t> channels_of(const std::map<pid_t, std::vector<std::uint8_t>>& captured,
                                      pid_t outer_pid);

// Recreates the channels of the restored processes (inner PID -> blob)
// and sends each process its descriptors over `channels.at(inner pid)`.
// Returns warnings (one line each) for what cannot be restored.
std::vector<std::string> restore_group_channels(const std::map<pid_t, std::vector<std::uint8_t>>& blobs,
                                                const std::map<pid_t, const Channel*>& channels);

}  // namespace ckpt::engine
