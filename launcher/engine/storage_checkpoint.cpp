#include "storage_checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "protocol.h"

namespace ckpt::engine {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kPiece = 1 << 20;

std::string normal(const std::string& path) { return fs::path(path).lexically_normal().string(); }

bool under(const std::string& path, const std::string& folder) {
  if (folder.empty()) return false;
  if (path == folder) return true;
  const std::string prefix = folder.back() == '/' ? folder : folder + "/";
  return path.rfind(prefix, 0) == 0;
}

bool read_remote(pid_t pid, std::uint64_t address, void* out, std::size_t size) {
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

bool write_remote(pid_t pid, std::uint64_t address, const void* data, std::size_t size) {
  iovec local{const_cast<void*>(data), size};
  iovec remote{reinterpret_cast<void*>(address), size};
  return ::process_vm_writev(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

// Saves one file whole (streamed in 1 MiB pieces; holes stay holes).
std::uint64_t save_file(image::GenerationWriter& writer, const std::string& path, const struct stat& info) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw std::runtime_error("cannot save " + path + " in the storage checkpoint: " + std::strerror(errno));
  image::FileRecord record;
  record.path = path;
  record.kind = static_cast<std::uint32_t>(image::FileEntryKind::kWhole);
  record.mode = info.st_mode & 07777;
  record.size = static_cast<std::uint64_t>(info.st_size);
  record.mtime_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  writer.begin_file(record);
  std::vector<std::byte> piece(kPiece);
  std::uint64_t saved = 0;
  try {
    for (std::uint64_t at = 0; at < record.size;) {
      const ssize_t got = ::pread(fd, piece.data(), piece.size(), static_cast<off_t>(at));
      if (got < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
      if (got == 0) break;  // shorter than it was a moment ago (cannot happen while stopped)
      bool zero = true;
      for (ssize_t i = 0; i < got && zero; ++i) zero = piece[static_cast<std::size_t>(i)] == std::byte{0};
      if (!zero) {
        writer.add_file_range(at, {piece.data(), static_cast<std::size_t>(got)});
        saved += static_cast<std::uint64_t>(got);
      }
      at += static_cast<std::uint64_t>(got);
    }
  } catch (...) {
    ::close(fd);
    writer.end_file();
    throw;
  }
  ::close(fd);
  writer.end_file();
  return saved;
}

void write_file_content(const image::ResolvedChain& chain, const image::ResolvedFile& file) {
  const std::string& path = file.record.path;
  std::error_code ignored;
  fs::create_directories(fs::path(path).parent_path(), ignored);
  if (fs::is_symlink(path, ignored) || (fs::exists(path, ignored) && !fs::is_regular_file(path, ignored))) {
    fs::remove(path, ignored);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot roll back " + path + ": " + std::strerror(errno));
  std::vector<std::byte> content;
  image::read_resolved_file(chain, file, content);
  std::size_t done = 0;
  bool ok = ::ftruncate(fd, 0) == 0;
  while (ok && done < content.size()) {
    const ssize_t wrote = ::pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    ok = wrote > 0;
    if (ok) done += static_cast<std::size_t>(wrote);
  }
  ok = ok && ::ftruncate(fd, static_cast<off_t>(file.record.size)) == 0 &&
       ::fchmod(fd, static_cast<mode_t>(file.record.mode & 07777)) == 0;
  const int saved_errno = errno;
  if (ok) {
    timespec times[2];
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = file.record.mtime_ns / 1000000000;
    times[1].tv_nsec = file.record.mtime_ns % 1000000000;
    ::futimens(fd, times);
  }
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot roll back " + path + ": " + std::strerror(saved_errno));
}

}  // namespace

StorageCheckpoint::StorageCheckpoint(std::vector<std::string> include, std::vector<std::string> exclude,
                                     const std::string& image_path)
    : image_path_(normal(fs::absolute(image_path).string())) {
  for (auto& path : include) include_.push_back(normal(path));
  for (auto& path : exclude) exclude_.push_back(normal(path));
}

bool StorageCheckpoint::saved(const std::string& path) const {
  if (path.empty() || path[0] != '/') return false;
  for (const char* system : {"/proc", "/sys", "/dev"}) {
    if (under(path, system)) return false;
  }
  if (path == image_path_ || under(path, image_path_ + ".d") || path.rfind(image_path_ + ".", 0) == 0) return false;
  for (const auto& folder : exclude_) {
    if (under(path, folder)) return false;
  }
  return true;
}

void StorageCheckpoint::track(const std::string& path) {
  const std::string clean = normal(path);
  if (saved(clean)) tracked_.insert(clean);
}

void StorageCheckpoint::seed(const image::ResolvedChain& chain) {
  for (const auto& file : chain.files) {
    if (static_cast<image::FileEntryKind>(file.record.kind) != image::FileEntryKind::kDirectory) track(file.record.path);
  }
}

std::string StorageCheckpoint::collect(pid_t outer_pid, std::uint64_t agent_state) {
  std::string warning;
  const std::uint64_t count_at = agent_state + offsetof(CkptAgentState, touched_count);
  std::uint32_t counts[2] = {0, 0};  // touched_count, touched_overflow
  if (agent_state != 0 && read_remote(outer_pid, count_at, counts, sizeof counts)) {
    const std::uint32_t count = std::min<std::uint32_t>(counts[0], CKPT_MAX_TOUCHED);
    std::vector<char> paths(static_cast<std::size_t>(count) * CKPT_PATH_BYTES);
    if (count > 0 && read_remote(outer_pid, agent_state + offsetof(CkptAgentState, touched), paths.data(), paths.size())) {
      for (std::uint32_t i = 0; i < count; ++i) {
        const char* path = paths.data() + static_cast<std::size_t>(i) * CKPT_PATH_BYTES;
        track(std::string(path, strnlen(path, CKPT_PATH_BYTES)));
      }
    }
    if (counts[1] != 0) {
      warning = "a process changed more than " + std::to_string(CKPT_MAX_TOUCHED) +
                " files between two checkpoints; some may be missing from the storage checkpoint "
                "(list their folder in [storage] include)";
    }
    const std::uint32_t empty[2] = {0, 0};
    write_remote(outer_pid, count_at, empty, sizeof empty);
  }
  // Files held open for writing (also inherited ones).
  const std::string folder = "/proc/" + std::to_string(outer_pid);
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(folder + "/fd", ignored)) {
    const std::string name = entry.path().filename().string();
    std::ifstream info(folder + "/fdinfo/" + name);
    std::string key;
    int flags = 0;
    while (info >> key) {
      if (key == "flags:") {
        info >> std::oct >> flags;
        break;
      }
    }
    if ((flags & O_ACCMODE) == O_RDONLY) continue;
    struct stat target {};
    if (::stat(entry.path().c_str(), &target) != 0 || !S_ISREG(target.st_mode)) continue;
    // The coordinator's own stdout/stderr (a log file the group inherited)
    // belong to whoever runs ckpt, not to the checkpoint.
    bool ours = false;
    for (int k = 0; k < 3; ++k) {
      struct stat own {};
      ours |= ::fstat(k, &own) == 0 && own.st_dev == target.st_dev && own.st_ino == target.st_ino;
    }
    if (ours) continue;
    const auto link = fs::read_symlink(entry.path(), ignored).string();
    if (link.find(" (deleted)") == std::string::npos) track(link);
  }
  return warning;
}

StorageStats StorageCheckpoint::write(image::GenerationWriter& writer) const {
  StorageStats stats;
  std::set<std::string> files = tracked_;
  for (const auto& folder : include_) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_regular_file(error) && saved(it->path().string())) files.insert(normal(it->path().string()));
    }
  }
  for (const auto& folder : include_) {
    struct stat info {};
    if (::stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    image::FileRecord record;
    record.path = folder;
    record.kind = static_cast<std::uint32_t>(image::FileEntryKind::kDirectory);
    record.mode = info.st_mode & 07777;
    writer.begin_file(record);
    writer.end_file();
  }
  for (const auto& path : files) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
      image::FileRecord record;
      record.path = path;
      record.kind = static_cast<std::uint32_t>(image::FileEntryKind::kDeleted);
      writer.begin_file(record);
      writer.end_file();
      ++stats.deleted;
      continue;
    }
    if (!S_ISREG(info.st_mode)) continue;
    stats.bytes += save_file(writer, path, info);
    ++stats.files;
  }
  return stats;
}

