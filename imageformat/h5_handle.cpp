#include "h5_handle.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "h5_table.hpp"

namespace ckpt::image::h5 {

void Handle::reset() {
  if (id_ >= 0) {
    H5Idec_ref(id_);
    id_ = H5I_INVALID_HID;
  }
}

hid_t check(hid_t id, std::string_view what) {
  if (id < 0) throw ImageError(std::string(what));
  return id;
}

void check_status(herr_t status, std::string_view what) {
  if (status < 0) throw ImageError(std::string(what));
}

// No HDF5 clean-up at exit: a generation abandoned because its disk filled
// up cannot be flushed, stays open in the library, and closing it again at
// exit crashes HDF5 1.10. Every file we keep is closed explicitly. This
// must run before any other HDF5 call, hence a static initializer.
namespace {
[[maybe_unused]] const bool no_library_exit_handler = [] {
  H5dont_atexit();
  return true;
}();
}  // namespace

void silence_library_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle create_file(const std::string& path) {
  silence_library_errors();
  Handle access(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create file access list"));
  // Latest format: compact groups, smaller metadata for many processes.
  H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  errno = 0;
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access);
  if (file < 0) {
    // HDF5 reports no reason; the failed open(2) inside it left errno.
    const int reason = errno;
    throw ImageError(path + ": cannot create" +
                     (reason != 0 ? std::string(" (") + std::strerror(reason) + ")" : std::string()));
  }
  return Handle(file);
}

Handle open_file_readonly(const std::string& path) {
  silence_library_errors();
  return Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                      path + ": not a readable HDF5 file"));
}

Handle open_group(hid_t parent, const std::string& name) {
  return Handle(check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), "missing group '" + name + "'"));
}

