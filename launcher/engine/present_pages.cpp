#include "present_pages.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

namespace ckpt::engine {
namespace {

// Newer than Debian 12's kernel headers (as in dirty_engine_probe.cpp).
struct PageScanArgument {
  std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
struct PageRegion {
  std::uint64_t start, end, categories;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PageScanArgument);
constexpr std::uint64_t kPresent = 1u << 3;
constexpr std::uint64_t kSwapped = 1u << 4;
constexpr std::uint64_t kZeroPage = 1u << 5;

}  // namespace

PresentPages::PresentPages(pid_t pid)
    : pagemap_(
          ::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC)) {}

PresentPages::~PresentPages() {
  if (pagemap_ >= 0) ::close(pagemap_);
}

bool PresentPages::runs(std::uint64_t start, std::uint64_t end,
                        std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) {
  out.clear();
  if (pagemap_ < 0) return false;
  PageRegion regions[512];
  for (std::uint64_t from = start; from < end;) {
    PageScanArgument scan{};
    scan.size = sizeof scan;
    scan.start = from;
    scan.end = end;
    scan.vec = reinterpret_cast<std::uint64_t>(regions);
    scan.vec_len = sizeof regions / sizeof regions[0];
    scan.category_inverted = kZeroPage;  // not the zero page...
    scan.category_mask = kZeroPage;
    scan.category_anyof_mask = kPresent | kSwapped;  // ...and present or swapped out
    scan.return_mask = kPresent | kSwapped;
    const int got = ::ioctl(pagemap_, kPagemapScan, &scan);
    if (got < 0) return false;
    for (int i = 0; i < got; ++i) {
      if (!out.empty() && out.back().second == regions[i].start) {
        out.back().second = regions[i].end;
      } else {
        out.emplace_back(regions[i].start, regions[i].end);
      }
    }
    if (scan.walk_end <= from) return false;
    from = scan.walk_end;
  }
  return true;
}

}  // namespace ckpt::engine
