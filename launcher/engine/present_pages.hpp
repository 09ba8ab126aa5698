// Which pages of another process's anonymous memory hold anything: the
// PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7+). A full generation
// stores no zero pages, and reading a never-touched page through
// /proc/PID/mem costs as much as a written one (about 6 s per GiB of
// sparse memory here), so only present or swapped pages that are not the
// shared zero page are read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "owned_fd.hpp"

namespace ckpt::engine {

class PresentPages {
 public:
  explicit PresentPages(pid_t pid);
  PresentPages(const PresentPages&) = delete;
  PresentPages& operator=(const PresentPages&) = delete;

  // The runs of [start, end) that may hold data, ascending; false if the
  // kernel cannot tell (then every page must be read).
  bool runs(std::uint64_t start, std::uint64_t end,
            std::vector<std::pair<std::uint64_t, std::uint64_t>>& out);

 private:
  OwnedFd pagemap_;
};

}  // namespace ckpt::engine