Handle create_group(hid_t parent, const std::string& name) {
  return Handle(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create group '" + name + "'"));
}

bool exists(hid_t parent, const std::string& name) {
  return H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::string> child_names(hid_t group) {
  std::vector<std::string> names;
  H5G_info_t info{};
  check_status(H5Gget_info(group, &info), "cannot list group");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr,
                                              0, H5P_DEFAULT);
    if (length < 0) throw ImageError("cannot read a link name");
    std::string name(static_cast<std::size_t>(length), '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

Handle string_type() {
  Handle type(check(H5Tcopy(H5T_C_S1), "cannot create string type"));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

namespace {

Handle scalar_space() { return Handle(check(H5Screate(H5S_SCALAR), "cannot create dataspace")); }

Handle simple_space(hsize_t length) {
  return Handle(check(H5Screate_simple(1, &length, nullptr), "cannot create dataspace"));
}

template <class T>
void write_scalar_attribute(hid_t object, const char* name, hid_t type, const T& value) {
  if (H5Aexists(object, name) > 0) H5Adelete(object, name);
  Handle space = scalar_space();
  Handle attribute(check(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
                         std::string("cannot create attribute ") + name));
  check_status(H5Awrite(attribute, type, &value), std::string("cannot write attribute ") + name);
}

template <class T>
T read_scalar_attribute(hid_t object, const char* name, hid_t type) {
  Handle attribute(check(H5Aopen(object, name, H5P_DEFAULT),
                         std::string("missing attribute '") + name + "'"));
  T value{};
  check_status(H5Aread(attribute, type, &value), std::string("cannot read attribute ") + name);
  return value;
}

}  // namespace

void write_attribute(hid_t object, const char* name, const std::string& value) {
  Handle type = string_type();
  const char* text = value.c_str();
  write_scalar_attribute(object, name, type, text);
}

void write_attribute(hid_t object, const char* name, std::uint64_t value) {
  write_scalar_attribute(object, name, H5T_NATIVE_UINT64, value);
}

void write_attribute(hid_t object, const char* name, std::int64_t value) {
  write_scalar_attribute(object, name, H5T_NATIVE_INT64, value);
}

std::string read_string_attribute(hid_t object, const char* name) {
  Handle type = string_type();
  char* text = read_scalar_attribute<char*>(object, name, type);
  std::string value = text != nullptr ? text : "";
  H5free_memory(text);
  return value;
}

std::uint64_t read_u64_attribute(hid_t object, const char* name) {
  return read_scalar_attribute<std::uint64_t>(object, name, H5T_NATIVE_UINT64);
}

std::int64_t read_i64_attribute(hid_t object, const char* name) {
  return read_scalar_attribute<std::int64_t>(object, name, H5T_NATIVE_INT64);
}

bool has_attribute(hid_t object, const char* name) { return H5Aexists(object, name) > 0; }

std::uint64_t dataset_length(hid_t dataset) {
  Handle space(check(H5Dget_space(dataset), "cannot read dataspace"));
  hsize_t length = 0;
  if (H5Sget_simple_extent_ndims(space) != 1) throw ImageError("dataset is not one-dimensional");
  H5Sget_simple_extent_dims(space, &length, nullptr);
  return length;
}

namespace {

void write_plain_dataset(hid_t parent, const char* name, hid_t type, const void* data,
                         std::size_t length) {
  Handle space = simple_space(length);
  Handle dataset(check(H5Dcreate2(parent, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       std::string("cannot create dataset ") + name));
  if (length > 0) {
    check_status(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 std::string("cannot write dataset ") + name);
  }
}

template <class T>
std::vector<T> read_plain_dataset(hid_t parent, const char* name, hid_t type) {
  Handle dataset(check(H5Dopen2(parent, name, H5P_DEFAULT),
                       std::string("missing dataset '") + name + "'"));
  std::vector<T> values(dataset_length(dataset));
  if (!values.empty()) {
    check_status(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                 std::string("cannot read dataset ") + name);
  }
  return values;
}

}  // namespace

void write_u64_dataset(hid_t parent, const char* name, const std::vector<std::uint64_t>& values) {
  write_plain_dataset(parent, name, H5T_NATIVE_UINT64, values.data(), values.size());
}

std::vector<std::uint64_t> read_u64_dataset(hid_t parent, const char* name) {
  return read_plain_dataset<std::uint64_t>(parent, name, H5T_NATIVE_UINT64);
}

void write_bytes_dataset(hid_t parent, const char* name, const std::vector<std::uint8_t>& bytes) {
  write_plain_dataset(parent, name, H5T_NATIVE_UINT8, bytes.data(), bytes.size());
}

std::vector<std::uint8_t> read_bytes_dataset(hid_t parent, const char* name) {
  return read_plain_dataset<std::uint8_t>(parent, name, H5T_NATIVE_UINT8);
}

void write_strings_dataset(hid_t parent, const char* name, const std::vector<std::string>& values) {
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  Handle type = string_type();
  write_plain_dataset(parent, name, type, pointers.data(), pointers.size());
}

std::vector<std::string> read_strings_dataset(hid_t parent, const char* name) {
  Handle type = string_type();
  auto pointers = read_plain_dataset<char*>(parent, name, type);
  std::vector<std::string> values;
  for (char* text : pointers) {
    values.emplace_back(text != nullptr ? text : "");
    H5free_memory(text);
  }
  return values;
}

// ---- packed compound tables ----

std::size_t packed_size_of_kind(int kind) {
  switch (kind) {
    case 0:
    case 1:
      return 8;
    case 2:
    case 3:
      return 4;
    default:
      return sizeof(char*);
  }
}

namespace {
hid_t native_type_of_kind(int kind) {
  switch (kind) {
    case 0:
      return H5T_NATIVE_UINT64;
    case 1:
      return H5T_NATIVE_INT64;
    case 2:
      return H5T_NATIVE_UINT32;
    default:
      return H5T_NATIVE_INT32;
  }
}
constexpr int kStringKind = 4;
}  // namespace

Handle packed_compound_type(std::span<const PackedColumn> columns, std::size_t row_size) {
  Handle compound(check(H5Tcreate(H5T_COMPOUND, row_size), "cannot create compound type"));
  Handle text = string_type();
  for (const auto& column : columns) {
    const hid_t member = column.kind == kStringKind ? text.get() : native_type_of_kind(column.kind);
    check_status(H5Tinsert(compound, column.name, column.offset, member),
                 "cannot build compound type");
  }
  return compound;
}

void write_packed_table(hid_t parent, const char* name, std::span<const PackedColumn> columns,
                        std::size_t row_size, const std::vector<std::byte>& rows,
                        std::size_t row_count) {
  Handle type = packed_compound_type(columns, row_size);
  write_plain_dataset(parent, name, type, rows.data(), row_count);
}

std::vector<std::byte> read_packed_table(hid_t parent, const char* name,
                                         std::span<const PackedColumn> columns,
                                         std::size_t row_size, std::size_t& row_count) {
  Handle dataset(check(H5Dopen2(parent, name, H5P_DEFAULT),
                       std::string("missing table '") + name + "'"));
  row_count = dataset_length(dataset);
  std::vector<std::byte> rows(row_size * row_count);
  if (row_count > 0) {
    Handle type = packed_compound_type(columns, row_size);
    check_status(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()),
                 std::string("cannot read table ") + name);
  }
  return rows;
}

void release_packed_strings(std::span<const PackedColumn> columns, std::size_t row_size,
                            std::vector<std::byte>& rows, std::size_t row_count) {
  for (std::size_t r = 0; r < row_count; ++r) {
    for (const auto& column : columns) {
      if (column.kind != kStringKind) continue;
      char* text = nullptr;
      std::memcpy(&text, rows.data() + r * row_size + column.offset, sizeof text);
      H5free_memory(text);
    }
  }
}

}  // namespace ckpt::image::h5
