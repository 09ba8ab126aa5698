#pragma once
// ckpt-launch's command line: [options] -- CMD ARGS...

#include <stdexcept>
#include <string>
#include <vector>

#include "load_policy.hpp"

namespace ckpt::launcher {

struct LaunchCommandLine {
  PolicySources policy;
  bool print_policy = false;
  bool check_policy = false;
  bool help = false;
  bool version = false;
};

// A bad option or argument; what() is one line without the program name.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// arguments excludes the program name. Everything after the first "--" is
// the command, untouched. Throws UsageError.
LaunchCommandLine parse_launch_command_line(const std::vector<std::string>& arguments);

// The --help text.
std::string launch_help();

}  // namespace ckpt::launcher
