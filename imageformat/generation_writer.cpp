#include "generation_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "errors.hpp"
#include "fs_util.hpp"

namespace ckpt::image {

bool is_zero_page(const std::byte* page) {
  static const std::byte zeros[kPageSize] = {};
  return std::memcmp(page, zeros, kPageSize) == 0;  // stops at the first non-zero byte
}

GenerationWriter::GenerationWriter(std::string path, std::uint64_t seq, std::uint64_t parent,
                                   const GenerationOptions& options)
    : path_(std::move(path)), seq_(seq), options_(options) {
  register_hdf5_filters();
  file_ = h5::create_file(path_);
  ::chmod(path_.c_str(), 0600);  // images hold process memory
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  h5::write_attribute(file_, "format", std::string("ckpt-generation"));
  h5::write_attribute(file_, "format_version", kFormatVersion);
  h5::write_attribute(file_, "generation", seq);
  h5::write_attribute(file_, "kind", std::string(generation_kind_name(options.kind)));
  h5::write_attribute(file_, "parent", parent);
  h5::write_attribute(file_, "time_ns",
                      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  h5::write_attribute(file_, "codec", std::string(codec_name(options.codec)));
  h5::write_attribute(file_, "dirty_engine", options.dirty_engine);
  h5::write_attribute(file_, "page_size", kPageSize);
  if (!options.note.empty()) h5::write_attribute(file_, "note", options.note);
  processes_group_ = h5::create_group(file_, "processes");
  pipeline_ = std::make_unique<ChunkPipeline>(options.codec, options.level, options.workers);
}

GenerationWriter::~GenerationWriter() {
  // An unclosed writer is an abandoned generation: its temp file goes.
  if (!closed_) {
    pipeline_.reset();
    page_dataset_.reset();
    storage_dataset_.reset();
    process_group_.reset();
    storage_group_.reset();
    processes_group_.reset();
    file_.reset();
    ::unlink(path_.c_str());
  }
}

void GenerationWriter::set_note(const std::string& note) {
  if (in_process_ || storage_open_) throw ImageError("set_note while a stream is open");
  h5::write_attribute(file_, "note", note);
}

void GenerationWriter::begin_process(const ProcessInfo& info) {
  if (in_process_) throw ImageError("begin_process: previous process not ended");
  if (in_file_) throw ImageError("begin_process: a storage file is still open");
  if (storage_open_) end_storage_stream();
  const std::string name = std::to_string(info.pid);
  if (h5::exists(processes_group_, name)) {
    throw ImageError("process " + name + " added twice to generation " + std::to_string(seq_));
  }
  process_group_ = h5::create_group(processes_group_, name);
  h5::write_attribute(process_group_, "pid", info.pid);
  h5::write_attribute(process_group_, "ppid", info.ppid);
  h5::write_attribute(process_group_, "pgid", info.pgid);
  h5::write_attribute(process_group_, "sid", info.sid);
  h5::write_attribute(process_group_, "exe", info.exe);
  h5::write_attribute(process_group_, "cwd", info.cwd);
  h5::write_strings_dataset(process_group_, "argv", info.argv);
  page_dataset_ = h5::Handle(
      create_stream_dataset(process_group_, "pages", options_.codec, options_.level));
  pipeline_->begin(page_dataset_, "generation " + std::to_string(seq_) + ", process " + name);
  page_index_.clear();
  zero_pages_list_.clear();
  any_page_ = false;
  in_process_ = true;
}

void GenerationWriter::accept_pages(const char* caller, std::uint64_t address, std::size_t count) {
  if (!in_process_) throw ImageError(std::string(caller) + " outside a process");
  if (address % kPageSize != 0) throw ImageError(std::string(caller) + ": unaligned address");
  if (any_page_ && address <= last_address_) {
    throw ImageError(std::string(caller) + ": addresses must ascend within a process");
  }
  any_page_ = true;
  last_address_ = address + (count - 1) * kPageSize;
}

void GenerationWriter::skip_zero_page(std::uint64_t address) {
  ++zero_pages_;
  if (options_.kind == GenerationKind::kIncremental) zero_pages_list_.push_back(address);
}

void GenerationWriter::add_page(std::uint64_t address, const std::byte* page) {
  accept_pages("add_page", address, 1);
  if (is_zero_page(page)) {
    skip_zero_page(address);
    return;
  }
  std::memcpy(pipeline_->reserve(kPageSize), page, kPageSize);
  page_index_.push_back(address);
  ++pages_stored_;
}

void GenerationWriter::add_pages(std::uint64_t address, const std::byte* pages, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) add_page(address + i * kPageSize, pages + i * kPageSize);
}

std::span<std::byte> GenerationWriter::page_space(std::size_t max_pages) {
  if (!in_process_) throw ImageError("page_space outside a process");
  const std::span<std::byte> space = pipeline_->open_space();
  return space.first(std::min(space.size(), std::max<std::size_t>(max_pages, 1) * kPageSize));
}

void GenerationWriter::commit_pages(std::uint64_t address, std::size_t count) {
  if (count == 0) {
    pipeline_->commit(0);
    return;
  }
  accept_pages("commit_pages", address, count);
  // The pages sit at the start of the open space; keep the non-zero ones,
  // moved down over any zero pages before them.
  std::byte* const base = pipeline_->open_space().data();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::byte* page = base + i * kPageSize;
    const std::uint64_t page_address = address + i * kPageSize;
    if (is_zero_page(page)) {
      skip_zero_page(page_address);
      continue;
    }
    if (kept != i) std::memmove(base + kept * kPageSize, page, kPageSize);
    page_index_.push_back(page_address);
    ++kept;
  }
  pages_stored_ += kept;
  pipeline_->commit(kept * kPageSize);
}

