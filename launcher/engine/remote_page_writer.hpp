// Writes page chunks into another process's memory on a thread of its own,
// so that reading the next chunk from the image (on the caller's thread)
// overlaps with the kernel filling the target's fresh pages.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ckpt::engine {

// One chunk's worth of work: `bytes` holds the data; `pieces` say which
// byte ranges of it go to which addresses of the target.
struct RemoteWrite {
  std::vector<std::byte> bytes;
  struct Piece {
    std::size_t offset;
    std::uint64_t address;
    std::size_t length;
  };
  std::vector<Piece> pieces;
};

class RemotePageWriter {
 public:
  // `buffers` writes may be queued or in flight at once.
  RemotePageWriter(pid_t pid, std::size_t buffers);
  ~RemotePageWriter();
  RemotePageWriter(const RemotePageWriter&) = delete;
  RemotePageWriter& operator=(const RemotePageWriter&) = delete;

  // A recycled (or new) empty write to fill; blocks while all are busy.
  RemoteWrite take();
  // Queues a filled write. Throws the writer's error, if it had one.
  void submit(RemoteWrite write);
  // Waits until everything queued is written; throws the first error.
  void finish();

 private:
  void run();
  void write_one(const RemoteWrite& write);
  void throw_if_failed();

  pid_t pid_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RemoteWrite> queued_;
  std::vector<RemoteWrite> free_;
  std::size_t outstanding_ = 0;
  std::size_t capacity_;
  bool stopping_ = false;
  std::string error_;
  std::thread thread_;
};

}  // namespace ckpt::engine
