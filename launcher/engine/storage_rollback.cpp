// Restart side of the storage checkpoint: files rolled back to the chain's
// content before any process runs; files-seen for on_external_change.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "storage_checkpoint.hpp"
#include "storage_files.hpp"

namespace ckpt::engine {
namespace fs = std::filesystem;
namespace {

void write_file_content(const image::ResolvedChain& chain, const image::ResolvedFile& file) {
  const std::string& path = file.record.path;
  std::error_code ignored;
  fs::create_directories(fs::path(path).parent_path(), ignored);
  if (fs::is_symlink(path, ignored) ||
      (fs::exists(path, ignored) && !fs::is_regular_file(path, ignored))) {
    fs::remove(path, ignored);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot roll back " + path + ": " + std::strerror(errno));
  // Empty, then the saved size (zeros), then the saved bytes piece by
  // piece: a large file never has to fit in memory.
  bool ok = ::ftruncate(fd, 0) == 0 && ::ftruncate(fd, static_cast<off_t>(file.record.size)) == 0;
  for (const auto& segment : file.segments) {
    if (!ok) break;
    constexpr std::uint64_t kPiece = 1 << 20;
    for (std::uint64_t done = 0; ok && done < segment.length;) {
      const std::uint64_t length = std::min(kPiece, segment.length - done);
      const auto bytes =
          chain.readers.at(segment.link)->read_storage_bytes(segment.data_offset + done, length);
      std::size_t written = 0;
      while (ok && written < bytes.size()) {
        const ssize_t wrote = ::pwrite(fd, bytes.data() + written, bytes.size() - written,
                                       static_cast<off_t>(segment.file_offset + done + written));
        ok = wrote > 0;
        if (ok) written += static_cast<std::size_t>(wrote);
      }
      done += length;
    }
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

std::string files_seen_path(const std::string& image_path) {
  return image_path + ".d/files-seen";
}

// "size mtime_ns ino path" of a file now ("" if it does not exist).
std::string seen_line(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return "absent " + path;
  return std::to_string(info.st_size) + " " + std::to_string(nanoseconds(info.st_mtim)) + " " +
         std::to_string(info.st_ino) + " " + path;
}

// The files changed since the group ended, from files-seen (empty when it
// is missing or belongs to another generation).
std::vector<std::string> changed_since_seen(const image::ResolvedChain& chain,
                                            const std::string& image_path) {
  std::ifstream seen(files_seen_path(image_path));
  std::string line;
  if (!std::getline(seen, line) || line != "generation " + std::to_string(chain.links.back().seq))
    return {};
  std::set<std::string> in_chain;
  for (const auto& file : chain.files) in_chain.insert(file.record.path);
  std::vector<std::string> changed;
  while (std::getline(seen, line)) {
    // the path follows "absent " or the third space
    std::size_t at = 7;
    if (line.rfind("absent ", 0) != 0) {
      at = 0;
      for (int spaces = 0; spaces < 3 && at != std::string::npos; ++spaces) {
        at = line.find(' ', at);
        if (at != std::string::npos) ++at;
      }
    }
    if (at == std::string::npos || at >= line.size()) continue;
    const std::string path = line.substr(at);
    if (in_chain.count(path) != 0 && seen_line(path) != line) changed.push_back(path);
  }
  return changed;
}

}  // namespace

void StorageCheckpoint::record_files_seen(const std::string& image_path,
                                          std::uint64_t generation) const {
  const std::string path = files_seen_path(image_path);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return;
    out << "generation " << generation << "\n";
    for (const auto& [file, state] : committed_states_) out << seen_line(file) << "\n";
    if (!out.flush()) return;
  }
  std::error_code ignored;
  fs::rename(temporary, path, ignored);
}

RollbackStats roll_back_files(const image::ResolvedChain& chain, const std::string& image_path,
                              ExternalChange action) {
  RollbackStats stats;
  stats.changed_outside = changed_since_seen(chain, image_path);
  if (action == ExternalChange::kRefuse && !stats.changed_outside.empty()) {
    throw std::runtime_error(
        stats.changed_outside.front() +
        " was changed outside the group after its checkpoint (on_external_change = "
        "\"refuse\"; nothing was rolled back)");
  }
  const std::set<std::string> keep =
      action == ExternalChange::kKeep
          ? std::set<std::string>(stats.changed_outside.begin(), stats.changed_outside.end())
          : std::set<std::string>();
  std::error_code no_error;
  fs::remove(files_seen_path(image_path),
             no_error);  // it describes the run that ended, not the next
  std::set<std::string> present;
  std::vector<std::string> directories;
  for (const auto& file : chain.files) {
    if (static_cast<image::FileEntryKind>(file.record.kind) == image::FileEntryKind::kDirectory) {
      directories.push_back(file.record.path);
      continue;
    }
    present.insert(file.record.path);
    if (keep.count(file.record.path) != 0) continue;
    write_file_content(chain, file);
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
      if (!it->is_directory(error) && present.count(normal(it->path().string())) == 0)
        extra.push_back(it->path());
    }
    for (const auto& path : extra) {
      std::error_code ignored;
      if (fs::remove(path, ignored)) ++stats.removed;
    }
  }
  return stats;
}

}  // namespace ckpt::engine
