#include "schema.hpp"

namespace ckpt::image {

std::string_view generation_kind_name(GenerationKind kind) {
  return kind == GenerationKind::kFull ? "full" : "incremental";
}

std::span<const h5::Column<Region>> region_columns() {
  static const h5::Column<Region> columns[] = {
      {"start", &Region::start},     {"end", &Region::end},
      {"prot", &Region::prot},       {"flags", &Region::flags},
      {"kind", &Region::kind},       {"file_offset", &Region::file_offset},
      {"device", &Region::device},   {"inode", &Region::inode},
      {"path", &Region::path},
  };
  return columns;
}

std::span<const h5::Column<ThreadRecord>> thread_columns() {
  static const h5::Column<ThreadRecord> columns[] = {
      {"tid", &ThreadRecord::tid},
      {"flags", &ThreadRecord::flags},
      {"state_offset", &ThreadRecord::state_offset},
      {"state_size", &ThreadRecord::state_size},
  };
  return columns;
}

std::span<const h5::Column<DescriptorRecord>> descriptor_columns() {
  static const h5::Column<DescriptorRecord> columns[] = {
      {"fd", &DescriptorRecord::fd},
      {"kind", &DescriptorRecord::kind},
      {"open_flags", &DescriptorRecord::open_flags},
      {"fd_flags", &DescriptorRecord::fd_flags},
      {"offset", &DescriptorRecord::offset},
      {"shared_id", &DescriptorRecord::shared_id},
      {"path", &DescriptorRecord::path},
  };
  return columns;
}

std::span<const h5::Column<ChunkRecord>> chunk_columns() {
  static const h5::Column<ChunkRecord> columns[] = {
      {"raw_bytes", &ChunkRecord::raw_bytes},
      {"stored_bytes", &ChunkRecord::stored_bytes},
      {"xxh3", &ChunkRecord::checksum},
  };
  return columns;
}

std::span<const h5::Column<FileRecord>> file_columns() {
  static const h5::Column<FileRecord> columns[] = {
      {"path", &FileRecord::path},
      {"kind", &FileRecord::kind},
      {"mode", &FileRecord::mode},
      {"size", &FileRecord::size},
      {"mtime_ns", &FileRecord::mtime_ns},
      {"first_range", &FileRecord::first_range},
      {"range_count", &FileRecord::range_count},
  };
  return columns;
}

std::span<const h5::Column<FileRange>> range_columns() {
  static const h5::Column<FileRange> columns[] = {
      {"file_offset", &FileRange::file_offset},
      {"length", &FileRange::length},
      {"data_offset", &FileRange::data_offset},
  };
  return columns;
}

std::span<const h5::Column<GenerationEntry>> generation_columns() {
  static const h5::Column<GenerationEntry> columns[] = {
      {"seq", &GenerationEntry::seq},         {"kind", &GenerationEntry::kind},
      {"parent", &GenerationEntry::parent},   {"time_ns", &GenerationEntry::time_ns},
      {"bytes", &GenerationEntry::bytes},     {"file", &GenerationEntry::file},
  };
  return columns;
}

}  // namespace ckpt::image
