// Exit codes shared by ckpt-inspect and ckpt-merge, the error that means
// "bad input" (exit 2), and the checks that tell a missing or foreign file
// (the user's mistake) from a damaged image (exit 1).
#pragma once

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>

namespace ckpt::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitDamaged = 1;      // image damaged, verify failed, other failures
inline constexpr int kExitUsage = 2;        // bad options, missing/unreadable/foreign file
inline constexpr int kExitNewerFormat = 3;  // image written by a newer ckpt

// Bad command line or an IMAGE argument that is not a readable ckpt image.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Checks that `path` names a readable HDF5 file carrying the ckpt image
// format attribute; returns its format version. Throws InputError if it is
// missing, unreadable, not HDF5 or not a ckpt image index, ImageError if it
// looks like HDF5 but cannot be opened (damaged).
std::uint64_t probe_image_index(const std::string& path);

// The exit code for an exception escaping a command.
int exit_code_for(const std::exception& error);

}  // namespace ckpt::tools