RollbackStats roll_back_files(const image::ResolvedChain& chain) {
  RollbackStats stats;
  std::set<std::string> present;
  std::vector<std::string> directories;
  for (const auto& file : chain.files) {
    if (static_cast<image::FileEntryKind>(file.record.kind) == image::FileEntryKind::kDirectory) {
      directories.push_back(file.record.path);
      continue;
    }
    write_file_content(chain, file);
    present.insert(file.record.path);
    ++stats.files;
    stats.bytes += file.record.size;
  }
  // Files recorded as deleted at the newest checkpoint (resolve_chain omits
  // them): read the newest generation's table.
  for (const auto& record : chain.readers.back()->files()) {
    if (static_cast<image::FileEntryKind>(record.kind) != image::FileEntryKind::kDeleted) continue;
    std::error_code ignored;
    if (fs::remove(record.path, ignored)) ++stats.removed;
  }
  // Included folders: what was created after the checkpoint goes.
  for (const auto& folder : directories) {
    std::error_code error;
    std::vector<fs::path> extra;
    for (auto it = fs::recursive_directory_iterator(folder, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (!it->is_directory(error) && present.count(normal(it->path().string())) == 0) extra.push_back(it->path());
    }
    for (const auto& path : extra) {
      std::error_code ignored;
      if (fs::remove(path, ignored)) ++stats.removed;
    }
  }
  return stats;
}

}  // namespace ckpt::engine
