// An image: the index file IMAGE.h5 plus one HDF5 file per generation in
// IMAGE.h5.d/. The index lists committed generations in order and links each
// with an HDF5 external link, so `h5ls -r IMAGE.h5` shows the whole chain.
//
// Commit protocol (crash-safe at every step): the generation is written to
// gen-N.h5.tmp, fsynced, renamed to gen-N.h5; then a new index is written to
// a temp file, fsynced and renamed over IMAGE.h5; only then are superseded
// generation files removed. One writer at a time (flock on IMAGE.h5.d/lock).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs_util.hpp"
#include "generation_reader.hpp"
#include "generation_writer.hpp"
#include "schema.hpp"

namespace ckpt::image {

struct ImageMetadata {
  std::string job;
  std::string policy_text;  // the effective policy, as TOML
};

class Image;

// A generation being written. Destroying it without commit discards it.
class PendingGeneration {
 public:
  GenerationWriter& writer() { return *writer_; }
  std::uint64_t seq() const { return writer_->seq(); }

 private:
  friend class Image;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<GenerationWriter> writer_;
  std::string final_path_;
  std::uint64_t parent_ = 0;
};

class Image {
 public:
  // Opens an existing image; throws ImageError / FormatVersionError.
  static Image open(const std::string& path);
  // Opens the image or creates an empty one (no generations yet).
  static Image open_or_create(const std::string& path, const ImageMetadata& metadata);

  const std::string& path() const { return path_; }
  std::string folder() const { return path_ + ".d"; }
  const ImageMetadata& metadata() const { return metadata_; }
  const std::vector<GenerationEntry>& generations() const { return generations_; }
  std::string generation_path(const GenerationEntry& entry) const;
  // Opens the file of a listed generation. A missing file, or one that holds
  // another generation, is an ImageError naming the file and the generation.
  GenerationReader open_generation(const GenerationEntry& entry) const;

  // The generations a restart needs: the newest full one and the
  // incrementals after it (empty if nothing is committed).
  std::vector<GenerationEntry> current_chain() const;

  // Starts a new generation (takes the image's writer lock). An incremental
  // generation needs a committed generation to build on. The new
  // generation's parent is the newest committed one.
  PendingGeneration begin_generation(const GenerationOptions& options);
  // Closes, fsyncs and commits it; keeps `keep_full` full chains and removes
  // older generation files after the index is replaced. Returns the seq.
  std::uint64_t commit(PendingGeneration pending, std::uint64_t keep_full = 0);

  // Replaces the newest chain by one full generation written by `fill`
  // (used by merge). Holds the lock for the whole operation. The new
  // generation has no parent (0), in its file as in the index.
  template <class Fill>
  std::uint64_t replace_current_chain(const GenerationOptions& options, Fill fill);

  // Re-reads the index from disk.
  void reload();

 private:
  explicit Image(std::string path) : path_(std::move(path)) {}
  void read_index();
  void write_index(const std::vector<GenerationEntry>& generations);
  std::uint64_t next_seq() const;
  PendingGeneration start_generation(const GenerationOptions& options, bool replace_current_chain);
  void remove_stale_temporaries() const;
  std::uint64_t commit_locked(PendingGeneration& pending, std::uint64_t keep_full,
                              bool replace_current_chain);

  std::string path_;
  ImageMetadata metadata_;
  std::vector<GenerationEntry> generations_;
};

template <class Fill>
std::uint64_t Image::replace_current_chain(const GenerationOptions& options, Fill fill) {
  PendingGeneration pending = start_generation(options, true);
  fill(pending.writer());
  return commit_locked(pending, 0, true);
}

}  // namespace ckpt::image
