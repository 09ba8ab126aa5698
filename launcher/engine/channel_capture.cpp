// Capturing the group's pipes, FIFOs and sockets while every process is
// stopped (coordinator_channels.hpp). Nothing the processes will read is
// changed: pipe contents are copied with tee(2), stream sockets are peeked,
// datagram queues are drained and sent again through the peer in order.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "coordinator_channels.hpp"

namespace ckpt::engine {
namespace {

struct Fd {
  int value = -1;
  explicit Fd(int fd) : value(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (value >= 0) ::close(value);
  }
};

struct UnixSocketFacts {
  std::uint32_t type = 0;
  std::uint32_t state = 0;
  std::uint64_t peer = 0;
  std::string name;
};

// Every unix socket of our network namespace: type, state, peer, name.
std::map<std::uint64_t, UnixSocketFacts> unix_sockets() {
  std::map<std::uint64_t, UnixSocketFacts> sockets;
  Fd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (netlink.value < 0) return sockets;
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0u;
  message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
  if (::send(netlink.value, &message, sizeof message, 0) < 0) return sockets;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    const ssize_t received = ::recv(netlink.value, buffer.data(), buffer.size(), 0);
    if (received <= 0) return sockets;
    int got = static_cast<int>(received);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(header, got);
         header = NLMSG_NEXT(header, got)) {
      if (header->nlmsg_type == NLMSG_DONE || header->nlmsg_type == NLMSG_ERROR) return sockets;
      const auto* diag = static_cast<const unix_diag_msg*>(NLMSG_DATA(header));
      UnixSocketFacts facts;
      facts.type = diag->udiag_type;
      facts.state = diag->udiag_state;
      int left = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof *diag));
      for (auto* attribute = reinterpret_cast<const nlattr*>(diag + 1);
           left >= static_cast<int>(sizeof(nlattr)) && attribute->nla_len >= sizeof(nlattr) &&
           attribute->nla_len <= left;
           left -= NLA_ALIGN(attribute->nla_len),
                  attribute = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(attribute) +
                                                              NLA_ALIGN(attribute->nla_len))) {
        const char* payload = reinterpret_cast<const char*>(attribute) + NLA_HDRLEN;
        const int length = attribute->nla_len - NLA_HDRLEN;
        if (attribute->nla_type == UNIX_DIAG_PEER && length >= 4) {
          std::uint32_t peer = 0;
          std::memcpy(&peer, payload, 4);
          facts.peer = peer;
        } else if (attribute->nla_type == UNIX_DIAG_NAME && length > 0) {
          facts.name.assign(payload, static_cast<std::size_t>(length));  // abstract names start with '\0'
        }
      }
      sockets[diag->udiag_ino] = facts;
    }
  }
}

struct FdFacts {
  pid_t pid = 0;
  int fd = 0;
  int fd_flags = 0;
  dev_t device = 0;
  ino_t inode = 0;
  bool socket = false;
  std::string link;
  int status_flags = 0;
  std::int64_t offset = 0;
  bool file = false;  // regular file, directory or device
  std::uint64_t description = 0;
};

// File status flags (and fd flags, offset) from /proc/PID/fdinfo/FD.
int status_flags_of(pid_t pid, int fd, int* fd_flags, std::int64_t* offset) {
  std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
  std::string key;
  int flags = 0;
  while (info >> key) {
    if (key == "pos:") info >> *offset;
    if (key == "flags:") {
      info >> std::oct >> flags >> std::dec;
      break;
    }
  }
  *fd_flags = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
  return flags & ~O_CLOEXEC;
}

class Pidfds {
 public:
  ~Pidfds() {
    for (auto& [pid, fd] : fds_) ::close(fd);
  }
  // A duplicate of `fd` of `pid` (pidfd_getfd); throws on failure.
  int duplicate(pid_t pid, int fd) {
    auto found = fds_.find(pid);
    if (found == fds_.end()) {
      const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (pidfd < 0) throw std::runtime_error("pidfd_open: " + std::string(std::strerror(errno)));
      found = fds_.emplace(pid, pidfd).first;
    }
    const int copy = static_cast<int>(::syscall(SYS_pidfd_getfd, found->second, fd, 0));
    if (copy < 0) {
      throw std::runtime_error("cannot reach descriptor " + std::to_string(fd) + " of process " +
                               std::to_string(pid) + ": " + std::strerror(errno));
    }
    return copy;
  }

