// Messages over one SOCK_SEQPACKET control socket, with deadlines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstring>
#include <utility>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol.h"

namespace ckpt::engine {

// Where file reports (CKPT_MSG_FILE_REPORT) go: agents send them at any
// time, so every receive hands them over and goes on.
class ReportSink {
 public:
  virtual void file_report(pid_t sender, const std::vector<std::byte>& message) = 0;

 protected:
  ~ReportSink() = default;
};

class Channel {
 public:
  Channel() = default;
  explicit Channel(int fd) : fd_(fd) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  Channel(Channel&& other) noexcept;
  Channel& operator=(Channel&& other) noexcept;
  ~Channel();

  int fd() const { return fd_; }
  void send(const void* message, std::size_t size) const;
  // Sends the message with descriptors attached (SCM_RIGHTS, at most 253).
  void send_with_descriptors(const void* message, std::size_t size, const std::vector<int>& fds) const;
  // Receives one message (resized to its length); throws on timeout, on
  // a closed peer, or if `expected` is given and the type differs
  // (a CkptFailure's reason is included in the error). File reports go to
  // the sink; with no `expected` one is also returned.
  std::vector<std::byte> receive(std::chrono::milliseconds timeout, std::uint32_t expected = 0) const;
  // Hands every file report already queued to the sink, without waiting
  // and without taking any other message; false if the peer has closed
  // its end and nothing else is queued.
  bool drain_reports() const;
  // PID (in our PID namespace) of the sender of the last message received.
  pid_t peer_pid() const;
  void set_report_sink(ReportSink* sink) { sink_ = sink; }

 private:
  int fd_ = -1;
  ReportSink* sink_ = nullptr;
  mutable pid_t sender_pid_ = -1;
};

// A connected pair: first = coordinator's end (close-on-exec), second =
// the process's end (inheritable).
std::pair<Channel, int> make_control_pair();

template <class Message>
Message message_as(const std::vector<std::byte>& bytes) {
  Message message{};
  std::memcpy(&message, bytes.data(), std::min(bytes.size(), sizeof message));
  return message;
}

}  // namespace ckpt::engine
