// Boost.Program_options plumbing shared by the tools: one positional
// IMAGE.h5 argument, --help/--version, errors as InputError (exit 2), and
// the single "ckpt-xxx: message" line every failure prints.
#pragma once

#include <boost/program_options.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace ckpt::tools {

struct ParsedCommandLine {
  boost::program_options::variables_map values;
  std::string image;  // empty with --help/--version
  bool help = false;
  bool version = false;
};

// Parses `arguments` (without argv[0]) against `options` plus --help,
// --version and the positional IMAGE.h5. Throws InputError.
ParsedCommandLine parse_command_line(const std::vector<std::string>& arguments,
                                     boost::program_options::options_description& options);

// Writes "<tool>: <message>" as exactly one line.
void print_error_line(std::ostream& err, const std::string& tool, const std::string& message);

}  // namespace ckpt::tools
