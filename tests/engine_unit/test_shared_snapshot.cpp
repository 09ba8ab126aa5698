// choose_object_copies(): which twins' mappings the coordinator fills with
// shared memory at a checkpoint, so every mapped byte of every object is
// copied once with the whole group stopped.
#include <catch2/catch.hpp>

#include <vector>

#include "shared_snapshot.hpp"

using ckpt::engine::choose_object_copies;

namespace {

constexpr std::uint64_t kPage = 4096;

// A mapping at `start` of `pages` pages of object `inode`, from `offset`.
CkptSharedCopy mapping(std::uint64_t start, std::uint64_t pages, std::uint64_t inode,
                       std::uint64_t offset = 0) {
  return CkptSharedCopy{start, start + pages * kPage, 5, inode, offset, 0};
}

}  // namespace

TEST_CASE("an object mapped by several processes is copied from one of them",
          "[engine][shared]") {
  // three processes (forked: same addresses), each mapping objects 10 and 11
  const std::vector<CkptSharedCopy> copies = {
      mapping(0x10000, 1, 10), mapping(0x20000, 1, 11),  // first process
      mapping(0x10000, 1, 10), mapping(0x20000, 1, 11),  // second
      mapping(0x10000, 1, 10), mapping(0x20000, 1, 11),  // third
  };
  CHECK(choose_object_copies(copies) == std::vector<std::size_t>{0, 1});
}

TEST_CASE("one object mapped twice in one process is copied once", "[engine][shared]") {
  // page 0 at two addresses, page 1 apart (the memfd of tree.shared_memory)
  const std::vector<CkptSharedCopy> copies = {mapping(0x10000, 1, 7, 0), mapping(0x20000, 1, 7, kPage),
                                              mapping(0x30000, 1, 7, 0)};
  CHECK(choose_object_copies(copies) == std::vector<std::size_t>{0, 1});
}

TEST_CASE("the largest mapping is preferred; parts nobody else covers are added",
          "[engine][shared]") {
  const std::vector<CkptSharedCopy> copies = {
      mapping(0x10000, 2, 3, 0),          // pages 0-1: inside the next one
      mapping(0x40000, 4, 3, kPage),      // pages 1-4
      mapping(0x90000, 2, 3, 4 * kPage),  // pages 4-5: page 5 is not covered yet
      mapping(0xa0000, 1, 3, 3 * kPage),  // page 3: covered
  };
  // 1 first (largest), then 0 (page 0 missing), 2 (page 5 missing); 3 skipped
  CHECK(choose_object_copies(copies) == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("objects are told apart by device and inode", "[engine][shared]") {
  std::vector<CkptSharedCopy> copies = {mapping(0x10000, 1, 9), mapping(0x10000, 1, 9)};
  copies[1].dev = 6;  // same inode number on another device: another object
  CHECK(choose_object_copies(copies) == std::vector<std::size_t>{0, 1});
  CHECK(choose_object_copies({}).empty());
}
