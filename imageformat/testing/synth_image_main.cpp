// ckpt-image-synth: writes a synthetic image (a full generation plus
// incrementals) for demos and tests. Developer tool, not installed.
#include <boost/program_options.hpp>

#include <ckpt/version.hpp>
#include <iostream>

#include "image.hpp"
#include "synthetic.hpp"

namespace po = boost::program_options;
using namespace ckpt::image;

int main(int argc, char** argv) {
  po::options_description options("Usage: ckpt-image-synth IMAGE.h5 [options]\nOptions");
  options.add_options()("help,h", "show this help")(
      "processes", po::value<int>()->default_value(2), "simulated processes")(
      "pages", po::value<std::uint64_t>()->default_value(4096), "pages per process")(
      "incrementals", po::value<int>()->default_value(3), "incremental generations after the full")(
      "dirty", po::value<std::uint64_t>()->default_value(200), "pages written between generations")(
      "files", po::value<int>()->default_value(2), "files in the storage checkpoint")(
      "codec", po::value<std::string>()->default_value("lz4"), "none|lz4|zstd")(
      "seed", po::value<std::uint64_t>()->default_value(1), "random seed");
  po::options_description hidden;
  hidden.add_options()("image", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("image", 1);
  po::variables_map vm;
  try {
    po::options_description all;
    all.add(options).add(hidden);
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    if (!vm.count("image")) throw po::error("missing IMAGE.h5");
    const auto codec = parse_codec(vm["codec"].as<std::string>());
    if (!codec) throw po::error("--codec must be none, lz4 or zstd");
    Image image = Image::open_or_create(vm["image"].as<std::string>(), {"synthetic", ""});
    std::vector<testing::SimulatedProcess> processes;
    const auto seed = vm["seed"].as<std::uint64_t>();
    for (int p = 0; p < vm["processes"].as<int>(); ++p) {
      processes.emplace_back(100 + p, seed * 1000 + p);
      processes.back().map_region(0x400000, 16, 0.2, 0.2, RegionKind::kHeap);
      processes.back().map_region(0x7f0000000000, vm["pages"].as<std::uint64_t>(), 0.3, 0.3);
    }
    const int incrementals = vm["incrementals"].as<int>();
    for (int g = 0; g <= incrementals; ++g) {
      GenerationOptions generation;
      generation.kind = g == 0 ? GenerationKind::kFull : GenerationKind::kIncremental;
      generation.codec = *codec;
      generation.dirty_engine = "synthetic";
      auto pending = image.begin_generation(generation);
      for (int f = 0; f < vm["files"].as<int>(); ++f) {
        std::vector<std::byte> data(1000 + 100 * g, std::byte(static_cast<unsigned char>(g + f)));
        FileRecord record;
        record.path = "/tmp/synthetic/output-" + std::to_string(f) + ".dat";
        record.kind = static_cast<std::uint32_t>(g == 0 ? FileEntryKind::kWhole
                                                        : FileEntryKind::kRanges);
        record.mode = 0644;
        record.size = 1000 + 100 * static_cast<std::uint64_t>(g);
        const std::uint64_t offset = g == 0 ? 0 : 1000 + 100 * static_cast<std::uint64_t>(g - 1);
        data.resize(record.size - offset);
        pending.writer().add_file(record, {{offset, data.size(), 0}}, data);
      }
      for (auto& process : processes) {
        if (g > 0) process.write_random_pages(vm["dirty"].as<std::uint64_t>());
        process.write_to(pending.writer(), g > 0);
      }
      const auto seq = image.commit(std::move(pending));
      std::cout << "committed generation " << seq << " ("
                << generation_kind_name(generation.kind) << ")\n";
    }
    return 0;
  } catch (const po::error& error) {
    std::cerr << "ckpt-image-synth: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "ckpt-image-synth: " << error.what() << "\n";
    return 1;
  }
}
