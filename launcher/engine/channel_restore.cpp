// Recreating the group's pipes, FIFOs and sockets at restart
// (coordinator_channels.hpp): every open file description once, refilled
// with the bytes that were in flight, then passed to the processes that
// held it, at their descriptor numbers.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "coordinator_channels.hpp"

namespace ckpt::engine {
namespace {

class OwnedFds {
 public:
  ~OwnedFds() {
    for (int fd : fds_) ::close(fd);
  }
  int keep(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }

 private:
  std::vector<int> fds_;
};

void write_all(int fd, const std::vector<std::uint8_t>& bytes, const char* what) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote <= 0) throw std::runtime_error(std::string("cannot refill ") + what + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(wrote);
  }
}

void send_datagrams(int fd, const std::vector<std::uint8_t>& messages) {
  for (std::size_t at = 0; at + 4 <= messages.size();) {
    std::uint32_t length = 0;
    std::memcpy(&length, messages.data() + at, 4);
    at += 4;
    if (at + length > messages.size()) throw std::runtime_error("damaged datagram record");
    if (::send(fd, messages.data() + at, length, MSG_NOSIGNAL) != static_cast<ssize_t>(length)) {
      throw std::runtime_error("cannot refill a datagram socket: " + std::string(std::strerror(errno)));
    }
    at += length;
  }
}

void refill(int fd, const ChannelDescription& description) {
  if (!description.has_data || description.in_flight.empty()) return;
  if (description.kind == ChannelKind::kUnixDatagram || description.kind == ChannelKind::kUnixSeqpacket) {
    send_datagrams(fd, description.in_flight);
  } else {
    write_all(fd, description.in_flight, channel_kind_name(description.kind));
  }
}

void apply_status_flags(int fd, int saved) {
  const int kept = O_NONBLOCK | O_APPEND | O_ASYNC;
  const int current = ::fcntl(fd, F_GETFL);
  if (current >= 0) ::fcntl(fd, F_SETFL, (current & ~kept) | (saved & kept));
}

// A new open file description of the pipe behind `fd` (read or write end).
int reopen_end(int fd, int access) {
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const int opened = ::open(path.c_str(), access | O_CLOEXEC | O_NONBLOCK);
  if (opened < 0) throw std::runtime_error("cannot reopen a recreated pipe: " + std::string(std::strerror(errno)));
  return opened;
}

// One end of a connection whose other end is gone: reads EOF.
int closed_connection(OwnedFds& owned) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) throw std::runtime_error("socketpair failed");
  ::close(pair[1]);
  return owned.keep(pair[0]);
}

int socket_type(ChannelKind kind) {
  return kind == ChannelKind::kUnixDatagram ? SOCK_DGRAM
         : kind == ChannelKind::kUnixSeqpacket ? SOCK_SEQPACKET
                                               : SOCK_STREAM;
}

int listening_unix_socket(const ChannelDescription& description, OwnedFds& owned) {
  const int fd = owned.keep(::socket(AF_UNIX, socket_type(description.kind) | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::size_t length = std::min(description.name.size(), sizeof address.sun_path - 1);
  std::memcpy(address.sun_path, description.name.data(), length);
  if (!description.name.empty() && description.name[0] == '/') ::unlink(description.name.c_str());
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + (description.name[0] == '\0' ? 0 : 1));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd, 128) != 0) {
    throw std::runtime_error("cannot listen again on unix socket " + description.name + ": " +
                             std::strerror(errno));
  }
  return fd;
}

int listening_tcp_socket(const ChannelDescription& description, OwnedFds& owned) {
  sockaddr_storage address{};
  std::memcpy(&address, description.address.data(), std::min(description.address.size(), sizeof address));
  const int fd = owned.keep(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int enable = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof enable);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), static_cast<socklen_t>(description.address.size())) != 0 ||
      ::listen(fd, 128) != 0) {
    return -1;
  }
  return fd;
}

}  // namespace

