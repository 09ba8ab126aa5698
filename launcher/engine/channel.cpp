#include "channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ckpt::engine {

Channel::Channel(Channel&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), sink_(other.sink_), sender_pid_(other.sender_pid_) {}

Channel& Channel::operator=(Channel&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    sink_ = other.sink_;
    sender_pid_ = other.sender_pid_;
  }
  return *this;
}

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

void Channel::send(const void* message, std::size_t size) const {
  if (::send(fd_, message, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
    throw std::runtime_error(std::string("lost contact with the process: ") + std::strerror(errno));
  }
}

void Channel::send_with_descriptors(const void* message, std::size_t size,
                                    const std::vector<int>& fds) const {
  if (fds.empty()) return send(message, size);
  iovec data{const_cast<void*>(message), size};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr header{};
  header.msg_iov = &data;
  header.msg_iovlen = 1;
  header.msg_control = control.data();
  header.msg_controllen = control.size();
  cmsghdr* item = CMSG_FIRSTHDR(&header);
  item->cmsg_level = SOL_SOCKET;
  item->cmsg_type = SCM_RIGHTS;
  item->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(item), fds.data(), sizeof(int) * fds.size());
  if (::sendmsg(fd_, &header, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
    throw std::runtime_error(std::string("lost contact with the process: ") + std::strerror(errno));
  }
}

std::vector<std::byte> Channel::receive(std::chrono::milliseconds timeout,
                                        std::uint32_t expected) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timed out waiting for the process");
    pollfd wait{fd_, POLLIN, 0};
    const int ready = ::poll(&wait, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    std::vector<std::byte> message(64 * 1024);
    iovec data{message.data(), message.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr header_block{};
    header_block.msg_iov = &data;
    header_block.msg_iovlen = 1;
    header_block.msg_control = control;
    header_block.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(fd_, &header_block, 0);
    for (cmsghdr* item = CMSG_FIRSTHDR(&header_block); got > 0 && item != nullptr;
         item = CMSG_NXTHDR(&header_block, item)) {
      if (item->cmsg_level == SOL_SOCKET && item->cmsg_type == SCM_CREDENTIALS) {
        ucred credentials{};
        std::memcpy(&credentials, CMSG_DATA(item), sizeof credentials);
        sender_pid_ = credentials.pid;  // translated into our PID namespace
      }
    }
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("the process went away");
    message.resize(static_cast<std::size_t>(got));
    if (message.size() < sizeof(CkptMessageHeader)) throw std::runtime_error("short message");
    const auto header = message_as<CkptMessageHeader>(message);
    if (header.type == CKPT_MSG_FILE_REPORT) {
      if (sink_ != nullptr) sink_->file_report(sender_pid_, message);
      if (expected == 0) return message;
      continue;
    }
    if (header.type == CKPT_MSG_FAILED || header.type == CKPT_MSG_RESTORER_ERROR) {
      const auto failure = message_as<CkptFailure>(message);
      throw std::runtime_error(std::string(failure.reason, strnlen(failure.reason, sizeof failure.reason)));
    }
    if (expected != 0 && header.type != expected) {
      throw std::runtime_error("unexpected message " + std::to_string(header.type) +
                               " (wanted " + std::to_string(expected) + ")");
    }
    return message;
  }
}

bool Channel::drain_reports() const {
  for (;;) {
    CkptMessageHeader header{};
    const ssize_t got = ::recv(fd_, &header, sizeof header, MSG_PEEK | MSG_DONTWAIT);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) return false;
    if (got < static_cast<ssize_t>(sizeof header) || header.type != CKPT_MSG_FILE_REPORT) return true;
    receive(std::chrono::milliseconds(1000));  // to the sink
  }
}

pid_t Channel::peer_pid() const { return sender_pid_; }

std::pair<Channel, int> make_control_pair() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0) {
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  }
  ::fcntl(pair[0], F_SETFD, FD_CLOEXEC);
  // Every message then carries its sender's PID, as seen from here.
  const int enable = 1;
  ::setsockopt(pair[0], SOL_SOCKET, SO_PASSCRED, &enable, sizeof enable);
  return {Channel(pair[0]), pair[1]};
}

}  // namespace ckpt::engine
