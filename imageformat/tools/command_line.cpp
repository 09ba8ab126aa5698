#include "command_line.hpp"

#include "tool_errors.hpp"

namespace ckpt::tools {

namespace po = boost::program_options;

ParsedCommandLine parse_command_line(const std::vector<std::string>& arguments,
                                     po::options_description& options) {
  options.add_options()("help,h", "show this help and exit")("version",
                                                              "show the version and exit");
  po::options_description hidden;
  hidden.add_options()("image", po::value<std::string>(), "the image index IMAGE.h5");
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("image", 1);

  ParsedCommandLine parsed;
  try {
    po::store(po::command_line_parser(arguments).options(all).positional(positional).run(),
              parsed.values);
    po::notify(parsed.values);
  } catch (const po::error& error) {
    throw InputError(error.what());
  }
  parsed.help = parsed.values.count("help") > 0;
  parsed.version = parsed.values.count("version") > 0;
  if (parsed.help || parsed.version) return parsed;
  if (parsed.values.count("image") == 0) throw InputError("missing IMAGE.h5 (see --help)");
  parsed.image = parsed.values["image"].as<std::string>();
  if (parsed.image.empty()) throw InputError("IMAGE.h5 is an empty string");
  return parsed;
}

void print_error_line(std::ostream& err, const std::string& tool, const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  err << tool << ": " << line << '\n';
}

}  // namespace ckpt::tools
