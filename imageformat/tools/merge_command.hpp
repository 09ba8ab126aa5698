// ckpt-merge as a function, so tests can run it in-process.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ckpt::tools {

// Runs ckpt-merge with `arguments` (without argv[0]); returns the exit code
// (see tool_errors.hpp).
int run_merge(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err);

}  // namespace ckpt::tools