void GenerationWriter::end_process(const ProcessTables& tables) {
  if (!in_process_) throw ImageError("end_process without begin_process");
  in_process_ = false;
  const auto chunks = pipeline_->finish();
  page_dataset_.reset();
  h5::write_table(process_group_, "page_chunks", chunks, chunk_columns());
  h5::write_u64_dataset(process_group_, "page_index", page_index_);
  h5::write_u64_dataset(process_group_, "zero_pages", zero_pages_list_);
  h5::write_table(process_group_, "regions", tables.regions, region_columns());
  h5::write_table(process_group_, "threads", tables.threads, thread_columns());
  h5::write_bytes_dataset(process_group_, "thread_state", tables.thread_state);
  h5::write_table(process_group_, "descriptors", tables.descriptors, descriptor_columns());
  h5::write_bytes_dataset(process_group_, "misc", tables.misc);
  if (!tables.channels.empty()) h5::write_bytes_dataset(process_group_, "channels", tables.channels);
  process_group_.reset();
}

void GenerationWriter::open_storage_stream() {
  if (storage_done_) throw ImageError("storage files must be added before the first process");
  if (in_process_) throw ImageError("add_file inside a process");
  storage_group_ = h5::create_group(file_, "storage");
  storage_dataset_ =
      h5::Handle(create_stream_dataset(storage_group_, "data", options_.codec, options_.level));
  pipeline_->begin(storage_dataset_, "generation " + std::to_string(seq_) + ", storage");
  storage_open_ = true;
}

void GenerationWriter::begin_file(FileRecord record) {
  if (!storage_open_) open_storage_stream();
  if (in_file_) throw ImageError("begin_file: previous file not ended");
  record.first_range = ranges_.size();
  record.range_count = 0;
  files_.push_back(std::move(record));
  in_file_ = true;
}

void GenerationWriter::add_file_range(std::uint64_t file_offset, std::span<const std::byte> data) {
  if (!in_file_) throw ImageError("add_file_range outside a file");
  ranges_.push_back({file_offset, data.size(), pipeline_->stream_bytes()});
  pipeline_->append(data);
  ++files_.back().range_count;
}

void GenerationWriter::end_file() {
  if (!in_file_) throw ImageError("end_file without begin_file");
  in_file_ = false;
}

void GenerationWriter::add_file(FileRecord record, std::vector<FileRange> ranges,
                                std::span<const std::byte> data) {
  begin_file(std::move(record));
  std::uint64_t consumed = 0;
  for (const auto& range : ranges) {
    if (consumed + range.length > data.size()) {
      throw ImageError("add_file: ranges exceed the data given for " + files_.back().path);
    }
    add_file_range(range.file_offset, data.subspan(consumed, range.length));
    consumed += range.length;
  }
  end_file();
}

void GenerationWriter::end_storage_stream() {
  storage_open_ = false;
  storage_done_ = true;
  const auto chunks = pipeline_->finish();
  storage_dataset_.reset();
  h5::write_table(storage_group_, "data_chunks", chunks, chunk_columns());
  h5::write_table(storage_group_, "files", files_, file_columns());
  h5::write_table(storage_group_, "ranges", ranges_, range_columns());
  storage_group_.reset();
}

std::uint64_t GenerationWriter::close() {
  if (in_process_) throw ImageError("close: a process is still open");
  if (in_file_) throw ImageError("close: a storage file is still open");
  if (storage_open_) end_storage_stream();
  if (!storage_done_) {
    // Every generation has a storage group, possibly empty.
    open_storage_stream();
    end_storage_stream();
  }
  pipeline_.reset();
  processes_group_.reset();
  h5::check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_ + ": cannot flush (disk full?)");
  if (H5Fclose(file_.release()) < 0) throw ImageError(path_ + ": cannot close (disk full?)");
  fsync_path(path_);
  closed_ = true;
  return file_size(path_);
}

}  // namespace ckpt::image
