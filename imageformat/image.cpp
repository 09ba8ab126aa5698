#include "image.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <set>

#include "errors.hpp"
#include "h5_handle.hpp"
#include "h5_table.hpp"

namespace ckpt::image {
namespace {

std::string generation_file_name(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "gen-%06llu.h5", static_cast<unsigned long long>(seq));
  return name;
}

std::string link_name(const GenerationEntry& entry) {
  std::string name = base_name(entry.file);
  if (name.size() > 3 && name.ends_with(".h5")) name.resize(name.size() - 3);
  return name;
}

}  // namespace

Image Image::open(const std::string& path) {
  Image image(path);
  if (!path_exists(path)) throw ImageError(path + ": no such image");
  image.read_index();
  return image;
}

Image Image::open_or_create(const std::string& path, const ImageMetadata& metadata) {
  if (path_exists(path)) return open(path);
  Image image(path);
  image.metadata_ = metadata;
  ensure_private_folder(image.folder());
  FileLock lock(image.folder() + "/lock");
  if (path_exists(path)) return open(path);  // created meanwhile by another writer
  image.write_index({});
  return image;
}

void Image::reload() { read_index(); }

std::string Image::generation_path(const GenerationEntry& entry) const {
  // The generation files live in this index's own folder (IMAGE.h5.d): an
  // image copied or renamed together with its folder reads its own files,
  // not those of the image it was copied from (entry.file keeps the name
  // the external links of the index were made with).
  return folder() + "/" + base_name(entry.file);
}

GenerationReader Image::open_generation(const GenerationEntry& entry) const {
  const std::string path = generation_path(entry);
  const std::string seq = std::to_string(entry.seq);
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0 && errno == ENOENT) {
    throw ImageError(path + ": generation " + seq + " is missing (the index " + path_ +
                     " lists it)");
  }
  GenerationReader reader(path);
  if (reader.header().seq != entry.seq) {
    throw ImageError(path + ": holds generation " + std::to_string(reader.header().seq) +
                     ", the index lists it as generation " + seq);
  }
  return reader;
}

void Image::read_index() {
  h5::Handle file = h5::open_file_readonly(path_);
  try {
    if (!h5::has_attribute(file, "format") ||
        h5::read_string_attribute(file, "format") != "ckpt-image") {
      throw ImageError(path_ + ": not a ckpt image (no 'format' attribute 'ckpt-image')");
    }
    const auto version = h5::read_u64_attribute(file, "format_version");
    if (version > kFormatVersion) {
      throw FormatVersionError(path_ + ": image format version " + std::to_string(version) +
                               " is newer than this ckpt understands (" +
                               std::to_string(kFormatVersion) + "); use a newer ckpt");
    }
    metadata_.job = h5::read_string_attribute(file, "job");
    metadata_.policy_text = h5::read_string_attribute(file, "policy");
    generations_ = h5::read_table(file, "generations", generation_columns());
  } catch (const FormatVersionError&) {
    throw;
  } catch (const ImageError& error) {
    const std::string what = error.what();
    if (what.rfind(path_, 0) == 0) throw;
    throw ImageError(path_ + ": damaged index: " + what);
  }
}

void Image::write_index(const std::vector<GenerationEntry>& generations) {
  const std::string temporary = path_ + ".tmp-" + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  {
    h5::Handle file = h5::create_file(temporary);
    h5::write_attribute(file, "format", std::string("ckpt-image"));
    h5::write_attribute(file, "format_version", kFormatVersion);
    h5::write_attribute(file, "job", metadata_.job);
    h5::write_attribute(file, "policy", metadata_.policy_text);
    h5::write_table(file, "generations", generations, generation_columns());
    h5::Handle chain = h5::create_group(file, "chain");
    for (const auto& entry : generations) {
      h5::check_status(H5Lcreate_external(entry.file.c_str(), "/", chain, link_name(entry).c_str(),
                                          H5P_DEFAULT, H5P_DEFAULT),
                       "cannot link generation " + entry.file);
    }
    chain.reset();
    if (H5Fclose(file.release()) < 0) throw ImageError(temporary + ": cannot close index");
  }
  ::chmod(temporary.c_str(), 0600);
  fsync_path(temporary);
  durable_rename(temporary, path_);
  generations_ = generations;
}

