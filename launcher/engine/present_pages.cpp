#include "present_pages.hpp"

#include "pagemap_scan.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

namespace ckpt::engine {

PresentPages::PresentPages(pid_t pid)
    : pagemap_(
          ::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC)) {}

bool PresentPages::runs(std::uint64_t start, std::uint64_t end,
                        std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) {
  out.clear();
  if (pagemap_.get() < 0) return false;
  CkptPageRegion regions[512];
  for (std::uint64_t from = start; from < end;) {
    CkptPageScanArgument scan{};
    scan.size = sizeof scan;
    scan.start = from;
    scan.end = end;
    scan.vec = reinterpret_cast<std::uint64_t>(regions);
    scan.vec_len = sizeof regions / sizeof regions[0];
    scan.category_inverted = CKPT_PAGE_IS_PFNZERO;  // not the zero page...
    scan.category_mask = CKPT_PAGE_IS_PFNZERO;
    scan.category_anyof_mask =
        CKPT_PAGE_IS_PRESENT | CKPT_PAGE_IS_SWAPPED;  // ...and present or swapped out
    scan.return_mask = CKPT_PAGE_IS_PRESENT | CKPT_PAGE_IS_SWAPPED;
    const int got = ::ioctl(pagemap_.get(), CKPT_PAGEMAP_SCAN, &scan);
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
