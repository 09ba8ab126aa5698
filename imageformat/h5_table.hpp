// Compound-dataset tables without hand-written HDF5 types per record.
// A record type lists its columns once (name + pointer to member); the
// helpers pack rows into the compound layout, write and read them back.
// Strings become variable-length UTF-8 strings, readable by h5dump.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "h5_handle.hpp"

namespace ckpt::image::h5 {

template <class Record>
struct Column {
  const char* name;
  std::variant<std::uint64_t Record::*, std::int64_t Record::*, std::uint32_t Record::*,
               std::int32_t Record::*, std::string Record::*>
      member;
};

// Untyped description of the packed layout: one entry per column.
struct PackedColumn {
  const char* name;
  int kind;  // index into the variant above
  std::size_t offset;
};

std::size_t packed_size_of_kind(int kind);
Handle packed_compound_type(std::span<const PackedColumn> columns, std::size_t row_size);
void write_packed_table(hid_t parent, const char* name, std::span<const PackedColumn> columns,
                        std::size_t row_size, const std::vector<std::byte>& rows,
                        std::size_t row_count);
// Reads the table into packed rows; strings are malloc'ed by HDF5 and must
// be released with release_packed_strings after unpacking.
std::vector<std::byte> read_packed_table(hid_t parent, const char* name,
                                         std::span<const PackedColumn> columns,
                                         std::size_t row_size, std::size_t& row_count);
void release_packed_strings(std::span<const PackedColumn> columns, std::size_t row_size,
                            std::vector<std::byte>& rows, std::size_t row_count);

template <class Record>
std::vector<PackedColumn> pack_layout(std::span<const Column<Record>> columns,
                                      std::size_t& row_size) {
  std::vector<PackedColumn> packed;
  row_size = 0;
  for (const auto& column : columns) {
    const int kind = static_cast<int>(column.member.index());
    packed.push_back({column.name, kind, row_size});
    row_size += packed_size_of_kind(kind);
  }
  return packed;
}

template <class Record>
void write_table(hid_t parent, const char* name, const std::vector<Record>& records,
                 std::span<const Column<Record>> columns) {
  std::size_t row_size = 0;
  const auto packed = pack_layout(columns, row_size);
  std::vector<std::byte> rows(row_size * records.size());
  for (std::size_t r = 0; r < records.size(); ++r) {
    std::byte* row = rows.data() + r * row_size;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      std::byte* cell = row + packed[c].offset;
      std::visit(
          [&](auto member) {
            const auto& value = records[r].*member;
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
              const char* text = value.c_str();
              std::memcpy(cell, &text, sizeof text);
            } else {
              std::memcpy(cell, &value, sizeof value);
            }
          },
          columns[c].member);
    }
  }
  write_packed_table(parent, name, packed, row_size, rows, records.size());
}

template <class Record>
std::vector<Record> read_table(hid_t parent, const char* name,
                               std::span<const Column<Record>> columns) {
  std::size_t row_size = 0;
  const auto packed = pack_layout(columns, row_size);
  std::size_t row_count = 0;
  auto rows = read_packed_table(parent, name, packed, row_size, row_count);
  std::vector<Record> records(row_count);
  for (std::size_t r = 0; r < row_count; ++r) {
    const std::byte* row = rows.data() + r * row_size;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::byte* cell = row + packed[c].offset;
      std::visit(
          [&](auto member) {
            auto& value = records[r].*member;
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
              const char* text = nullptr;
              std::memcpy(&text, cell, sizeof text);
              value = text != nullptr ? text : "";
            } else {
              std::memcpy(&value, cell, sizeof value);
            }
          },
          columns[c].member);
    }
  }
  release_packed_strings(packed, row_size, rows, row_count);
  return records;
}

}  // namespace ckpt::image::h5
