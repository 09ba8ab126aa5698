// Which dirty-page engines this kernel offers (policy dirty_tracking).
#pragma once

#include <string>

namespace ckpt::engine {

// Empty if userfaultfd asynchronous write protection and the PAGEMAP_SCAN
// ioctl work for this (unprivileged) process; else why not.
std::string uffd_wp_unavailable();

// Empty if soft-dirty bits work (a written page shows bit 55 of
// /proc/self/pagemap after clear_refs 4); else why not.
std::string soft_dirty_unavailable();

}  // namespace ckpt::engine
