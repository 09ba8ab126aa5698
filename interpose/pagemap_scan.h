/* The PAGEMAP_SCAN ioctl on /proc/PID/pagemap and userfaultfd's
 * asynchronous write protection (Linux 6.7), newer than Debian 12's kernel
 * headers (6.1): the kernel ABI, used by the agent's uffd-wp engine and
 * by the coordinator. */
#ifndef CKPT_PAGEMAP_SCAN_H
#define CKPT_PAGEMAP_SCAN_H

#include <stdint.h>
#include <sys/ioctl.h>

typedef struct {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
} CkptPageScanArgument; /* struct pm_scan_arg */

typedef struct {
  uint64_t start, end, categories;
} CkptPageRegion; /* struct page_region */

#define CKPT_PAGEMAP_SCAN _IOWR('f', 16, CkptPageScanArgument)
#define CKPT_PAGE_IS_WPALLOWED (1u << 0)
#define CKPT_PAGE_IS_WRITTEN (1u << 1)
#define CKPT_PAGE_IS_PRESENT (1u << 3)
#define CKPT_PAGE_IS_SWAPPED (1u << 4)
#define CKPT_PAGE_IS_PFNZERO (1u << 5)
#define CKPT_PM_SCAN_WP_MATCHING (1u << 0)

#define CKPT_UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#define CKPT_UFFD_FEATURE_WP_ASYNC (1ull << 15)

#endif
