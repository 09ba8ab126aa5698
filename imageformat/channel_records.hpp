// Open file descriptions of a process group as the image keeps them (files
// by path and offset, pipes, FIFOs and sockets with their contents): the
// engine-defined blob of each process ("channels" dataset), listing the process's
// descriptors that are channels and the open file descriptions they use
// (group-wide ids: descriptors of several processes that shared one
// description share the id), with the bytes that were in flight.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ckpt::image {

enum class ChannelKind : std::uint32_t {
  kPipe = 1,
  kFifo = 2,
  kUnixStream = 3,
  kUnixDatagram = 4,
  kUnixSeqpacket = 5,
  kTcpListen = 6,
  kTcpConnection = 7,
  kOther = 8,
  kFile = 9,  // a regular file, directory or device, reopened by path at its offset
};

const char* channel_kind_name(ChannelKind kind);

struct ChannelDescription {
  std::uint64_t id = 0;          // group-wide, this checkpoint
  ChannelKind kind = ChannelKind::kOther;
  std::uint64_t object = 0;      // pipe/FIFO/socket inode
  std::uint64_t peer = 0;        // unix sockets: the peer's inode
  std::int32_t status_flags = 0; // O_ACCMODE, O_NONBLOCK, O_APPEND...
  std::uint32_t pipe_capacity = 0;
  std::int32_t coordinator_stdio = -1;  // 0..2: the coordinator's own stdin/out/err
  bool listening = false;        // unix sockets
  std::string name;              // FIFO path, unix socket name
  std::vector<std::uint8_t> address;  // TCP: sockaddr of the local end
  std::string peer_text;         // TCP connection: "address:port" of the peer
  std::int64_t offset = 0;       // files: the shared file offset at the checkpoint
  bool has_data = false;         // in_flight below is this object's queue
  std::vector<std::uint8_t> in_flight;  // stream: bytes; datagrams: u32 length + bytes each
};

struct ChannelUse {
  std::int32_t fd = 0;
  std::int32_t fd_flags = 0;  // FD_CLOEXEC
  std::uint64_t description = 0;
};

struct ProcessChannels {
  // bit k (0..2): descriptor k is the coordinator's own stdin/out/err
  // (whatever its kind); at restart it is the restarting command's.
  std::uint32_t coordinator_stdio_mask = 0;
  std::vector<ChannelUse> uses;
  std::vector<ChannelDescription> descriptions;  // those the uses name
};

// "127.0.0.1:8080" for a stored socket address ("" if not IPv4/IPv6).
std::string socket_address_text(const std::vector<std::uint8_t>& address);

// What a restart makes of a description, in a few words (for ckpt-inspect).
std::string restart_outcome(const ChannelDescription& description, int fd);

std::vector<std::uint8_t> encode_channels(const ProcessChannels& channels);
// Throws std::runtime_error naming what is wrong with a damaged blob.
ProcessChannels decode_channels(std::span<const std::uint8_t> blob);

}  // namespace ckpt::image
