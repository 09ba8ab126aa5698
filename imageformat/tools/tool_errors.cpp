#include "tool_errors.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options/errors.hpp>
#include <cerrno>
#include <cstring>

#include "errors.hpp"
#include "h5_handle.hpp"

namespace ckpt::tools {

std::uint64_t probe_image_index(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    throw InputError(path + ": " + (errno == ENOENT ? "no such image" : std::strerror(errno)));
  }
  if (S_ISDIR(status.st_mode)) {
    throw InputError(path + ": is a folder; pass the image index IMAGE.h5");
  }
  if (::access(path.c_str(), R_OK) != 0) {
    throw InputError(path + ": cannot read: " + std::strerror(errno));
  }
  image::h5::silence_library_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path + ": not an HDF5 file");
  image::h5::Handle file = image::h5::open_file_readonly(path);  // ImageError: damaged
  const bool tagged = image::h5::has_attribute(file, "format");
  const std::string format = tagged ? image::h5::read_string_attribute(file, "format") : "";
  if (format == "ckpt-generation") {
    throw InputError(path + ": is one generation of an image; pass the index IMAGE.h5 instead");
  }
  if (format != "ckpt-image") throw InputError(path + ": not a ckpt image");
  if (!image::h5::has_attribute(file, "format_version")) {
    throw image::ImageError(path + ": damaged index: no format_version");
  }
  return image::h5::read_u64_attribute(file, "format_version");
}

int exit_code_for(const std::exception& error) {
  if (dynamic_cast<const InputError*>(&error) != nullptr) return kExitUsage;
  if (dynamic_cast<const boost::program_options::error*>(&error) != nullptr) return kExitUsage;
  if (dynamic_cast<const image::FormatVersionError*>(&error) != nullptr) return kExitNewerFormat;
  return kExitDamaged;
}

}  // namespace ckpt::tools
