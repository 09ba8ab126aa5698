// mark_shared(): shared memory the checkpoint twin turned into a private
// copy is flagged shared again in the region table, split where needed.
#include <catch2/catch.hpp>

#include "process_capture.hpp"

using ckpt::engine::mark_shared;
using ckpt::image::Region;

namespace {

Region region(std::uint64_t start, std::uint64_t end, std::string path = "",
              std::uint64_t file_offset = 0) {
  Region result;
  result.start = start;
  result.end = end;
  result.path = std::move(path);
  result.file_offset = file_offset;
  return result;
}

bool shared(const Region& r) { return (r.flags & ckpt::image::kRegionShared) != 0; }

}  // namespace

TEST_CASE("a region inside the copied range is flagged shared as a whole", "[engine][regions]") {
  const auto result = mark_shared({region(0x1000, 0x3000), region(0x5000, 0x6000)}, {0x1000, 0x3000});
  REQUIRE(result.size() == 2);
  CHECK(shared(result[0]));
  CHECK_FALSE(shared(result[1]));
}

TEST_CASE("a region merged with its private neighbour is split at the copy's bounds",
          "[engine][regions]") {
  const auto result = mark_shared({region(0x1000, 0x8000)}, {0x3000, 0x5000});
  REQUIRE(result.size() == 3);
  CHECK((result[0].start == 0x1000 && result[0].end == 0x3000 && !shared(result[0])));
  CHECK((result[1].start == 0x3000 && result[1].end == 0x5000 && shared(result[1])));
  CHECK((result[2].start == 0x5000 && result[2].end == 0x8000 && !shared(result[2])));
}

TEST_CASE("a split file region keeps its file offsets", "[engine][regions]") {
  const auto result = mark_shared({region(0x10000, 0x14000, "/data/file", 0x2000)}, {0x12000, 0x20000});
  REQUIRE(result.size() == 2);
  CHECK(result[0].file_offset == 0x2000);
  CHECK(result[1].file_offset == 0x4000);
  CHECK(shared(result[1]));
}

TEST_CASE("regions outside the copied range are left alone", "[engine][regions]") {
  const auto result = mark_shared({region(0x1000, 0x2000), region(0x9000, 0xa000)}, {0x3000, 0x4000});
  REQUIRE(result.size() == 2);
  CHECK_FALSE(shared(result[0]));
  CHECK_FALSE(shared(result[1]));
}
