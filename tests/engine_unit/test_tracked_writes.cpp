// The agents' dirty-page lists as the coordinator uses them: when they
// count, and which pieces of a region are read as written, skipped, or
// compared by hash.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "tracked_writes.hpp"

namespace {

using ckpt::engine::TrackedWrites;
using Pieces = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

struct Lists {
  std::vector<CkptRange> tracked, written;
  std::unique_ptr<CkptAgentState> agent = std::make_unique<CkptAgentState>();

  Lists(std::vector<CkptRange> tracked_ranges, std::vector<CkptRange> written_ranges)
      : tracked(std::move(tracked_ranges)), written(std::move(written_ranges)) {
    agent->dirty_engine = CKPT_DIRTY_UFFD_WP;
    agent->dirty_complete = 1;
    agent->dirty_since_epoch = 4;
    agent->dirty_tracked = reinterpret_cast<std::uint64_t>(tracked.data());
    agent->dirty_tracked_count = tracked.size();
    agent->dirty_written = reinterpret_cast<std::uint64_t>(written.data());
    agent->dirty_written_count = written.size();
  }
  // Read from this very process, as the coordinator reads a twin.
  TrackedWrites read(std::uint64_t committed_epoch) const {
    return TrackedWrites::read(::getpid(), *agent, committed_epoch);
  }
};

void split(const TrackedWrites& writes, std::uint64_t start, std::uint64_t end, Pieces& outside,
           Pieces& written) {
  writes.split(
      start, end, [&](std::uint64_t s, std::uint64_t e) { outside.emplace_back(s, e); },
      [&](std::uint64_t s, std::uint64_t e) { written.emplace_back(s, e); });
}

}  // namespace

TEST_CASE("dirty lists count only if complete and since the last committed generation") {
  Lists lists({{0x10000, 0x20000}}, {{0x11000, 0x12000}});
  CHECK_FALSE(lists.read(4).empty());
  CHECK(lists.read(3).empty());  // a checkpoint in between failed
  CHECK(lists.read(0).empty());  // nothing committed in this run
  lists.agent->dirty_complete = 0;
  CHECK(lists.read(4).empty());
  lists.agent->dirty_complete = 1;
  lists.agent->dirty_engine = CKPT_DIRTY_NONE;
  CHECK(lists.read(4).empty());
}

TEST_CASE("a region splits into hashed, written and skipped pieces") {
  // Written ranges as an agent publishes them: scan results, then dropped
  // pages in call order (unsorted, overlapping, crossing tracked bounds).
  const Lists lists({{0x10000, 0x20000}, {0x30000, 0x40000}}, {{0x12000, 0x13000},
                                                               {0x1f000, 0x31000},
                                                               {0x15000, 0x16000},
                                                               {0x12000, 0x12800},
                                                               {0x3e000, 0x3f000}});
  const TrackedWrites writes = lists.read(4);
  CHECK(writes.written_pages() == 1 + 1 + 0x12 + 1);
  Pieces outside, written;
  split(writes, 0x0, 0x50000, outside, written);
  CHECK(outside == Pieces{{0x0, 0x10000}, {0x20000, 0x30000}, {0x40000, 0x50000}});
  CHECK(written == Pieces{{0x12000, 0x13000},
                          {0x15000, 0x16000},
                          {0x1f000, 0x20000},
                          {0x30000, 0x31000},
                          {0x3e000, 0x3f000}});

  outside.clear();
  written.clear();
  split(writes, 0x18000, 0x34000, outside, written);
  CHECK(outside == Pieces{{0x20000, 0x30000}});
  CHECK(written == Pieces{{0x1f000, 0x20000}, {0x30000, 0x31000}});

  outside.clear();
  written.clear();
  split(writes, 0x17000, 0x1e000, outside, written);  // tracked, nothing written: all skipped
  CHECK(outside.empty());
  CHECK(written.empty());
}

TEST_CASE("nothing tracked: the whole region is compared by hash") {
  const TrackedWrites none;
  Pieces outside, written;
  split(none, 0x1000, 0x9000, outside, written);
  CHECK(outside == Pieces{{0x1000, 0x9000}});
  CHECK(written.empty());
}
