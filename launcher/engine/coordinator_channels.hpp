// The group's pipes, FIFOs and sockets (channel_records.hpp for what is
// kept): captured while every process is stopped, one engine blob per
// process in the image; recreated by the coordinator at restart and passed
// to each process over its control socket (SCM_RIGHTS), with the bytes
// that were in flight put back.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "channel.hpp"
#include "channel_records.hpp"
#include "schema.hpp"

namespace ckpt::engine {

using image::ChannelDescription;
using image::ChannelKind;
using image::ChannelUse;
using image::ProcessChannels;
using image::channel_kind_name;
using image::decode_channels;
using image::encode_channels;

// Per outer PID: the blob for the image (channel_capture.cpp). Throws with
// one line.
std::map<pid_t, std::vector<std::uint8_t>> capture_group_channels(const std::vector<pid_t>& outer_pids);

std::vector<std::uint8_t> channels_of(const std::map<pid_t, std::vector<std::uint8_t>>& captured,
                                      pid_t outer_pid);

struct RestoredMember {
  const image::ProcessTables* tables = nullptr;
  const Channel* channel = nullptr;
};

// Recreates the channels of the restored processes (by inner PID), reopens
// files at descriptors 0-2 that were not the coordinator's own, and sends
// every process its descriptors (channel_restore.cpp). Returns warnings
// (one line each) for what cannot be restored.
std::vector<std::string> restore_group_channels(const std::map<pid_t, RestoredMember>& members);

}  // namespace ckpt::engine
