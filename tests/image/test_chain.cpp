// Chains of overlapping incrementals resolve to the newest bytes of every
// page, through writes, zeroing, unmap, remap at the same address, new and
// exited processes; merging yields the same content as the chain.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "chain.hpp"
#include "merge.hpp"
#include "synthetic.hpp"
#include "temp_folder.hpp"
#include "byte_compare.hpp"

using namespace ckpt::image;
using ckpt::image::testing::PageFlavour;
using ckpt::image::testing::SimulatedProcess;

namespace {

using ProcessMap = std::map<std::int64_t, SimulatedProcess>;

void require_chain_matches(const Image& image, const ProcessMap& processes) {
  const ResolvedChain chain = resolve_chain(image);
  REQUIRE(chain.processes.size() == processes.size());
  PageReader reader(chain);
  std::vector<std::byte> page(kPageSize);
  for (const auto& resolved : chain.processes) {
    const auto& expected = processes.at(resolved.tables.info.pid);
    std::vector<std::uint64_t> nonzero;
    for (const auto address : expected.mapped_pages()) {
      if (!is_zero_page(expected.page(address).data())) nonzero.push_back(address);
    }
    REQUIRE(resolved.addresses == nonzero);
    for (std::size_t i = 0; i < resolved.addresses.size(); ++i) {
      reader.read_page(resolved, i, page.data());
      REQUIRE(same_bytes(page, expected.page(resolved.addresses[i])));
    }
  }
}

std::uint64_t commit_generation(Image& image, ProcessMap& processes, bool incremental,
                                Codec codec = Codec::kLz4) {
  GenerationOptions options;
  options.kind = incremental ? GenerationKind::kIncremental : GenerationKind::kFull;
  options.codec = codec;
  auto pending = image.begin_generation(options);
  for (auto& [pid, process] : processes) process.write_to(pending.writer(), incremental);
  return image.commit(std::move(pending));
}

}  // namespace

TEST_CASE("chains of incrementals resolve to the newest page content", "[image][chain]") {
  const auto codec = GENERATE(Codec::kLz4, Codec::kNone);
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  ProcessMap processes;
  processes.emplace(10, SimulatedProcess(10, 1));
  processes.emplace(11, SimulatedProcess(11, 2));
  for (auto& [pid, process] : processes) {
    process.map_region(0x100000, 300, 0.3, 0.3, RegionKind::kHeap);
    process.map_region(0x7f0000000000, 520, 0.2, 0.4);
    process.map_region(0x7f0100000000, 40, 0.0, 1.0);
  }
  commit_generation(image, processes, false, codec);
  require_chain_matches(image, processes);

  // 1: overlapping random writes, including pages that become zero.
  for (auto& [pid, process] : processes) process.write_random_pages(150);
  commit_generation(image, processes, true, codec);
  require_chain_matches(image, processes);

  // 2: a page written twice across generations, one zeroed explicitly.
  auto& first = processes.at(10);
  first.write_page(0x100000, PageFlavour::kRandom);
  first.write_page(0x101000, PageFlavour::kZero);
  first.write_random_pages(80);
  commit_generation(image, processes, true, codec);
  require_chain_matches(image, processes);

  // 3: unmap a region, and map a new one at the same address (fresh).
  first.unmap_region(0x7f0100000000);
  first.map_region(0x7f0100000000, 20, 0.5, 0.0);
  processes.at(11).unmap_region(0x7f0100000000);
  commit_generation(image, processes, true, codec);
  require_chain_matches(image, processes);

  // 4: a new process joins, another exits.
  processes.erase(11);
  processes.emplace(12, SimulatedProcess(12, 3));
  processes.at(12).map_region(0x200000, 50, 0.1, 0.5);
  commit_generation(image, processes, true, codec);
  require_chain_matches(image, processes);

  // 5: more overlapping writes on the remaining ones.
  for (auto& [pid, process] : processes) process.write_random_pages(60);
  commit_generation(image, processes, true, codec);
  require_chain_matches(image, processes);
  REQUIRE(image.current_chain().size() == 6);

  SECTION("merge equals the chain and replaces it") {
    const auto before = image.generations();
    const MergeResult merged = merge_current_chain(image);
    CHECK(merged.folded == 6);
    CHECK(merged.seq == 7);
    REQUIRE(image.generations().size() == 1);
    CHECK(image.generations().front().kind == static_cast<std::uint32_t>(GenerationKind::kFull));
    // A merged generation is full: it builds on nothing, in the index and in its file.
    CHECK(image.generations().front().parent == 0);
    const GenerationReader merged_file(image.generation_path(image.generations().front()));
    CHECK(merged_file.header().kind == GenerationKind::kFull);
    CHECK(merged_file.header().parent == 0);
    for (const auto& old : before) CHECK_FALSE(std::filesystem::exists(image.generation_path(old)));
    Image reopened = Image::open(folder.file("job.h5"));
    require_chain_matches(reopened, processes);

    // The merged image takes incrementals again.
    for (auto& [pid, process] : processes) process.write_random_pages(30);
    commit_generation(reopened, processes, true, codec);
    require_chain_matches(reopened, processes);
    CHECK(merge_current_chain(reopened).folded == 2);
    const GenerationEntry& remerged = reopened.generations().back();
    CHECK(remerged.parent == 0);
    CHECK(GenerationReader(reopened.generation_path(remerged)).header().parent == 0);
    CHECK(merge_current_chain(reopened).seq == 0);  // nothing left to fold
    require_chain_matches(reopened, processes);
  }
}

