#include "tracked_writes.hpp"

#include <algorithm>

#include "process_capture.hpp"

namespace ckpt::engine {
namespace {

// Sorted and merged (the dropped-pages part of the written list is in
// call order and may overlap).
std::vector<CkptRange> normalized(std::vector<CkptRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const CkptRange& a, const CkptRange& b) { return a.start < b.start; });
  std::vector<CkptRange> merged;
  for (const CkptRange& range : ranges) {
    if (range.end <= range.start) continue;
    if (!merged.empty() && range.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, range.end);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::vector<CkptRange> read_list(pid_t pid, std::uint64_t address, std::uint64_t count) {
  std::vector<CkptRange> ranges(count);
  if (count > 0) read_remote(pid, address, ranges.data(), count * sizeof(CkptRange));
  return ranges;
}

}  // namespace

TrackedWrites TrackedWrites::read(pid_t pid, const CkptAgentState& agent,
                                  std::uint64_t committed_epoch) {
  TrackedWrites writes;
  if (agent.dirty_engine == CKPT_DIRTY_NONE || agent.dirty_complete == 0 || committed_epoch == 0 ||
      agent.dirty_since_epoch != committed_epoch) {
    return writes;
  }
  writes.tracked_ = normalized(read_list(pid, agent.dirty_tracked, agent.dirty_tracked_count));
  writes.written_ = normalized(read_list(pid, agent.dirty_written, agent.dirty_written_count));
  return writes;
}

std::uint64_t TrackedWrites::written_pages() const {
  std::uint64_t pages = 0;
  for (const CkptRange& range : written_) pages += (range.end - range.start) / 4096;
  return pages;
}

}  // namespace ckpt::engine
