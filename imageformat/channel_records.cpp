#include "channel_records.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace ckpt::image {
namespace {

constexpr std::uint64_t kMagic = 0x326e6863746b7063ull;  // "cptkchn2"

class Writer {
 public:
  template <class T>
  void value(T v) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), bytes, bytes + sizeof v);
  }
  void bytes(std::span<const std::uint8_t> data) {
    value<std::uint64_t>(data.size());
    out.insert(out.end(), data.begin(), data.end());
  }
  void text(const std::string& s) {
    bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  std::vector<std::uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  template <class T>
  T value() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::vector<std::uint8_t> bytes() {
    const auto size = value<std::uint64_t>();
    need(size);
    std::vector<std::uint8_t> result(data_.begin() + static_cast<long>(at_),
                                     data_.begin() + static_cast<long>(at_ + size));
    at_ += size;
    return result;
  }
  std::string text() {
    const auto raw = bytes();
    return {raw.begin(), raw.end()};
  }
  bool done() const { return at_ == data_.size(); }

 private:
  void need(std::uint64_t size) const {
    if (size > data_.size() - at_) throw std::runtime_error("damaged pipe/socket record (cut short)");
  }
  std::span<const std::uint8_t> data_;
  std::size_t at_ = 0;
};

}  // namespace

const char* channel_kind_name(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kPipe: return "pipe";
    case ChannelKind::kFifo: return "fifo";
    case ChannelKind::kUnixStream: return "unix-stream";
    case ChannelKind::kUnixDatagram: return "unix-datagram";
    case ChannelKind::kUnixSeqpacket: return "unix-seqpacket";
    case ChannelKind::kTcpListen: return "tcp-listen";
    case ChannelKind::kTcpConnection: return "tcp-connection";
    case ChannelKind::kOther: return "other";
    case ChannelKind::kFile: return "file";
  }
  return "other";
}

std::string socket_address_text(const std::vector<std::uint8_t>& address) {
  sockaddr_storage storage{};
  std::memcpy(&storage, address.data(), std::min(address.size(), sizeof storage));
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  } else {
    return "";
  }
  return std::string(text) + ":" + std::to_string(port);
}

std::string restart_outcome(const ChannelDescription& description, int fd) {
  if (description.coordinator_stdio >= 0) {
    return description.coordinator_stdio == fd ? "the restarting command's own"
                                               : "the restarting command's fd " + std::to_string(description.coordinator_stdio);
  }
  switch (description.kind) {
    case ChannelKind::kTcpListen:
      return "listens again on " + socket_address_text(description.address);
    case ChannelKind::kTcpConnection:
      return "comes back closed (TCP connection to " +
             (description.peer_text.empty() ? std::string("?") : description.peer_text) + ")";
    case ChannelKind::kOther:
      return "comes back closed";
    case ChannelKind::kFile:
      return "reopened at offset " + std::to_string(description.offset);
    default:
      return description.listening ? "listens again" : "recreated";
  }
}

std::vector<std::uint8_t> encode_channels(const ProcessChannels& channels) {
  Writer writer;
  writer.value(kMagic);
  writer.value(channels.coordinator_stdio_mask);
  writer.value<std::uint32_t>(static_cast<std::uint32_t>(channels.uses.size()));
  for (const auto& use : channels.uses) {
    writer.value(use.fd);
    writer.value(use.fd_flags);
    writer.value(use.description);
  }
  writer.value<std::uint32_t>(static_cast<std::uint32_t>(channels.descriptions.size()));
  for (const auto& description : channels.descriptions) {
    writer.value(description.id);
    writer.value(static_cast<std::uint32_t>(description.kind));
    writer.value(description.object);
    writer.value(description.peer);
    writer.value(description.status_flags);
    writer.value(description.pipe_capacity);
    writer.value(description.coordinator_stdio);
    writer.value<std::uint8_t>(description.listening ? 1 : 0);
    writer.value<std::uint8_t>(description.has_data ? 1 : 0);
    writer.text(description.name);
    writer.bytes(description.address);
    writer.text(description.peer_text);
    writer.value(description.offset);
    writer.bytes(description.in_flight);
  }
  return std::move(writer.out);
}

ProcessChannels decode_channels(std::span<const std::uint8_t> blob) {
  Reader reader(blob);
  if (reader.value<std::uint64_t>() != kMagic) throw std::runtime_error("damaged pipe/socket record (bad magic)");
  ProcessChannels channels;
  channels.coordinator_stdio_mask = reader.value<std::uint32_t>();
  const auto uses = reader.value<std::uint32_t>();
  for (std::uint32_t i = 0; i < uses; ++i) {
    ChannelUse use;
    use.fd = reader.value<std::int32_t>();
    use.fd_flags = reader.value<std::int32_t>();
    use.description = reader.value<std::uint64_t>();
    channels.uses.push_back(use);
  }
  const auto descriptions = reader.value<std::uint32_t>();
  for (std::uint32_t i = 0; i < descriptions; ++i) {
    ChannelDescription description;
    description.id = reader.value<std::uint64_t>();
    description.kind = static_cast<ChannelKind>(reader.value<std::uint32_t>());
    description.object = reader.value<std::uint64_t>();
    description.peer = reader.value<std::uint64_t>();
    description.status_flags = reader.value<std::int32_t>();
    description.pipe_capacity = reader.value<std::uint32_t>();
    description.coordinator_stdio = reader.value<std::int32_t>();
    description.listening = reader.value<std::uint8_t>() != 0;
    description.has_data = reader.value<std::uint8_t>() != 0;
    description.name = reader.text();
    description.address = reader.bytes();
    description.peer_text = reader.text();
    description.offset = reader.value<std::int64_t>();
    description.in_flight = reader.bytes();
    channels.descriptions.push_back(std::move(description));
  }
  if (!reader.done()) throw std::runtime_error("damaged pipe/socket record (trailing bytes)");
  return channels;
}

}  // namespace ckpt::image