TEST_CASE("retention keeps the newest full chains only", "[image][chain]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  ProcessMap processes;
  processes.emplace(1, SimulatedProcess(1, 9));
  processes.at(1).map_region(0x1000, 8, 0.0, 1.0);
  auto commit = [&](bool incremental) {
    GenerationOptions options;
    options.kind = incremental ? GenerationKind::kIncremental : GenerationKind::kFull;
    auto pending = image.begin_generation(options);
    processes.at(1).write_random_pages(2);
    processes.at(1).write_to(pending.writer(), incremental);
    return image.commit(std::move(pending), 2);
  };
  commit(false);  // 1
  commit(true);   // 2
  commit(false);  // 3
  commit(true);   // 4
  CHECK(image.generations().size() == 4);
  commit(false);  // 5: the chain of 1 goes
  std::vector<std::uint64_t> seqs;
  for (const auto& entry : image.generations()) seqs.push_back(entry.seq);
  CHECK(seqs == std::vector<std::uint64_t>{3, 4, 5});
  CHECK_FALSE(std::filesystem::exists(folder.file("job.h5.d/gen-000001.h5")));
  CHECK_FALSE(std::filesystem::exists(folder.file("job.h5.d/gen-000002.h5")));
  CHECK(std::filesystem::exists(folder.file("job.h5.d/gen-000003.h5")));
  require_chain_matches(image, processes);
}

TEST_CASE("an image copied under another name reads its own generation files", "[image][chain]") {
  ckpt::testing::TempFolder folder;
  ProcessMap processes;
  processes.emplace(10, SimulatedProcess(10, 5));
  processes.at(10).map_region(0x10000, 16, 0.25, 0.5);
  {
    Image original = Image::open_or_create(folder.file("a.h5"), {"job", ""});
    commit_generation(original, processes, false);
  }
  namespace fs = std::filesystem;
  fs::copy_file(folder.file("a.h5"), folder.file("b.h5"));
  fs::copy(folder.file("a.h5.d"), folder.file("b.h5.d"), fs::copy_options::recursive);
  // The copy must not depend on the original: change the original's data.
  {
    Image original = Image::open(folder.file("a.h5"));
    ProcessMap other;
    other.emplace(10, SimulatedProcess(10, 6));
    other.at(10).map_region(0x10000, 16, 0.25, 0.5);
    commit_generation(original, other, false);
  }
  fs::remove_all(folder.file("a.h5.d"));
  const Image copy = Image::open(folder.file("b.h5"));
  CHECK(copy.generation_path(copy.generations().back()) == folder.file("b.h5.d") + "/gen-000001.h5");
  require_chain_matches(copy, processes);
}
