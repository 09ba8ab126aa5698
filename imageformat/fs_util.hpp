// Small file-system helpers for atomic commits: fsync, rename, locks.
#pragma once

#include <cstdint>
#include <string>

namespace ckpt::image {

// fsync a file by path; throws ImageError with the path on failure.
void fsync_path(const std::string& path);
// fsync the folder holding `path` so a rename in it is durable.
void fsync_parent_folder(const std::string& path);
// rename + fsync of the folder.
void durable_rename(const std::string& from, const std::string& to);
std::uint64_t file_size(const std::string& path);
bool path_exists(const std::string& path);
// Creates the folder (mode 0700) if missing.
void ensure_private_folder(const std::string& path);
std::string parent_folder(const std::string& path);
std::string base_name(const std::string& path);

// An exclusive flock() held for the object's lifetime. One writer per image.
class FileLock {
 public:
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace ckpt::image
