#include "remote_page_writer.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace ckpt::engine {

RemotePageWriter::RemotePageWriter(pid_t pid, std::size_t buffers)
    : pid_(pid), capacity_(buffers), thread_([this] { run(); }) {}

RemotePageWriter::~RemotePageWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

RemoteWrite RemotePageWriter::take() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return outstanding_ < capacity_ || !error_.empty(); });
  throw_if_failed();
  ++outstanding_;
  if (free_.empty()) return {};
  RemoteWrite write = std::move(free_.back());
  free_.pop_back();
  write.pieces.clear();
  return write;
}

void RemotePageWriter::submit(RemoteWrite write) {
  {
    std::lock_guard lock(mutex_);
    throw_if_failed();
    queued_.push_back(std::move(write));
  }
  changed_.notify_all();
}

void RemotePageWriter::finish() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return outstanding_ == 0 || !error_.empty(); });
  throw_if_failed();
}

void RemotePageWriter::throw_if_failed() {
  if (!error_.empty()) throw std::runtime_error(error_);
}

void RemotePageWriter::run() {
  for (;;) {
    RemoteWrite write;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) return;
      write = std::move(queued_.front());
      queued_.pop_front();
    }
    std::string failure;
    try {
      write_one(write);
    } catch (const std::exception& error) {
      failure = error.what();
    }
    {
      std::lock_guard lock(mutex_);
      if (error_.empty()) error_ = failure;
      --outstanding_;
      free_.push_back(std::move(write));
    }
    changed_.notify_all();
  }
}

void RemotePageWriter::write_one(const RemoteWrite& write) {
  std::vector<iovec> local, remote;
  std::size_t total = 0;
  auto flush = [&] {
    if (local.empty()) return;
    const ssize_t done = ::process_vm_writev(pid_, local.data(), local.size(), remote.data(),
                                             remote.size(), 0);
    if (done != static_cast<ssize_t>(total)) {
      throw std::runtime_error(std::string("cannot write the memory of the restored process: ") +
                               (done < 0 ? std::strerror(errno) : "short write"));
    }
    local.clear();
    remote.clear();
    total = 0;
  };
  for (const auto& piece : write.pieces) {
    if (local.size() == IOV_MAX) flush();
    local.push_back({const_cast<std::byte*>(write.bytes.data() + piece.offset), piece.length});
    remote.push_back({reinterpret_cast<void*>(piece.address), piece.length});
    total += piece.length;
  }
  flush();
}

}  // namespace ckpt::engine