 private:
  std::map<pid_t, int> fds_;
};

void append_bytes(std::vector<std::uint8_t>& out, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

// The bytes in a pipe or FIFO, copied without taking them out (tee).
std::vector<std::uint8_t> pipe_contents(pid_t pid, int fd) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  Fd source(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (source.value < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  int queued = 0;
  if (::ioctl(source.value, FIONREAD, &queued) != 0 || queued <= 0) return {};
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  Fd copy_read(ends[0]), copy_write(ends[1]);
  ::fcntl(copy_write.value, F_SETPIPE_SZ, std::max(queued, ::fcntl(source.value, F_GETPIPE_SZ)));
  const ssize_t copied = ::tee(source.value, copy_write.value, static_cast<std::size_t>(queued), SPLICE_F_NONBLOCK);
  if (copied != queued) {
    throw std::runtime_error("cannot copy the " + std::to_string(queued) + " bytes in flight in " + path);
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(queued));
  std::size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t got = ::read(copy_read.value, bytes.data() + have, bytes.size() - have);
    if (got <= 0) throw std::runtime_error("cannot read the copy of " + path);
    have += static_cast<std::size_t>(got);
  }
  return bytes;
}

// The bytes queued on a stream socket, peeked (SO_PEEK_OFF walks past the
// first buffer when one peek does not return them all).
std::vector<std::uint8_t> stream_contents(int socket) {
  int queued = 0;
  if (::ioctl(socket, FIONREAD, &queued) != 0 || queued <= 0) return {};
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(queued));
  ssize_t got = ::recv(socket, bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
  if (got == queued) return bytes;
  int offset = 0;
  ::setsockopt(socket, SOL_SOCKET, SO_PEEK_OFF, &offset, sizeof offset);
  std::size_t have = 0;
  while (have < bytes.size()) {
    got = ::recv(socket, bytes.data() + have, bytes.size() - have, MSG_PEEK | MSG_DONTWAIT);
    if (got <= 0) break;
    have += static_cast<std::size_t>(got);
  }
  offset = -1;
  ::setsockopt(socket, SOL_SOCKET, SO_PEEK_OFF, &offset, sizeof offset);
  if (have != bytes.size()) throw std::runtime_error("cannot copy the bytes queued on a socket");
  return bytes;
}

// The messages queued on a datagram/seqpacket socket: taken off and sent
// again, in order, through the peer; returned as u32 length + bytes each.
std::vector<std::uint8_t> datagram_contents(int socket, int peer) {
  std::vector<std::uint8_t> messages;
  std::vector<std::uint8_t> buffer(256 * 1024);
  std::vector<std::vector<std::uint8_t>> taken;
  for (;;) {
    const ssize_t got = ::recv(socket, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got < 0) break;
    taken.emplace_back(buffer.begin(), buffer.begin() + got);
  }
  for (const auto& message : taken) {
    if (::send(peer, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
        static_cast<ssize_t>(message.size())) {
      throw std::runtime_error("cannot put a queued datagram back: " + std::string(std::strerror(errno)));
    }
    const auto length = static_cast<std::uint32_t>(message.size());
    append_bytes(messages, &length, sizeof length);
    append_bytes(messages, message.data(), message.size());
  }
  return messages;
}

void classify_socket(ChannelDescription& description, int socket,
                     const std::map<std::uint64_t, UnixSocketFacts>& unix_facts) {
  int domain = 0, type = 0, listening = 0;
  socklen_t size = sizeof domain;
  ::getsockopt(socket, SOL_SOCKET, SO_DOMAIN, &domain, &size);
  size = sizeof type;
  ::getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &size);
  size = sizeof listening;
  ::getsockopt(socket, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size);
  description.listening = listening != 0;
  if (domain == AF_UNIX) {
    description.kind = type == SOCK_STREAM  ? ChannelKind::kUnixStream
                       : type == SOCK_DGRAM ? ChannelKind::kUnixDatagram
                                            : ChannelKind::kUnixSeqpacket;
    const auto found = unix_facts.find(description.object);
    if (found != unix_facts.end()) {
      description.peer = found->second.peer;
      description.name = found->second.name;
    }
  } else if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length);
    description.address.assign(reinterpret_cast<std::uint8_t*>(&address),
                               reinterpret_cast<std::uint8_t*>(&address) + length);
    if (listening) {
      description.kind = ChannelKind::kTcpListen;
    } else {
      description.kind = ChannelKind::kTcpConnection;
      sockaddr_storage peer{};
      length = sizeof peer;
      if (::getpeername(socket, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(&peer);
        description.peer_text = image::socket_address_text({bytes, bytes + length});
      }
    }
  } else {
    description.kind = ChannelKind::kOther;
  }
}

}  // namespace

