// A generation written from synthetic processes reads back exactly:
// tables, page addresses, page bytes, zero pages omitted; for every codec.
#include <catch2/catch.hpp>

#include "chain.hpp"
#include "synthetic.hpp"
#include "temp_folder.hpp"
#include "byte_compare.hpp"

using namespace ckpt::image;
using ckpt::image::testing::SimulatedProcess;

namespace {

void require_process_equals(const ResolvedChain& chain, const ResolvedProcess& resolved,
                            const SimulatedProcess& expected) {
  REQUIRE(resolved.tables == expected.tables());
  PageReader reader(chain);
  std::vector<std::byte> page(kPageSize);
  std::vector<std::uint64_t> nonzero;
  for (const auto address : expected.mapped_pages()) {
    const auto bytes = expected.page(address);
    if (!is_zero_page(bytes.data())) nonzero.push_back(address);
  }
  REQUIRE(resolved.addresses == nonzero);
  for (std::size_t i = 0; i < resolved.addresses.size(); ++i) {
    reader.read_page(resolved, i, page.data());
    REQUIRE(same_bytes(page, expected.page(resolved.addresses[i])));
  }
}

}  // namespace

TEST_CASE("a full generation round-trips for every codec", "[image][roundtrip]") {
  const auto codec = GENERATE(Codec::kNone, Codec::kLz4, Codec::kZstd);
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job-1", "version = 1\n"});

  std::vector<SimulatedProcess> processes;
  for (int p = 0; p < 3; ++p) {
    processes.emplace_back(200 + p, 7 + p);
    processes.back().map_region(0x10000, 3, 0.0, 1.0, RegionKind::kHeap);   // tiny, all random
    processes.back().map_region(0x7f0000000000, 700, 0.4, 0.3);             // > 2 chunks, mixed
    processes.back().map_region(0x7f1000000000, 64, 1.0, 0.0);              // all zero
  }
  GenerationOptions options;
  options.codec = codec;
  options.workers = 2;
  auto pending = image.begin_generation(options);
  for (auto& process : processes) process.write_to(pending.writer(), false);
  const auto zero_pages = pending.writer().zero_pages_skipped();
  const auto stored = pending.writer().pages_stored();
  REQUIRE(image.commit(std::move(pending)) == 1);
  CHECK(zero_pages >= 3 * 64);
  CHECK(stored + zero_pages == 3 * (3 + 700 + 64));

  Image reopened = Image::open(folder.file("job.h5"));
  CHECK(reopened.metadata().job == "job-1");
  CHECK(reopened.metadata().policy_text == "version = 1\n");
  REQUIRE(reopened.generations().size() == 1);
  const ResolvedChain chain = resolve_chain(reopened);
  CHECK(chain.readers.front()->header().codec == codec);
  REQUIRE(chain.processes.size() == 3);
  for (std::size_t p = 0; p < 3; ++p) require_process_equals(chain, chain.processes[p], processes[p]);
}

TEST_CASE("an uncommitted generation leaves no trace", "[image][roundtrip]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  {
    auto pending = image.begin_generation({});
    SimulatedProcess process(5, 1);
    process.map_region(0x1000, 10, 0.0, 1.0);
    process.write_to(pending.writer(), false);
  }  // dropped without commit
  Image reopened = Image::open(folder.file("job.h5"));
  CHECK(reopened.generations().empty());
  CHECK(reopened.current_chain().empty());
  CHECK_THROWS_WITH(resolve_chain(reopened), Catch::Contains("no committed checkpoint"));
  CHECK(std::filesystem::directory_iterator(folder.file("job.h5.d")) !=
        std::filesystem::directory_iterator());  // only the lock file remains
  for (const auto& entry : std::filesystem::directory_iterator(folder.file("job.h5.d"))) {
    CHECK(entry.path().filename() == "lock");
  }
}

TEST_CASE("an incremental generation needs a full one first", "[image][roundtrip]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  GenerationOptions options;
  options.kind = GenerationKind::kIncremental;
  CHECK_THROWS_WITH(image.begin_generation(options), Catch::Contains("needs a committed full"));
}

TEST_CASE("pages must ascend within a process", "[image][roundtrip]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  auto pending = image.begin_generation({});
  std::vector<std::byte> page(kPageSize, std::byte{1});
  pending.writer().begin_process({.pid = 1});
  pending.writer().add_page(0x2000, page.data());
  CHECK_THROWS_WITH(pending.writer().add_page(0x1000, page.data()), Catch::Contains("ascend"));
}