std::vector<std::string> restore_group_channels(const std::map<pid_t, RestoredMember>& members) {
  std::vector<std::string> warnings;
  std::map<pid_t, ProcessChannels> decoded;
  std::map<std::uint64_t, ChannelDescription> descriptions;
  for (const auto& [pid, member] : members) {
    if (member.tables->channels.empty()) continue;
    try {
      decoded[pid] = decode_channels(member.tables->channels);
    } catch (const std::exception& error) {
      throw std::runtime_error("process " + std::to_string(pid) + ": " + error.what());
    }
    for (auto& description : decoded[pid].descriptions) {
      auto& known = descriptions[description.id];
      if (known.id == 0 || description.has_data) known = description;
    }
  }
  OwnedFds owned;
  std::map<std::uint64_t, int> fd_of;  // description id -> our fd
  // Pipes and FIFOs: one object each, a new description per saved one.
  std::map<std::uint64_t, std::vector<const ChannelDescription*>> pipes;
  for (const auto& [id, description] : descriptions) {
    if (description.coordinator_stdio >= 0) continue;
    if (description.kind == ChannelKind::kPipe || description.kind == ChannelKind::kFifo) {
      pipes[description.object].push_back(&description);
    }
  }
  for (const auto& [object, users] : pipes) {
    int read_end = -1, write_end = -1;
    const ChannelDescription& first = *users.front();
    struct stat info {};
    if (first.kind == ChannelKind::kFifo && ::stat(first.name.c_str(), &info) == 0 && S_ISFIFO(info.st_mode)) {
      read_end = owned.keep(::open(first.name.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
      write_end = read_end;
    }
    if (read_end < 0) {
      int ends[2];
      if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
      read_end = owned.keep(ends[0]);
      write_end = owned.keep(ends[1]);
    }
    std::uint32_t capacity = 0;
    for (const auto* user : users) capacity = std::max(capacity, user->pipe_capacity);
    if (capacity > 0) ::fcntl(write_end, F_SETPIPE_SZ, capacity);
    for (const auto* user : users) refill(write_end, *user);
    for (const auto* user : users) {
      const int access = user->status_flags & O_ACCMODE;
      const int fd = owned.keep(reopen_end(access == O_WRONLY ? write_end : read_end, access));
      apply_status_flags(fd, user->status_flags);
      fd_of[user->id] = fd;
    }
  }
  // Files: reopened by path (rolled back already) at the saved offset, one
  // description shared by every process that shared it.
  for (const auto& [id, description] : descriptions) {
    if (description.coordinator_stdio >= 0 || description.kind != ChannelKind::kFile) continue;
    const int flags = (description.status_flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC | O_NOCTTY;
    const int fd = owned.keep(::open(description.name.c_str(), flags));
    if (fd < 0) {
      warnings.push_back("cannot reopen " + description.name + ": " + std::strerror(errno));
      continue;
    }
    if (description.offset > 0) ::lseek(fd, description.offset, SEEK_SET);
    fd_of[id] = fd;
  }
  // Sockets: pairs whose both ends the group held become socketpairs.
  std::map<std::uint64_t, const ChannelDescription*> socket_by_object;
  for (const auto& [id, description] : descriptions) {
    if (description.coordinator_stdio < 0) socket_by_object.emplace(description.object, &description);
  }
  std::map<std::uint64_t, int> socket_fd;  // by object
  for (const auto& [id, description] : descriptions) {
    if (description.coordinator_stdio >= 0 || fd_of.count(id) != 0 || description.kind == ChannelKind::kFile) continue;
    const auto done = socket_fd.find(description.object);
    if (done != socket_fd.end()) {  // another description of the same socket
      fd_of[id] = done->second;
      continue;
    }
    switch (description.kind) {
      case ChannelKind::kUnixStream:
      case ChannelKind::kUnixDatagram:
      case ChannelKind::kUnixSeqpacket: {
        if (description.listening) {
          socket_fd[description.object] = listening_unix_socket(description, owned);
          break;
        }
        const auto peer = socket_by_object.find(description.peer);
        if (description.peer == 0 || peer == socket_by_object.end()) {
          if (description.peer != 0) warnings.push_back("a unix socket connected outside the group comes back closed");
          socket_fd[description.object] = closed_connection(owned);
          break;
        }
        int pair[2];
        if (::socketpair(AF_UNIX, socket_type(description.kind) | SOCK_CLOEXEC, 0, pair) != 0) {
          throw std::runtime_error("socketpair failed: " + std::string(std::strerror(errno)));
        }
        socket_fd[description.object] = owned.keep(pair[0]);
        socket_fd[description.peer] = owned.keep(pair[1]);
        refill(pair[1], description);  // queued for reading on this end
        refill(pair[0], *peer->second);
        break;
      }
      case ChannelKind::kTcpListen: {
        const int fd = listening_tcp_socket(description, owned);
        if (fd < 0) {
          warnings.push_back("cannot listen again on TCP " + description.peer_text + " (" +
                             std::strerror(errno) + "); the socket comes back closed");
        }
        socket_fd[description.object] = fd >= 0 ? fd : closed_connection(owned);
        break;
      }
      case ChannelKind::kTcpConnection:
        warnings.push_back("TCP connection to " + (description.peer_text.empty() ? "?" : description.peer_text) +
                           " cannot be restored; it reads as closed");
        socket_fd[description.object] = closed_connection(owned);
        break;
      default:
        warnings.push_back(std::string("a descriptor of kind ") + channel_kind_name(description.kind) +
                           " cannot be restored; it reads as closed");
        socket_fd[description.object] = closed_connection(owned);
        break;
    }
    fd_of[id] = socket_fd[description.object];
    apply_status_flags(fd_of[id], description.status_flags);
  }
  // Every process gets its descriptors (they replace what the agent
  // reopened on its own, which only images without this record rely on).
  for (const auto& [pid, member] : members) {
    const auto found = decoded.find(pid);
    if (found == decoded.end()) continue;  // an image without the record: 0-2 stay the restart's
    const ProcessChannels& channels = found->second;
    std::vector<CkptPassedDescriptor> entries;
    std::vector<int> fds;
    for (const auto& use : channels.uses) {
      const ChannelDescription& description = descriptions.at(use.description);
      if (use.fd <= 2 && (channels.coordinator_stdio_mask & (1u << use.fd)) != 0) continue;  // ours
      int fd = -1;
      if (description.coordinator_stdio >= 0) {
        if (use.fd == description.coordinator_stdio) continue;  // the restarting command's own
        fd = description.coordinator_stdio;
      } else if (const auto made = fd_of.find(use.description); made != fd_of.end()) {
        fd = made->second;
      } else {
        continue;  // could not be recreated (warned)
      }
      entries.push_back({use.fd, use.fd_flags});
      fds.push_back(fd);
    }
    for (std::size_t first = 0; first < entries.size(); first += CKPT_DESCRIPTORS_PER_MESSAGE) {
      CkptDescriptorBatch batch{};
      batch.header = {CKPT_MSG_DESCRIPTORS, sizeof batch};
      const std::size_t count = std::min<std::size_t>(CKPT_DESCRIPTORS_PER_MESSAGE, entries.size() - first);
      batch.count = static_cast<std::uint32_t>(count);
      for (std::size_t i = 0; i < count; ++i) batch.entries[i] = entries[first + i];
      member.channel->send_with_descriptors(
          &batch, sizeof batch,
          std::vector<int>(fds.begin() + static_cast<long>(first), fds.begin() + static_cast<long>(first + count)));
    }
  }
  return warnings;
}

}  // namespace ckpt::engine
