// ckpt-merge: fold an image's chain of incrementals into one full generation.
#include <iostream>
#include <string>
#include <vector>

#include "merge_command.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv + (argc > 0 ? 1 : 0), argv + argc);
  return ckpt::tools::run_merge(arguments, std::cout, std::cerr);
}
