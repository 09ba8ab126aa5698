#include "synthetic.hpp"

#include <sys/mman.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace ckpt::image::testing {

void fill_page(PageFlavour flavour, std::uint64_t seed, std::byte* page) {
  switch (flavour) {
    case PageFlavour::kZero:
      std::memset(page, 0, kPageSize);
      return;
    case PageFlavour::kSmoothDoubles: {
      // Like a solver's field: a smooth curve whose low mantissa bits are
      // noise, so it compresses about as badly as real data (~1.1-1.3x).
      double values[kPageSize / sizeof(double)];
      const double phase = static_cast<double>(seed % 100000) * 0.01;
      std::uint64_t noise = seed | 1;
      for (std::size_t i = 0; i < std::size(values); ++i) {
        noise = noise * 6364136223846793005ull + 1442695040888963407ull;
        values[i] = std::sin(phase + static_cast<double>(i) * 1e-3) * 1e3 +
                    static_cast<double>(noise >> 40) * 1e-12;
      }
      std::memcpy(page, values, kPageSize);
      return;
    }
    case PageFlavour::kRandom: {
      std::mt19937_64 random(seed);
      for (std::size_t i = 0; i < kPageSize; i += 8) {
        const std::uint64_t value = random();
        std::memcpy(page + i, &value, 8);
      }
      return;
    }
  }
}

SimulatedProcess::SimulatedProcess(std::int64_t pid, std::uint64_t seed)
    : pid_(pid), random_(seed) {}

void SimulatedProcess::write_page(std::uint64_t address, PageFlavour flavour) {
  if (flavour == PageFlavour::kZero) {
    memory_.erase(address);
  } else {
    std::vector<std::byte> bytes(kPageSize);
    fill_page(flavour, random_(), bytes.data());
    memory_[address] = std::move(bytes);
  }
  dirty_[address] = true;
}

void SimulatedProcess::map_region(std::uint64_t start, std::uint64_t pages, double zero_share,
                                  double random_share, RegionKind kind) {
  Region region;
  region.start = start;
  region.end = start + pages * kPageSize;
  region.prot = PROT_READ | PROT_WRITE;
  region.kind = static_cast<std::uint32_t>(kind);
  region.path = kind == RegionKind::kHeap ? "[heap]" : "";
  regions_[start] = region;
  fresh_regions_.push_back(start);
  std::uniform_real_distribution<double> share(0.0, 1.0);
  for (std::uint64_t p = 0; p < pages; ++p) {
    const double draw = share(random_);
    const auto flavour = draw < zero_share                  ? PageFlavour::kZero
                         : draw < zero_share + random_share ? PageFlavour::kRandom
                                                            : PageFlavour::kSmoothDoubles;
    write_page(start + p * kPageSize, flavour);
  }
}

void SimulatedProcess::unmap_region(std::uint64_t start) {
  const auto found = regions_.find(start);
  if (found == regions_.end()) throw std::logic_error("unmap_region: no region there");
  for (auto address = found->second.start; address < found->second.end; address += kPageSize) {
    memory_.erase(address);
    dirty_.erase(address);
  }
  regions_.erase(found);
}

std::vector<std::uint64_t> SimulatedProcess::mapped_pages() const {
  std::vector<std::uint64_t> pages;
  for (const auto& [start, region] : regions_) {
    for (auto address = region.start; address < region.end; address += kPageSize) {
      pages.push_back(address);
    }
  }
  return pages;
}

void SimulatedProcess::write_random_pages(std::uint64_t count) {
  const auto pages = mapped_pages();
  if (pages.empty()) return;
  std::uniform_int_distribution<std::size_t> pick(0, pages.size() - 1);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto draw = random_() % 10;
    write_page(pages[pick(random_)], draw == 0   ? PageFlavour::kZero
                                     : draw < 5 ? PageFlavour::kRandom
                                                : PageFlavour::kSmoothDoubles);
  }
}

std::vector<std::byte> SimulatedProcess::page(std::uint64_t address) const {
  const auto found = memory_.find(address);
  if (found == memory_.end()) return std::vector<std::byte>(kPageSize);
  return found->second;
}

ProcessTables SimulatedProcess::tables() const {
  ProcessTables tables;
  tables.info.pid = pid_;
  tables.info.ppid = 1;
  tables.info.pgid = pid_;
  tables.info.sid = pid_;
  tables.info.exe = "/usr/bin/simulated";
  tables.info.cwd = "/tmp";
  tables.info.argv = {"simulated", "--pid", std::to_string(pid_)};
  for (const auto& [start, region] : regions_) tables.regions.push_back(region);
  tables.threads.push_back({static_cast<std::uint32_t>(pid_), 0, 0, 16});
  tables.thread_state.assign(16, 0xab);
  tables.descriptors.push_back({1, 2, 1, 0, 0, 1, "/dev/null"});
  tables.misc = {1, 2, 3};
  return tables;
}

void SimulatedProcess::write_to(GenerationWriter& writer, bool incremental) {
  ProcessTables process_tables = tables();
  for (auto& region : process_tables.regions) {
    for (const auto fresh : fresh_regions_) {
      if (incremental && region.start == fresh) region.flags |= kRegionFresh;
    }
  }
  writer.begin_process(process_tables.info);
  for (const auto address : mapped_pages()) {
    if (incremental && !dirty_[address]) continue;
    writer.add_page(address, page(address).data());
  }
  writer.end_process(process_tables);
  dirty_.clear();
  fresh_regions_.clear();
}

}  // namespace ckpt::image::testing
