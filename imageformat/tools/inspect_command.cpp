#include "inspect_command.hpp"

#include <ckpt/version.hpp>

#include "command_line.hpp"
#include "inspect_output.hpp"
#include "tool_errors.hpp"

namespace ckpt::tools {
namespace {

namespace po = boost::program_options;
constexpr const char* kTool = "ckpt-inspect";

constexpr const char* kExitCodeHelp =
    "\nExit codes: 0 ok; 1 image damaged or verify failed; 2 usage error or\n"
    "missing/unreadable image; 3 image written by a newer ckpt.\n"
    "h5dump reads zstd images with HDF5_PLUGIN_PATH set to ckpt's hdf5-plugins folder.\n";

// The problem to name on stderr: the first one that decides the exit code.
const Problem& deciding_problem(const ImageReport& report) {
  const int code = report.exit_code();
  for (const auto& problem : report.problems) {
    if (problem.exit_code == code) return problem;
  }
  return report.problems.front();
}

}  // namespace

int run_inspect(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err) {
  po::options_description options(
      "Usage: ckpt-inspect IMAGE.h5 [options]\n"
      "Describes a ckpt image: generations, processes, regions, descriptors,\n"
      "storage files and the chain a restart uses.\n\nOptions");
  options.add_options()("json", "print one JSON document instead of text")(
      "verify",
      "check every generation's tables against its chunks, then read every chunk and check its "
      "checksum")(
      "generation", po::value<std::uint64_t>()->value_name("N"),
      "describe only generation N (no chain)")(
      "pages", "list page addresses (stored, zeroed, resolved)")(
      "digest", "sha256 of each process's pages and each file's content");
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
    InspectOptions inspect;
    if (command_line.values.count("generation") > 0) {
      inspect.generation = command_line.values["generation"].as<std::uint64_t>();
    }
    inspect.list_pages = command_line.values.count("pages") > 0;
    inspect.digest = command_line.values.count("digest") > 0;
    inspect.verify = command_line.values.count("verify") > 0;

    const ImageReport report = build_image_report(command_line.image, inspect);
    if (command_line.values.count("json") > 0) {
      print_json_report(out, report, inspect);
    } else {
      print_text_report(out, report, inspect);
    }
    out.flush();
    if (!out) {
      print_error_line(err, kTool, "cannot write to standard output");
      return kExitDamaged;
    }
    const int code = report.exit_code();
    if (code != kExitOk) print_error_line(err, kTool, deciding_problem(report).message);
    return code;
  } catch (const std::exception& error) {
    print_error_line(err, kTool, error.what());
    return exit_code_for(error);
  }
}

}  // namespace ckpt::tools
