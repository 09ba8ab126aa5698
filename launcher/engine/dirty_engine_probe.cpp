#include "dirty_engine_probe.hpp"

#include "owned_fd.hpp"
#include "pagemap_scan.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ckpt::engine {
namespace {

class Page {
 public:
  Page()
      : address_(
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {}
  ~Page() {
    if (address_ != MAP_FAILED) ::munmap(address_, 4096);
  }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  bool ok() const { return address_ != MAP_FAILED; }
  char* bytes() const { return static_cast<char*>(address_); }

 private:
  void* address_;
};

std::string failure(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

std::string uffd_wp_unavailable() {
  const OwnedFd uffd(
      static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)));
  if (uffd.get() < 0) return failure("userfaultfd()");
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = CKPT_UFFD_FEATURE_WP_ASYNC | CKPT_UFFD_FEATURE_WP_UNPOPULATED;
  if (::ioctl(uffd.get(), UFFDIO_API, &api) < 0) {
    return "the kernel has no asynchronous userfaultfd write protection (needs Linux 6.7)";
  }
  const OwnedFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (pagemap.get() < 0) return failure("/proc/self/pagemap");
  const Page page;
  if (!page.ok()) return failure("mmap");
  page.bytes()[0] = 1;
  uffdio_register registration{};
  registration.range = {reinterpret_cast<std::uint64_t>(page.bytes()), 4096};
  registration.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(uffd.get(), UFFDIO_REGISTER, &registration) < 0) return failure("UFFDIO_REGISTER");
  CkptPageRegion region{};
  CkptPageScanArgument scan{};
  scan.size = sizeof scan;
  scan.flags = CKPT_PM_SCAN_WP_MATCHING;
  scan.start = registration.range.start;
  scan.end = scan.start + 4096;
  scan.vec = reinterpret_cast<std::uint64_t>(&region);
  scan.vec_len = 1;
  scan.category_mask = scan.return_mask = CKPT_PAGE_IS_WRITTEN;
  if (::ioctl(pagemap.get(), CKPT_PAGEMAP_SCAN, &scan) < 0) {
    return "the kernel has no PAGEMAP_SCAN ioctl (needs Linux 6.7)";
  }
  // Protected now: a write must show again.
  page.bytes()[1] = 2;
  scan.flags = 0;
  if (::ioctl(pagemap.get(), CKPT_PAGEMAP_SCAN, &scan) != 1)
    return "a written page was not reported by PAGEMAP_SCAN";
  return "";
}

std::string soft_dirty_unavailable() {
  const Page page;
  if (!page.ok()) return failure("mmap");
  page.bytes()[0] = 1;
  {
    const OwnedFd clear(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
    if (clear.get() < 0) return failure("/proc/self/clear_refs");
    if (::write(clear.get(), "4", 1) != 1) return failure("clear_refs");
  }
  page.bytes()[0] = 2;
  const OwnedFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (pagemap.get() < 0) return failure("/proc/self/pagemap");
  std::uint64_t entry = 0;
  const off_t offset =
      static_cast<off_t>(reinterpret_cast<std::uintptr_t>(page.bytes()) / 4096 * 8);
  if (::pread(pagemap.get(), &entry, sizeof entry, offset) != sizeof entry)
    return failure("pagemap");
  if (((entry >> 55) & 1) == 0)
    return "this kernel does not set soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)";
  return "";
}

}  // namespace ckpt::engine