std::map<pid_t, std::vector<std::uint8_t>> capture_group_channels(const std::vector<pid_t>& outer_pids) {
  // Which of our own stdin/out/err a descriptor is: the same open file
  // description (kcmp), inherited from us; not merely the same file.
  const pid_t self = ::getpid();
  auto stdio_index = [&](pid_t pid, int fd) {
    for (int k = 0; k < 3; ++k) {
      if (::syscall(SYS_kcmp, self, pid, KCMP_FILE, k, fd) == 0) return k;
    }
    return -1;
  };
  std::map<pid_t, ProcessChannels> per_process;
  std::vector<FdFacts> fds;
  for (const pid_t pid : outer_pids) {
    ProcessChannels& channels = per_process[pid];
    const std::string folder = "/proc/" + std::to_string(pid) + "/fd";
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
      const int fd = std::atoi(entry.path().filename().c_str());
      if (fd == CKPT_AGENT_FD) continue;
      struct stat info {};
      if (::stat(entry.path().c_str(), &info) != 0) continue;
      if (fd <= 2 && stdio_index(pid, fd) == fd) channels.coordinator_stdio_mask |= 1u << fd;
      const bool file = S_ISREG(info.st_mode) || S_ISDIR(info.st_mode) || S_ISCHR(info.st_mode) ||
                        S_ISBLK(info.st_mode);
      if (!file && !S_ISFIFO(info.st_mode) && !S_ISSOCK(info.st_mode)) continue;
      FdFacts facts;
      facts.file = file;
      facts.pid = pid;
      facts.fd = fd;
      facts.device = info.st_dev;
      facts.inode = info.st_ino;
      facts.socket = S_ISSOCK(info.st_mode);
      facts.link = std::filesystem::read_symlink(entry.path(), error).string();
      facts.status_flags = status_flags_of(pid, fd, &facts.fd_flags, &facts.offset);
      if (file && facts.link.find(" (deleted)") != std::string::npos) continue;  // cannot be reopened
      fds.push_back(std::move(facts));
    }
  }
  // Open file descriptions: same object, and kcmp says the same file.
  std::vector<ChannelDescription> descriptions;
  std::vector<const FdFacts*> first_user;
  for (auto& facts : fds) {
    for (std::size_t d = 0; d < descriptions.size() && facts.description == 0; ++d) {
      const FdFacts& other = *first_user[d];
      if (other.device != facts.device || other.inode != facts.inode) continue;
      if (::syscall(SYS_kcmp, other.pid, facts.pid, KCMP_FILE, other.fd, facts.fd) == 0) {
        facts.description = descriptions[d].id;
      }
    }
    if (facts.description != 0) continue;
    ChannelDescription description;
    description.id = descriptions.size() + 1;
    description.object = facts.inode;
    description.status_flags = facts.status_flags;
    description.coordinator_stdio = stdio_index(facts.pid, facts.fd);
    if (facts.file) {
      description.kind = ChannelKind::kFile;
      description.name = facts.link;
      description.offset = facts.offset;
    } else if (!facts.socket) {
      const bool anonymous = facts.link.rfind("pipe:", 0) == 0;
      description.kind = anonymous ? ChannelKind::kPipe : ChannelKind::kFifo;
      if (!anonymous) description.name = facts.link;
    }
    facts.description = description.id;
    descriptions.push_back(std::move(description));
    first_user.push_back(&facts);
  }
  // Kinds of sockets, and what is in flight (once per pipe or socket).
  Pidfds pidfds;
  const auto unix_facts = unix_sockets();
  std::map<std::uint64_t, std::size_t> by_object;  // socket inode -> description index
  for (std::size_t d = 0; d < descriptions.size(); ++d) {
    const FdFacts& user = *first_user[d];
    if (!user.socket) continue;
    Fd socket(pidfds.duplicate(user.pid, user.fd));
    classify_socket(descriptions[d], socket.value, unix_facts);
    by_object.emplace(descriptions[d].object, d);
  }
  std::map<std::uint64_t, bool> object_done;
  for (std::size_t d = 0; d < descriptions.size(); ++d) {
    ChannelDescription& description = descriptions[d];
    const FdFacts& user = *first_user[d];
    if (description.coordinator_stdio >= 0 || object_done[description.object]) continue;
    switch (description.kind) {
      case ChannelKind::kPipe:
      case ChannelKind::kFifo: {
        const int access = description.status_flags & O_ACCMODE;
        if (access == O_WRONLY) continue;  // a reading end of the same pipe holds the bytes
        description.pipe_capacity = 0;
        description.in_flight = pipe_contents(user.pid, user.fd);
        break;
      }
      case ChannelKind::kUnixStream: {
        Fd socket(pidfds.duplicate(user.pid, user.fd));
        description.in_flight = stream_contents(socket.value);
        break;
      }
      case ChannelKind::kUnixDatagram:
      case ChannelKind::kUnixSeqpacket: {
        const auto peer = by_object.find(description.peer);
        if (peer == by_object.end()) continue;  // peer outside: comes back closed
        const FdFacts& peer_user = *first_user[peer->second];
        Fd socket(pidfds.duplicate(user.pid, user.fd));
        Fd peer_socket(pidfds.duplicate(peer_user.pid, peer_user.fd));
        description.in_flight = datagram_contents(socket.value, peer_socket.value);
        break;
      }
      default:
        continue;
    }
    description.has_data = true;
    object_done[description.object] = true;
  }
  // Pipe capacities (the restart gives recreated pipes the same).
  for (std::size_t d = 0; d < descriptions.size(); ++d) {
    auto& description = descriptions[d];
    if (description.kind != ChannelKind::kPipe && description.kind != ChannelKind::kFifo) continue;
    const std::string path =
        "/proc/" + std::to_string(first_user[d]->pid) + "/fd/" + std::to_string(first_user[d]->fd);
    Fd probe(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (probe.value >= 0) description.pipe_capacity = static_cast<std::uint32_t>(std::max(0, ::fcntl(probe.value, F_GETPIPE_SZ)));
  }
  // One blob per process: its uses and the descriptions they name; the
  // bytes in flight go with the first process that names them.
  std::map<std::uint64_t, bool> data_written;
  for (const auto& facts : fds) {
    ProcessChannels& channels = per_process[facts.pid];
    channels.uses.push_back({facts.fd, facts.fd_flags, facts.description});
    bool listed = false;
    for (const auto& known : channels.descriptions) listed |= known.id == facts.description;
    if (listed) continue;
    ChannelDescription copy = descriptions[facts.description - 1];
    if (copy.has_data && data_written[copy.object]) {
      copy.has_data = false;
      copy.in_flight.clear();
    }
    if (copy.has_data) data_written[copy.object] = true;
    channels.descriptions.push_back(std::move(copy));
  }
  std::map<pid_t, std::vector<std::uint8_t>> blobs;
  // Also without channels: the blob says which of fds 0-2 were ours.
  for (const auto& [pid, channels] : per_process) blobs[pid] = encode_channels(channels);
  return blobs;
}

}  // namespace ckpt::engine