std::vector<GenerationEntry> Image::current_chain() const {
  auto full = std::find_if(generations_.rbegin(), generations_.rend(), [](const auto& entry) {
    return entry.kind == static_cast<std::uint32_t>(GenerationKind::kFull);
  });
  if (full == generations_.rend()) return {};
  return {full.base() - 1, generations_.end()};
}

std::uint64_t Image::next_seq() const {
  std::uint64_t highest = 0;
  for (const auto& entry : generations_) highest = std::max(highest, entry.seq);
  return highest + 1;
}

void Image::remove_stale_temporaries() const {
  DIR* folder = ::opendir(this->folder().c_str());
  if (folder == nullptr) return;
  std::set<std::string> referenced;
  for (const auto& entry : generations_) referenced.insert(base_name(entry.file));
  while (const dirent* item = ::readdir(folder)) {
    const std::string name = item->d_name;
    const bool generation_file = name.starts_with("gen-");
    if (generation_file && !referenced.contains(name)) {
      ::unlink((this->folder() + "/" + name).c_str());
    }
  }
  ::closedir(folder);
}

PendingGeneration Image::begin_generation(const GenerationOptions& options) {
  return start_generation(options, false);
}

PendingGeneration Image::start_generation(const GenerationOptions& options,
                                          bool replace_current_chain) {
  PendingGeneration pending;
  pending.lock_ = std::make_unique<FileLock>(folder() + "/lock");
  read_index();  // another writer may have committed meanwhile
  remove_stale_temporaries();
  if (options.kind == GenerationKind::kIncremental && current_chain().empty()) {
    throw ImageError(path_ + ": an incremental generation needs a committed full generation");
  }
  const std::uint64_t seq = next_seq();
  // A generation replacing the current chain (merge) is a full generation
  // that builds on nothing: the chain it replaces is gone once it commits.
  pending.parent_ = generations_.empty() || replace_current_chain ? 0 : generations_.back().seq;
  pending.final_path_ = folder() + "/" + generation_file_name(seq);
  pending.writer_ = std::make_unique<GenerationWriter>(pending.final_path_ + ".tmp", seq,
                                                       pending.parent_, options);
  return pending;
}

std::uint64_t Image::commit(PendingGeneration pending, std::uint64_t keep_full) {
  return commit_locked(pending, keep_full, false);
}

std::uint64_t Image::commit_locked(PendingGeneration& pending, std::uint64_t keep_full,
                                   bool replace_current_chain) {
  GenerationWriter& writer = *pending.writer_;
  const std::uint64_t bytes = writer.close();
  durable_rename(writer.path(), pending.final_path_);

  GenerationEntry entry;
  entry.seq = writer.seq();
  entry.kind = static_cast<std::uint32_t>(writer.options().kind);
  entry.parent = pending.parent_;
  entry.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  entry.bytes = bytes;
  entry.file = base_name(folder()) + "/" + base_name(pending.final_path_);

  std::vector<GenerationEntry> kept = generations_;
  if (replace_current_chain) {
    const auto chain = current_chain();
    kept.resize(kept.size() - chain.size());
  }
  kept.push_back(entry);
  if (keep_full > 0 && entry.kind == static_cast<std::uint32_t>(GenerationKind::kFull)) {
    std::uint64_t fulls = 0;
    auto first_kept = kept.end();
    while (first_kept != kept.begin() && fulls < keep_full) {
      --first_kept;
      if (first_kept->kind == static_cast<std::uint32_t>(GenerationKind::kFull)) ++fulls;
    }
    kept.erase(kept.begin(), first_kept);
  }
  const std::vector<GenerationEntry> before = generations_;
  write_index(kept);  // the commit point
  for (const auto& old : before) {
    const bool still_listed = std::any_of(kept.begin(), kept.end(),
                                          [&](const auto& item) { return item.seq == old.seq; });
    if (!still_listed) ::unlink(generation_path(old).c_str());
  }
  pending.writer_.reset();
  pending.lock_.reset();
  return entry.seq;
}

}  // namespace ckpt::image
