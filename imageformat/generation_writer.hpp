// Writes one generation file: processes (tables + page stream) and the
// storage checkpoint (file table + data stream). Order: optional storage
// section, then processes one after another, then close(). The file is a
// temporary; Image::commit() makes it part of the image.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "chunk_pipeline.hpp"
#include "h5_handle.hpp"
#include "schema.hpp"

namespace ckpt::image {

struct GenerationOptions {
  GenerationKind kind = GenerationKind::kFull;
  Codec codec = Codec::kLz4;
  int level = 1;          // zstd level
  unsigned workers = 0;   // compression threads; 0 = one per CPU
  std::string dirty_engine = "none";
  std::string note;       // free text, e.g. "merged from generations 1-4"
};

class GenerationWriter {
 public:
  GenerationWriter(std::string path, std::uint64_t seq, std::uint64_t parent,
                   const GenerationOptions& options);
  ~GenerationWriter();
  GenerationWriter(const GenerationWriter&) = delete;
  GenerationWriter& operator=(const GenerationWriter&) = delete;

  const GenerationOptions& options() const { return options_; }
  std::uint64_t seq() const { return seq_; }
  const std::string& path() const { return path_; }

  // Sets the free-text note attribute (not while a stream is open).
  void set_note(const std::string& note);

  // ---- processes ----
  void begin_process(const ProcessInfo& info);
  // Adds one page; addresses must ascend within a process. Zero pages are
  // not stored (in an incremental generation they are listed as zeroed).
  void add_page(std::uint64_t address, const std::byte* page);
  // Adds `count` consecutive pages starting at `address`.
  void add_pages(std::uint64_t address, const std::byte* pages, std::size_t count);
  // Zero-copy page input: space for up to `max_pages` whole pages (at least
  // one) inside the chunk being filled. The caller reads pages into it and
  // then calls commit_pages() with how many it wrote (0 is allowed) before
  // any other call; zero pages among them are dropped as in add_page().
  std::span<std::byte> page_space(std::size_t max_pages);
  void commit_pages(std::uint64_t address, std::size_t count);
  // Writes regions, threads, descriptors and misc; ends the process.
  void end_process(const ProcessTables& tables);

  // ---- storage checkpoint ----
  // Adds a file entry; `ranges` give file offsets and lengths, their bytes
  // come concatenated in `data` (data_offset is filled in here).
  void add_file(FileRecord record, std::vector<FileRange> ranges, std::span<const std::byte> data);
  // Streaming variant for large files: begin, append ranges, end.
  void begin_file(FileRecord record);
  void add_file_range(std::uint64_t file_offset, std::span<const std::byte> data);
  void end_file();

  // Finishes the storage section and the file, flushes and fsyncs it.
  // Returns the file size in bytes.
  std::uint64_t close();

  std::uint64_t pages_stored() const { return pages_stored_; }
  std::uint64_t zero_pages_skipped() const { return zero_pages_; }

 private:
  // Checks that `count` pages from `address` may come next (inside a
  // process, aligned, ascending) and records them as the last ones.
  void accept_pages(const char* caller, std::uint64_t address, std::size_t count);
  // Counts a zero page (and lists it in an incremental generation).
  void skip_zero_page(std::uint64_t address);
  void end_storage_stream();
  void open_storage_stream();

  std::string path_;
  std::uint64_t seq_;
  GenerationOptions options_;
  h5::Handle file_;
  h5::Handle processes_group_;
  std::unique_ptr<ChunkPipeline> pipeline_;

  // Current process.
  bool in_process_ = false;
  h5::Handle process_group_;
  h5::Handle page_dataset_;
  std::vector<std::uint64_t> page_index_;
  std::vector<std::uint64_t> zero_pages_list_;
  std::uint64_t last_address_ = 0;
  bool any_page_ = false;

  // Storage section.
  bool storage_open_ = false;
  bool storage_done_ = false;
  h5::Handle storage_group_;
  h5::Handle storage_dataset_;
  std::vector<FileRecord> files_;
  std::vector<FileRange> ranges_;
  bool in_file_ = false;

  bool closed_ = false;
  std::uint64_t pages_stored_ = 0;
  std::uint64_t zero_pages_ = 0;
};

bool is_zero_page(const std::byte* page);

}  // namespace ckpt::image
