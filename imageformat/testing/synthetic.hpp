// Synthetic process images for tests, benchmarks and the demo: a simulated
// address space whose pages are zero, smooth doubles or random bytes, that
// can be mutated between generations (writes, zeroing, unmap, new regions)
// and written as full or incremental generations. Not used by the product.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "generation_writer.hpp"
#include "schema.hpp"

namespace ckpt::image::testing {

enum class PageFlavour { kZero, kSmoothDoubles, kRandom };

// Fills one page of the given flavour from a seed.
void fill_page(PageFlavour flavour, std::uint64_t seed, std::byte* page);

class SimulatedProcess {
 public:
  SimulatedProcess(std::int64_t pid, std::uint64_t seed);

  // Maps a region of `pages` pages at `start` filled with a mix of flavours
  // (zero_share and random_share of pages; the rest smooth doubles).
  void map_region(std::uint64_t start, std::uint64_t pages, double zero_share,
                  double random_share, RegionKind kind = RegionKind::kAnonymous);
  void unmap_region(std::uint64_t start);
  // Rewrites `count` random pages (some become zero) and marks them dirty.
  void write_random_pages(std::uint64_t count);
  void write_page(std::uint64_t address, PageFlavour flavour);

  // Writes the process into a generation: every page for a full one, only
  // pages dirty since the last write_to() for an incremental one.
  void write_to(GenerationWriter& writer, bool incremental);

  ProcessTables tables() const;
  // Current memory content of the page at `address` (zeros if absent).
  std::vector<std::byte> page(std::uint64_t address) const;
  // All mapped page addresses (ascending).
  std::vector<std::uint64_t> mapped_pages() const;
  std::int64_t pid() const { return pid_; }

 private:
  std::int64_t pid_;
  std::mt19937_64 random_;
  std::map<std::uint64_t, Region> regions_;
  std::map<std::uint64_t, std::vector<std::byte>> memory_;  // non-zero pages only
  std::map<std::uint64_t, bool> dirty_;                      // address -> dirty
  std::vector<std::uint64_t> fresh_regions_;
};

}  // namespace ckpt::image::testing
