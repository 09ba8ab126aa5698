// What a process's dirty-page engine saw since the last checkpoint
// (uffd-wp, mprotect: interpose/dirty_tracking.hpp), read from its agent
// state through the twin. Inside the tracked ranges an incremental
// generation stores only the written pages; outside them pages are
// compared by hash (page_hashes.hpp), so memory an engine does not cover
// is never missed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "protocol.h"

namespace ckpt::engine {

class TrackedWrites {
 public:
  TrackedWrites() = default;
  // The engine's lists of process `pid`, if they are complete and cover
  // exactly the time since the checkpoint of `committed_epoch` (the last
  // committed generation, which captured this process); else nothing is
  // tracked.
  static TrackedWrites read(pid_t pid, const CkptAgentState& agent, std::uint64_t committed_epoch);

  bool empty() const { return tracked_.empty(); }
  std::uint64_t written_pages() const;

  // Splits [start, end): outside(s, e) for the pieces nothing tracked,
  // written(s, e) for the written pieces inside tracked ranges (the rest of
  // those is unchanged and skipped). Pieces come in ascending order.
  template <class Outside, class Written>
  void split(std::uint64_t start, std::uint64_t end, Outside outside, Written written) const;

 private:
  std::vector<CkptRange> tracked_, written_;  // ascending, disjoint, merged
};

template <class Outside, class Written>
void TrackedWrites::split(std::uint64_t start, std::uint64_t end, Outside outside,
                          Written written) const {
  std::uint64_t at = start;
  for (const CkptRange& range : tracked_) {
    if (range.end <= at) continue;
    if (range.start >= end) break;
    if (range.start > at) outside(at, range.start);
    const std::uint64_t inside_end = range.end < end ? range.end : end;
    const std::uint64_t inside_start = range.start > at ? range.start : at;
    for (const CkptRange& write : written_) {
      if (write.end <= inside_start) continue;
      if (write.start >= inside_end) break;
      written(write.start > inside_start ? write.start : inside_start,
              write.end < inside_end ? write.end : inside_end);
    }
    at = inside_end;
    if (at >= end) return;
  }
  if (at < end) outside(at, end);
}

}  // namespace ckpt::engine
