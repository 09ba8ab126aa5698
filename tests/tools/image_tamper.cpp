// ckpt-test-image-tamper: test helper that damages images on purpose.
//   chunk-location FILE.h5 DATASET CHUNK   prints "<byte offset> <size>" of
//                                          chunk CHUNK (1 MiB chunks) of a
//                                          one-dimensional dataset
//   set-format-version FILE.h5 N           rewrites the root attribute
//                                          format_version
// Uses the HDF5 C API directly, independent of the image library.
#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr hsize_t kChunkBytes = 1 << 20;

// Closes an HDF5 identifier when it goes out of scope.
class Id {
 public:
  explicit Id(hid_t id) : id_(id) {}
  ~Id() {
    if (id_ >= 0) H5Idec_ref(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id_; }  // NOLINT: passes straight to the C API
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "ckpt-test-image-tamper: %s\n", message.c_str());
  return 1;
}

int chunk_location(const char* path, const char* dataset_name, const char* chunk_text) {
  const Id file(H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return fail(std::string(path) + ": cannot open");
  const Id dataset(H5Dopen2(file, dataset_name, H5P_DEFAULT));
  if (!dataset.valid()) return fail(std::string(dataset_name) + ": no such dataset");
  const hsize_t offset = std::strtoull(chunk_text, nullptr, 10) * kChunkBytes;
  unsigned filter_mask = 0;
  haddr_t address = 0;
  hsize_t size = 0;
  if (H5Dget_chunk_info_by_coord(dataset, &offset, &filter_mask, &address, &size) < 0 ||
      address == HADDR_UNDEF) {
    return fail(std::string("chunk ") + chunk_text + " is not stored");
  }
  std::printf("%llu %llu\n", static_cast<unsigned long long>(address),
              static_cast<unsigned long long>(size));
  return 0;
}

int set_format_version(const char* path, const char* version_text) {
  const Id file(H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT));
  if (!file.valid()) return fail(std::string(path) + ": cannot open for writing");
  const Id attribute(H5Aopen(file, "format_version", H5P_DEFAULT));
  if (!attribute.valid()) return fail(std::string(path) + ": no format_version attribute");
  const std::uint64_t version = std::strtoull(version_text, nullptr, 10);
  if (H5Awrite(attribute, H5T_NATIVE_UINT64, &version) < 0) return fail("cannot write attribute");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "chunk-location" && argc == 5) return chunk_location(argv[2], argv[3], argv[4]);
  if (command == "set-format-version" && argc == 4) return set_format_version(argv[2], argv[3]);
  return fail("usage: chunk-location FILE.h5 DATASET CHUNK | set-format-version FILE.h5 N");
}
