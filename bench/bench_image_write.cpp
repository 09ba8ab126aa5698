// Benchmark: write 1 GiB of synthetic process pages (zero, smooth doubles,
// random) as one generation with each codec, against a raw write()+fsync
// of the same bytes measured in the same run. Reports GB/s (of the logical
// bytes) and the ratio to raw. Each timed step is preceded by a pre-warm
// (write and delete a file of the same size): this VM hands freed memory
// back to the host and re-touching it is slow.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "image.hpp"
#include "synthetic.hpp"

using namespace ckpt::image;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::uint64_t size_mib = 1024;
  int repeat = 3;
  std::string folder = ".";
  unsigned workers = 0;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void write_all(int fd, const std::byte* data, std::size_t size) {
  while (size > 0) {
    const auto chunk = std::min<std::size_t>(size, 64 << 20);
    const ssize_t written = ::write(fd, data, chunk);
    if (written <= 0) throw std::runtime_error("write failed");
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

double raw_write(const std::string& path, const std::vector<std::byte>& memory) {
  const auto start = Clock::now();
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  write_all(fd, memory.data(), memory.size());
  ::fsync(fd);
  ::close(fd);
  return seconds_since(start);
}

void prewarm(const std::string& folder, const std::vector<std::byte>& memory) {
  const std::string path = folder + "/prewarm.tmp";
  raw_write(path, memory);
  ::unlink(path.c_str());
}

struct Result {
  double seconds;
  std::uint64_t stored_bytes;
};

Result image_write(const std::string& folder, const std::vector<std::byte>& memory, Codec codec,
                   unsigned workers) {
  const std::string path = folder + "/bench.h5";
  std::filesystem::remove_all(path + ".d");
  std::filesystem::remove(path);
  const auto start = Clock::now();
  Image image = Image::open_or_create(path, {"bench", ""});
  GenerationOptions options;
  options.codec = codec;
  options.workers = workers;
  auto pending = image.begin_generation(options);
  auto& writer = pending.writer();
  writer.begin_process({.pid = 1, .ppid = 0, .pgid = 1, .sid = 1, .exe = "bench"});
  writer.add_pages(0x100000000, memory.data(), memory.size() / kPageSize);
  ProcessTables tables;
  tables.regions.push_back({0x100000000, 0x100000000 + memory.size(), 3, 0, 0, 0, 0, 0, ""});
  writer.end_process(tables);
  image.commit(std::move(pending));
  const double seconds = seconds_since(start);
  const std::uint64_t stored = image.generations().back().bytes;
  std::filesystem::remove_all(path + ".d");
  std::filesystem::remove(path);
  return {seconds, stored};
}

std::vector<std::byte> make_memory(std::uint64_t bytes) {
  std::vector<std::byte> memory(bytes);
  std::mt19937_64 random(2024);
  // 25% zero pages, 45% smooth doubles, 30% random bytes, in runs like a heap.
  for (std::uint64_t page = 0; page < bytes / kPageSize; ++page) {
    const auto draw = (page / 8 * 2654435761u) % 100;
    const auto flavour = draw < 25   ? testing::PageFlavour::kZero
                         : draw < 70 ? testing::PageFlavour::kSmoothDoubles
                                     : testing::PageFlavour::kRandom;
    testing::fill_page(flavour, random(), memory.data() + page * kPageSize);
  }
  return memory;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::runtime_error(argument + " needs a value");
      return std::string(argv[++i]);
    };
    if (argument == "--size-mib") options.size_mib = std::stoull(value());
    else if (argument == "--repeat") options.repeat = std::stoi(value());
    else if (argument == "--dir") options.folder = value();
    else if (argument == "--workers") options.workers = static_cast<unsigned>(std::stoul(value()));
    else {
      std::cout << "usage: ckpt-bench-image-write [--size-mib N] [--repeat N] [--dir D] "
                   "[--workers N]\n";
      return argument == "--help" ? 0 : 2;
    }
  }
  const auto memory = make_memory(options.size_mib << 20);
  const double gb = static_cast<double>(memory.size()) / 1e9;
  std::vector<double> raw;
  const Codec codecs[] = {Codec::kNone, Codec::kLz4, Codec::kZstd};
  std::vector<std::vector<double>> times(3);
  std::vector<std::uint64_t> stored(3);
  for (int round = 0; round < options.repeat; ++round) {
    prewarm(options.folder, memory);
    raw.push_back(raw_write(options.folder + "/raw.tmp", memory));
    ::unlink((options.folder + "/raw.tmp").c_str());
    for (int c = 0; c < 3; ++c) {
      prewarm(options.folder, memory);
      const Result result = image_write(options.folder, memory, codecs[c], options.workers);
      times[c].push_back(result.seconds);
      stored[c] = result.stored_bytes;
    }
  }
  const double raw_seconds = median(raw);
  std::printf("# image write: %.2f GiB of pages (25%% zero, 45%% doubles, 30%% random), "
              "median of %d, %u cores\n",
              static_cast<double>(memory.size()) / (1 << 30), options.repeat,
              std::max(1u, std::thread::hardware_concurrency()));
  std::printf("| method | seconds | GB/s | ratio to raw | stored MiB | target |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::printf("| raw write()+fsync | %.3f | %.2f | 1.00 | %.0f | |\n", raw_seconds,
              gb / raw_seconds, static_cast<double>(memory.size()) / (1 << 20));
  const double targets[] = {0.85, 0.6, 0.0};
  for (int c = 0; c < 3; ++c) {
    const double seconds = median(times[c]);
    const double ratio = raw_seconds / seconds;
    std::printf("| ckpt %s | %.3f | %.2f | %.2f | %.0f | %s |\n",
                std::string(codec_name(codecs[c])).c_str(), seconds, gb / seconds, ratio,
                static_cast<double>(stored[c]) / (1 << 20),
                targets[c] == 0.0 ? "-"
                : ratio >= targets[c] ? ("met (>= " + std::to_string(targets[c]).substr(0, 4) + ")").c_str()
                                      : ("MISSED (< " + std::to_string(targets[c]).substr(0, 4) + ")").c_str());
  }
  return 0;
}
