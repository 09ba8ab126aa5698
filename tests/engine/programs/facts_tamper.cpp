// facts_tamper GENERATION.h5 PID kernel-release TEXT | cpu-flag FLAG
// Rewrites the machine facts a generation recorded for process PID, as if
// the checkpoint had been taken on another kernel or on a CPU with one more
// feature, so that tests can check that ckpt-restart refuses it.
#include <hdf5.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "protocol.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "facts_tamper: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return fail("usage: facts_tamper GENERATION.h5 PID kernel-release TEXT | cpu-flag FLAG");
  const std::string path = argv[1], field = argv[3], value = argv[4];
  const std::string dataset_path = std::string("processes/") + argv[2] + "/misc";
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return fail("cannot open " + path);
  const hid_t dataset = H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT);
  if (dataset < 0) return fail("no dataset " + dataset_path + " in " + path);
  CkptProcessFacts facts{};
  const hid_t space = H5Dget_space(dataset);
  if (H5Sget_simple_extent_npoints(space) != static_cast<hssize_t>(sizeof facts)) {
    return fail(dataset_path + " does not hold engine facts");
  }
  if (H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &facts) < 0) {
    return fail("cannot read " + dataset_path);
  }
  if (field == "kernel-release") {
    std::memset(facts.kernel_release, 0, sizeof facts.kernel_release);
    std::strncpy(facts.kernel_release, value.c_str(), sizeof facts.kernel_release - 1);
  } else if (field == "cpu-flag") {
    const std::string flags = std::string(facts.cpu_flags) + " " + value;
    if (flags.size() >= sizeof facts.cpu_flags) return fail("flag list too long");
    std::strcpy(facts.cpu_flags, flags.c_str());
  } else {
    return fail("unknown field " + field);
  }
  if (H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &facts) < 0) {
    return fail("cannot write " + dataset_path);
  }
  H5Sclose(space);
  H5Dclose(dataset);
  H5Fclose(file);
  return 0;
}
