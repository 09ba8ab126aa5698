#pragma once
// Shared helpers of the policy tests.

#include <filesystem>
#include <fstream>
#include <string_view>

// The private temporary folder of the image tests serves these tests too.
#include "../image/temp_folder.hpp"

namespace ckpt::policy::test {

using TemporaryDirectory = ckpt::testing::TempFolder;

// Writes text to NAME inside directory and returns the file's path.
inline std::filesystem::path write_file(const TemporaryDirectory& directory, std::string_view name,
                                        std::string_view text) {
  const std::filesystem::path file = directory.file(std::string(name));
  std::ofstream(file, std::ios::binary) << text;
  return file;
}

// The examples/ folder of the source tree (set by tests/policy/CMakeLists.txt).
inline std::filesystem::path examples_directory() {
  return CKPT_EXAMPLES_DIR;
}

}  // namespace ckpt::policy::test
