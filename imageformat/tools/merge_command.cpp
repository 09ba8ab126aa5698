#include "merge_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <ckpt/version.hpp>
#include <cstdio>
#include <cstring>

#include "command_line.hpp"
#include "formatting.hpp"
#include "generation_reader.hpp"
#include "merge.hpp"
#include "tool_errors.hpp"

namespace ckpt::tools {
namespace {

namespace po = boost::program_options;
constexpr const char* kTool = "ckpt-merge";

constexpr const char* kExitCodeHelp =
    "\nExit codes: 0 ok (also when there is nothing to merge); 1 image damaged or the\n"
    "merge failed; 2 usage error or missing/unreadable/unwritable image; 3 image\n"
    "written by a newer ckpt.\n";

struct FoldedRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// The range the library recorded in the new generation's note ("merged from
// generations A-B"); it is exact even if a checkpoint was committed while
// we waited for the image's lock. Falls back to `expected`.
FoldedRange folded_range(const image::Image& image, std::uint64_t seq, FoldedRange expected) {
  for (const auto& entry : image.generations()) {
    if (entry.seq != seq) continue;
    const image::GenerationReader merged = image.open_generation(entry);
    unsigned long long first = 0;
    unsigned long long last = 0;
    if (std::sscanf(merged.header().note.c_str(), "merged from generations %llu-%llu", &first,
                    &last) == 2) {
      return {first, last};
    }
  }
  return expected;
}

void require_writable_folder(const image::Image& image) {
  if (::access(image.folder().c_str(), W_OK | X_OK) != 0) {
    throw InputError(image.folder() + ": cannot write: " + std::strerror(errno));
  }
}

}  // namespace

int run_merge(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err) {
  po::options_description options(
      "Usage: ckpt-merge IMAGE.h5 [options]\n"
      "Folds the image's current chain (a full generation and the incrementals\n"
      "after it) into one new full generation and removes the old files.\n\nOptions");
  options.add_options()("codec", po::value<std::string>()->value_name("none|lz4|zstd"),
                        "codec of the merged generation (default: the newest generation's)")(
      "quiet,q", "print nothing on success");
  try {
    const ParsedCommandLine command_line = parse_command_line(arguments, options);
    if (command_line.help) {
      out << options << kExitCodeHelp;
      return kExitOk;
    }
    if (command_line.version) {
      out << kTool << " (ckpt) " << ckpt::kVersion << '\n';
      return kExitOk;
    }
    std::optional<image::Codec> codec;
    if (command_line.values.count("codec") > 0) {
      const auto name = command_line.values["codec"].as<std::string>();
      codec = image::parse_codec(name);
      if (!codec) throw InputError("--codec must be none, lz4 or zstd, not '" + name + "'");
    }
    const bool quiet = command_line.values.count("quiet") > 0;

    probe_image_index(command_line.image);
    image::Image image = image::Image::open(command_line.image);
    const auto chain = image.current_chain();
    if (chain.size() <= 1) {
      if (!quiet) {
        out << (chain.empty() ? "nothing to merge: the image has no committed checkpoint\n"
                              : "nothing to merge: the current chain is one full generation\n");
      }
      return kExitOk;
    }
    require_writable_folder(image);
    const image::MergeResult result = image::merge_current_chain(image, codec);
    if (result.seq == 0) {
      if (!quiet) out << "nothing to merge: the current chain is one full generation\n";
      return kExitOk;
    }
    if (!quiet) {
      const FoldedRange range = folded_range(image, result.seq, {chain.front().seq, chain.back().seq});
      out << "merged generations " << range.first << "-" << range.last << " (" << result.folded
          << " generations) into full generation " << result.seq << ", "
          << human_size(result.bytes) << '\n';
    }
    out.flush();
    return kExitOk;
  } catch (const std::exception& error) {
    print_error_line(err, kTool, error.what());
    return exit_code_for(error);
  }
}

}  // namespace ckpt::tools
