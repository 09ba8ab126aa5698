// The `hash` dirty-page engine: which pages an incremental generation stores.
#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

#include "page_hashes.hpp"
#include "schema.hpp"

namespace {

using ckpt::engine::PageHashes;
using ckpt::image::kPageSize;

std::vector<std::byte> page_of(unsigned char value) {
  return std::vector<std::byte>(kPageSize, std::byte{value});
}

// Captures pages at `addresses` with the given contents; returns which
// ones changed, and commits the generation if `commit`.
std::vector<bool> capture(PageHashes& hashes, const std::vector<std::uint64_t>& addresses,
                          const std::vector<unsigned char>& values, bool commit = true) {
  auto process = hashes.begin(7);
  std::vector<bool> changed;
  for (std::size_t i = 0; i < addresses.size(); ++i)
    changed.push_back(process.changed(addresses[i], page_of(values[i]).data()));
  hashes.finish(7, process);
  if (commit) hashes.commit();
  return changed;
}

}  // namespace

TEST_CASE(
    "before any committed generation every page is stored and incrementals are not possible") {
  PageHashes hashes;
  CHECK_FALSE(hashes.valid());
  CHECK(capture(hashes, {0x1000, 0x2000}, {1, 2}) == std::vector<bool>{true, true});
  CHECK(hashes.valid());
}

TEST_CASE("only pages whose content changed are stored") {
  PageHashes hashes;
  capture(hashes, {0x1000, 0x2000, 0x3000}, {1, 2, 3});
  CHECK(capture(hashes, {0x1000, 0x2000, 0x3000}, {1, 9, 3}) ==
        std::vector<bool>{false, true, false});
}

TEST_CASE(
    "a page at a new address is stored even with known content; a gap does not confuse the walk") {
  PageHashes hashes;
  capture(hashes, {0x1000, 0x5000}, {1, 5});
  CHECK(capture(hashes, {0x1000, 0x3000, 0x5000, 0x9000}, {1, 1, 5, 5}) ==
        std::vector<bool>{false, true, false, true});
}

TEST_CASE("a failed generation leaves the last committed one as the reference") {
  PageHashes hashes;
  capture(hashes, {0x1000}, {1});
  capture(hashes, {0x1000}, {2}, /*commit=*/false);
  hashes.discard();
  CHECK(capture(hashes, {0x1000}, {2}) == std::vector<bool>{true});  // compared with 1, not 2
}

TEST_CASE("another process's pages are not a reference") {
  PageHashes hashes;
  capture(hashes, {0x1000}, {1});
  auto other = hashes.begin(8);
  CHECK(other.changed(0x1000, page_of(1).data()));
}
