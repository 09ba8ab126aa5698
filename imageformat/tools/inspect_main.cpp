// ckpt-inspect: describe, verify and digest a ckpt image.
#include <iostream>
#include <string>
#include <vector>

#include "inspect_command.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv + (argc > 0 ? 1 : 0), argv + argc);
  return ckpt::tools::run_inspect(arguments, std::cout, std::cerr);
}
