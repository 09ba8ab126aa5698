// RAII ownership of HDF5 identifiers and small typed helpers for attributes.
// HDF5's own error stack printing is switched off; failures become
// ImageError exceptions carrying a message that says what we were doing.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errors.hpp"

namespace ckpt::image::h5 {

// Owns one hid_t and closes it with H5Idec_ref (works for every kind).
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight to the C API
  bool valid() const { return id_ >= 0; }
  void reset();
  // Gives up ownership without closing (after an explicit, checked close).
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns a negative HDF5 return into an ImageError("<what>").
hid_t check(hid_t id, std::string_view what);
void check_status(herr_t status, std::string_view what);

// Silences HDF5's automatic error printing for the whole process.
void silence_library_errors();

Handle create_file(const std::string& path);
Handle open_file_readonly(const std::string& path);
Handle open_group(hid_t parent, const std::string& name);
Handle create_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& name);
std::vector<std::string> child_names(hid_t group);

void write_attribute(hid_t object, const char* name, const std::string& value);
void write_attribute(hid_t object, const char* name, std::uint64_t value);
void write_attribute(hid_t object, const char* name, std::int64_t value);
std::string read_string_attribute(hid_t object, const char* name);
std::uint64_t read_u64_attribute(hid_t object, const char* name);
std::int64_t read_i64_attribute(hid_t object, const char* name);
bool has_attribute(hid_t object, const char* name);

// A variable-length UTF-8 string type (caller owns the handle).
Handle string_type();

// One-dimensional datasets of plain values; empty vectors make empty datasets.
void write_u64_dataset(hid_t parent, const char* name, const std::vector<std::uint64_t>& values);
std::vector<std::uint64_t> read_u64_dataset(hid_t parent, const char* name);
void write_bytes_dataset(hid_t parent, const char* name, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_bytes_dataset(hid_t parent, const char* name);
void write_strings_dataset(hid_t parent, const char* name, const std::vector<std::string>& values);
std::vector<std::string> read_strings_dataset(hid_t parent, const char* name);

// Number of elements of a one-dimensional dataset.
std::uint64_t dataset_length(hid_t dataset);

}  // namespace ckpt::image::h5
