#include "generation_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "errors.hpp"

namespace ckpt::image {

GenerationReader::GenerationReader(const std::string& path) : path_(path) {
  register_hdf5_filters();
  file_ = h5::open_file_readonly(path);
  try {
    if (h5::read_string_attribute(file_, "format") != "ckpt-generation") {
      throw ImageError(path + ": not a ckpt generation file");
    }
    const auto version = h5::read_u64_attribute(file_, "format_version");
    if (version > kFormatVersion) {
      throw FormatVersionError(path + ": generation format version " + std::to_string(version) +
                               " is newer than this ckpt understands (" +
                               std::to_string(kFormatVersion) + "); use a newer ckpt");
    }
    header_.seq = h5::read_u64_attribute(file_, "generation");
    header_.kind = h5::read_string_attribute(file_, "kind") == "full" ? GenerationKind::kFull
                                                                       : GenerationKind::kIncremental;
    header_.parent = h5::read_u64_attribute(file_, "parent");
    header_.time_ns = h5::read_i64_attribute(file_, "time_ns");
    const auto codec = parse_codec(h5::read_string_attribute(file_, "codec"));
    if (!codec) throw ImageError(path + ": unknown codec");
    header_.codec = *codec;
    header_.dirty_engine = h5::read_string_attribute(file_, "dirty_engine");
    if (h5::has_attribute(file_, "note")) header_.note = h5::read_string_attribute(file_, "note");
  } catch (const FormatVersionError&) {
    throw;
  } catch (const ImageError& error) {
    const std::string what = error.what();
    if (what.rfind(path, 0) == 0) throw;
    throw ImageError(path + ": " + what);
  }
}

std::string GenerationReader::where(std::int64_t pid) const {
  return "generation " + std::to_string(header_.seq) + ", process " + std::to_string(pid);
}

std::vector<std::int64_t> GenerationReader::pids() const {
  h5::Handle group = h5::open_group(file_, "processes");
  std::vector<std::int64_t> pids;
  for (const auto& name : h5::child_names(group)) {
    // The writer names each group std::to_string(pid); anything else (a sign,
    // leading zeros, trailing text, overflow) would open the wrong group.
    std::int64_t pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size() || std::to_string(pid) != name) {
      throw ImageError(path_ + ": generation " + std::to_string(header_.seq) + ": process group '" +
                       name + "' is not a process id");
    }
    pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

GenerationReader::OpenProcess& GenerationReader::process(std::int64_t pid) const {
  auto found = processes_.find(pid);
  if (found != processes_.end()) return found->second;
  const std::string name = "processes/" + std::to_string(pid);
  if (!h5::exists(file_, "processes") || !h5::exists(file_, name)) {
    throw ImageError(path_ + ": " + where(pid) + ": no such process");
  }
  OpenProcess open;
  open.group = h5::open_group(file_, name);
  open.pages = h5::Handle(
      h5::check(H5Dopen2(open.group, "pages", H5P_DEFAULT), where(pid) + ": missing pages"));
  open.chunks = h5::read_table(open.group, "page_chunks", chunk_columns());
  return processes_.emplace(pid, std::move(open)).first->second;
}

ProcessTables GenerationReader::read_tables(std::int64_t pid) const {
  const hid_t group = process(pid).group;
  ProcessTables tables;
  tables.info.pid = h5::read_i64_attribute(group, "pid");
  tables.info.ppid = h5::read_i64_attribute(group, "ppid");
  tables.info.pgid = h5::read_i64_attribute(group, "pgid");
  tables.info.sid = h5::read_i64_attribute(group, "sid");
  tables.info.exe = h5::read_string_attribute(group, "exe");
  tables.info.cwd = h5::read_string_attribute(group, "cwd");
  tables.info.argv = h5::read_strings_dataset(group, "argv");
  tables.regions = h5::read_table(group, "regions", region_columns());
  tables.threads = h5::read_table(group, "threads", thread_columns());
  tables.thread_state = h5::read_bytes_dataset(group, "thread_state");
  tables.descriptors = h5::read_table(group, "descriptors", descriptor_columns());
  tables.misc = h5::read_bytes_dataset(group, "misc");
  if (h5::exists(group, "channels")) tables.channels = h5::read_bytes_dataset(group, "channels");
  return tables;
}

std::vector<std::uint64_t> GenerationReader::page_index(std::int64_t pid) const {
  return h5::read_u64_dataset(process(pid).group, "page_index");
}

std::vector<std::uint64_t> GenerationReader::zero_pages(std::int64_t pid) const {
  return h5::read_u64_dataset(process(pid).group, "zero_pages");
}

std::vector<ChunkRecord> GenerationReader::page_chunks(std::int64_t pid) const {
  return process(pid).chunks;
}

std::uint64_t GenerationReader::page_stream_bytes(std::int64_t pid) const {
  return h5::dataset_length(process(pid).pages);
}

void GenerationReader::read_chunk(hid_t dataset, const ChunkRecord& record, std::uint64_t chunk,
                                  std::span<std::byte> out, const std::string& place) const {
  if (out.size() != kChunkBytes) throw ImageError("read_chunk: buffer must be one chunk");
  const std::string label = path_ + ": " + place + ", chunk " + std::to_string(chunk);
  const hsize_t offset = chunk * kChunkBytes;
  hsize_t stored = 0;
  if (H5Dget_chunk_storage_size(dataset, &offset, &stored) < 0 || stored != record.stored_bytes) {
    throw CorruptChunkError(label + ": stored size differs from the chunk table");
  }
  std::uint32_t filters = 0;
  if (header_.codec == Codec::kNone && stored == kChunkBytes) {
    // Uncompressed: straight into the caller's buffer, no second copy.
    if (H5Dread_chunk(dataset, H5P_DEFAULT, &offset, &filters, out.data()) < 0) {
      throw CorruptChunkError(label + ": unreadable");
    }
    if (chunk_checksum(out) != record.checksum) throw CorruptChunkError(label + ": checksum mismatch");
    return;
  }
  thread_local std::vector<std::byte> encoded;
  encoded.resize(stored);
  if (H5Dread_chunk(dataset, H5P_DEFAULT, &offset, &filters, encoded.data()) < 0) {
    throw CorruptChunkError(label + ": unreadable");
  }
  if (!decode_chunk(header_.codec, encoded, out)) {
    throw CorruptChunkError(label + ": cannot decode (" + std::string(codec_name(header_.codec)) +
                            " data damaged)");
  }
  if (chunk_checksum(out) != record.checksum) {
    throw CorruptChunkError(label + ": checksum mismatch");
  }
}

void GenerationReader::read_page_chunk(std::int64_t pid, std::uint64_t chunk,
                                       std::span<std::byte> out) const {
  auto& open = process(pid);
  if (chunk >= open.chunks.size()) {
    throw ImageError(path_ + ": " + where(pid) + ": chunk " + std::to_string(chunk) +
                     " out of range");
  }
  read_chunk(open.pages, open.chunks[chunk], chunk, out, where(pid));
}

std::vector<FileRecord> GenerationReader::files() const {
  if (!h5::exists(file_, "storage")) return {};
  h5::Handle group = h5::open_group(file_, "storage");
  return h5::read_table(group, "files", file_columns());
}

std::vector<FileRange> GenerationReader::ranges() const {
  if (!h5::exists(file_, "storage")) return {};
  h5::Handle group = h5::open_group(file_, "storage");
  return h5::read_table(group, "ranges", range_columns());
}

const std::vector<ChunkRecord>& GenerationReader::storage_chunks() const {
  if (!storage_loaded_) {
    if (h5::exists(file_, "storage")) {
      h5::Handle group = h5::open_group(file_, "storage");
      storage_chunks_ = h5::read_table(group, "data_chunks", chunk_columns());
      storage_data_ = h5::Handle(
          h5::check(H5Dopen2(group, "data", H5P_DEFAULT), path_ + ": missing storage data"));
    }
    storage_loaded_ = true;
  }
  return storage_chunks_;
}

std::uint64_t GenerationReader::storage_stream_bytes() const {
  storage_chunks();  // opens the data set
  return storage_data_.valid() ? h5::dataset_length(storage_data_) : 0;
}

void GenerationReader::read_storage_chunk(std::uint64_t chunk, std::span<std::byte> out) const {
  const auto& chunks = storage_chunks();
  if (chunk >= chunks.size()) throw ImageError(path_ + ": storage chunk out of range");
  read_chunk(storage_data_, chunks[chunk], chunk, out,
             "generation " + std::to_string(header_.seq) + ", storage");
}

std::vector<std::byte> GenerationReader::read_storage_bytes(std::uint64_t offset,
                                                            std::uint64_t length) const {
  std::vector<std::byte> bytes(length);
  std::vector<std::byte> chunk(kChunkBytes);
  std::uint64_t done = 0;
  while (done < length) {
    const std::uint64_t position = offset + done;
    const std::uint64_t index = position / kChunkBytes;
    const std::uint64_t within = position % kChunkBytes;
    read_storage_chunk(index, chunk);
    const std::uint64_t take = std::min(length - done, kChunkBytes - within);
    std::memcpy(bytes.data() + done, chunk.data() + within, take);
    done += take;
  }
  return bytes;
}

}  // namespace ckpt::image
