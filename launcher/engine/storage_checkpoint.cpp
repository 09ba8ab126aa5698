#include "storage_checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "protocol.h"
#include "storage_files.hpp"

namespace ckpt::engine {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kPiece = 1 << 20;

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

// The regular files the coordinator itself has open.
std::set<WrittenSince::Key> coordinator_files() {
  std::set<WrittenSince::Key> files;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd", ignored)) {
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      files.insert({static_cast<std::uint64_t>(info.st_dev), info.st_ino});
    }
  }
  return files;
}

FileState state_of(const struct stat& info) {
  return {static_cast<std::uint64_t>(info.st_dev),
          info.st_ino,
          static_cast<std::uint64_t>(info.st_size),
          nanoseconds(info.st_mtim),
          nanoseconds(info.st_ctim),
          info.st_mode & 07777};
}

void note_smallest(std::map<WrittenSince::Key, std::uint64_t>& sizes, const WrittenSince::Key& key,
                   std::uint64_t size) {
  auto [it, added] = sizes.emplace(key, size);
  if (!added) it->second = std::min(it->second, size);
}

// Saves a file into the generation, streamed in 1 MiB pieces: kWhole (the
// whole file; all-zero pieces are left out, holes stay holes) or kRanges
// (the byte ranges [first, second), ascending and inside its size, over
// the previous generation's content; zeros are kept: they overwrite).
std::uint64_t save_file(image::GenerationWriter& writer, const std::string& path,
                        const struct stat& info, image::FileEntryKind kind,
                        const ByteRanges& ranges) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    throw std::runtime_error("cannot save " + path +
                             " in the storage checkpoint: " + std::strerror(errno));
  image::FileRecord record;
  record.path = path;
  record.kind = static_cast<std::uint32_t>(kind);
  record.mode = info.st_mode & 07777;
  record.size = static_cast<std::uint64_t>(info.st_size);
  record.mtime_ns = nanoseconds(info.st_mtim);
  const bool whole = kind == image::FileEntryKind::kWhole;
  writer.begin_file(record);
  std::vector<std::byte> piece(kPiece);
  std::uint64_t saved = 0;
  try {
    for (const auto& [first, end] : whole ? ByteRanges{{0, record.size}} : ranges) {
      for (std::uint64_t at = first; at < end;) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, end - at));
        const ssize_t got = ::pread(fd, piece.data(), want, static_cast<off_t>(at));
        if (got < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
        if (got == 0) break;  // shorter than it was a moment ago (cannot happen while stopped)
        const std::span<const std::byte> bytes(piece.data(), static_cast<std::size_t>(got));
        const bool zero = whole && std::all_of(bytes.begin(), bytes.end(),
                                               [](std::byte b) { return b == std::byte{0}; });
        if (!zero) {
          writer.add_file_range(at, bytes);
          saved += bytes.size();
        }
        at += bytes.size();
      }
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

// Sorted, merged, clipped to `size`.
ByteRanges normalised(ByteRanges ranges, std::uint64_t size) {
  std::sort(ranges.begin(), ranges.end());
  ByteRanges result;
  for (auto [first, end] : ranges) {
    end = std::min(end, size);
    if (first >= end) continue;
    if (!result.empty() && first <= result.back().second) {
      result.back().second = std::max(result.back().second, end);
    } else {
      result.emplace_back(first, end);
    }
  }
  return result;
}

}  // namespace

// A descriptor of a stopped process, open for writing on a regular file.
struct WritableFile {
  int fd = -1;
  int flags = 0;
  std::uint64_t position = 0;
  struct stat target {};
  std::string link;  // what /proc/PID/fd/N points to
};

namespace {

// Every descriptor of `pid` open for writing on a regular file (one pass
// over /proc/PID/fd and fdinfo, shared by tracking and span collection).
std::vector<WritableFile> writable_files(pid_t pid) {
  std::vector<WritableFile> files;
  const std::string folder = "/proc/" + std::to_string(pid);
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(folder + "/fd", ignored)) {
    const std::string name = entry.path().filename().string();
    WritableFile file;
    file.fd = std::atoi(name.c_str());
    std::ifstream info(folder + "/fdinfo/" + name);
    std::string key;
    while (info >> key) {
      if (key == "pos:") info >> std::dec >> file.position;
      if (key == "flags:") info >> std::oct >> file.flags;
    }
    if ((file.flags & O_ACCMODE) == O_RDONLY || ::stat(entry.path().c_str(), &file.target) != 0 ||
        !S_ISREG(file.target.st_mode)) {
      continue;
    }
    file.link = fs::read_symlink(entry.path(), ignored).string();
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace

StorageCheckpoint::StorageCheckpoint(std::vector<std::string> include,
                                     std::vector<std::string> exclude,
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
  if (path == image_path_ || under(path, image_path_ + ".d") ||
      path.rfind(image_path_ + ".", 0) == 0)
    return false;
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
    if (static_cast<image::FileEntryKind>(file.record.kind) == image::FileEntryKind::kDirectory)
      continue;
    track(file.record.path);
    struct stat info {};
    if (::lstat(file.record.path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      committed_states_[file.record.path] = state_of(info);
    }
  }
}

void WrittenSince::merge(WrittenSince&& other) {
  for (auto& [key, list] : other.ranges) {
    auto& mine = ranges[key];
    mine.insert(mine.end(), list.begin(), list.end());
  }
  for (const auto& [key, size] : other.smallest_size) note_smallest(smallest_size, key, size);
  unsure.merge(other.unsure);
  lost_writer = lost_writer || other.lost_writer;
}

void StorageCheckpoint::file_report(pid_t sender, const std::vector<std::byte>& message) {
  CkptFileReport report{};
  std::memcpy(&report, message.data(), std::min(message.size(), sizeof report));
  const WrittenSince::Key key{report.dev, report.ino};
  switch (report.kind) {
    case CKPT_REPORT_TOUCHED:
      report.path[sizeof report.path - 1] = '\0';
      track(report.path);
      break;
    case CKPT_REPORT_RANGE:
      current_.ranges[key].emplace_back(report.start, report.end);
      break;
    case CKPT_REPORT_TRUNCATED:
      note_smallest(current_.smallest_size, key, report.start);
      break;
    case CKPT_REPORT_UNSURE:
      current_.unsure.insert(key);
      break;
    case CKPT_REPORT_EXITED:
      exited_.insert(sender);
      break;
    default:
      break;
  }
}

void StorageCheckpoint::process_ended(pid_t outer_pid) {
  if (exited_.erase(outer_pid) == 0) current_.lost_writer = true;
}

void StorageCheckpoint::commit() {
  committed_states_ = std::move(pending_states_);
  pending_states_.clear();
  pending_ = WrittenSince{};
}

void StorageCheckpoint::discard() {
  current_.merge(std::move(pending_));
  pending_ = WrittenSince{};
  pending_states_.clear();
}

// The descriptor spans of a stopped process (file_spans.cpp): each open
// writable file's span becomes a range, and every span is re-armed at
// the current offset for the next interval.
void StorageCheckpoint::collect_spans(pid_t outer_pid, std::uint64_t agent_state,
                                      const std::vector<WritableFile>& writable) {
  std::vector<CkptFileSpan> spans(CKPT_SPAN_FDS);
  const std::uint64_t spans_at = agent_state + offsetof(CkptAgentState, spans);
  if (agent_state == 0 ||
      !read_remote(outer_pid, spans_at, spans.data(), spans.size() * sizeof(CkptFileSpan)))
    return;
  std::vector<bool> seen(CKPT_SPAN_FDS, false);
  for (const WritableFile& open_file : writable) {
    const int fd = open_file.fd;
    const struct stat& target = open_file.target;
    const int flags = open_file.flags;
    const std::uint64_t position = open_file.position;
    const WrittenSince::Key file{static_cast<std::uint64_t>(target.st_dev), target.st_ino};
    const bool append = (flags & O_APPEND) != 0;
    const std::uint64_t end = append ? static_cast<std::uint64_t>(target.st_size) : position;
    if (fd < 0 || fd >= CKPT_SPAN_FDS) {
      current_.unsure.insert(file);
      continue;
    }
    seen[static_cast<std::size_t>(fd)] = true;
    CkptFileSpan& span = spans[static_cast<std::size_t>(fd)];
    const bool same_file = span.dev == file.dev && span.ino == file.ino;
    if (!same_file && (span.dev != 0 || span.ino != 0))
      current_.unsure.insert({span.dev, span.ino});
    if (!same_file || span.start_plus_one == 0 ||
        (span.flags & (CKPT_SPAN_UNSURE | CKPT_SPAN_STICKY)) != 0 ||
        (!append && end + 1 < span.start_plus_one)) {
      current_.unsure.insert(file);
    } else {
      if (end + 1 > span.start_plus_one)
        current_.ranges[file].emplace_back(span.start_plus_one - 1, end);
      if (span.pwrite_high > span.pwrite_low)
        current_.ranges[file].emplace_back(span.pwrite_low, span.pwrite_high);
    }
    const std::uint32_t sticky = same_file ? (span.flags & CKPT_SPAN_STICKY) : 0;
    span = CkptFileSpan{};
    span.dev = file.dev;
    span.ino = file.ino;
    span.start_plus_one = end + 1;
    span.flags = (append ? CKPT_SPAN_APPEND : 0) | sticky;
  }
  // Spans of descriptors closed behind the agent's back (libc's own close).
  for (std::size_t fd = 0; fd < spans.size(); ++fd) {
    if (seen[fd] || (spans[fd].dev == 0 && spans[fd].ino == 0)) continue;
    current_.unsure.insert({spans[fd].dev, spans[fd].ino});
    spans[fd] = CkptFileSpan{};
  }
  write_remote(outer_pid, spans_at, spans.data(), spans.size() * sizeof(CkptFileSpan));
  // Files mapped shared and writable: written without a system call.
  std::ifstream maps("/proc/" + std::to_string(outer_pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    char permissions[8] = {};
    unsigned major_number = 0, minor_number = 0;
    unsigned long long inode = 0;
    if (std::sscanf(line.c_str(), "%*x-%*x %7s %*x %x:%x %llu", permissions, &major_number,
                    &minor_number, &inode) != 4) {
      continue;
    }
    if (permissions[1] == 'w' && permissions[3] == 's' && inode != 0) {
      current_.unsure.insert(
          {static_cast<std::uint64_t>(makedev(major_number, minor_number)), inode});
    }
  }
}

std::string StorageCheckpoint::collect(pid_t outer_pid, std::uint64_t agent_state) {
  std::string warning;
  const std::set<WrittenSince::Key> own_files = coordinator_files();
  const std::uint64_t count_at = agent_state + offsetof(CkptAgentState, touched_count);
  std::uint32_t counts[2] = {0, 0};  // touched_count, touched_overflow
  if (agent_state != 0 && read_remote(outer_pid, count_at, counts, sizeof counts)) {
    const std::uint32_t count = std::min<std::uint32_t>(counts[0], CKPT_MAX_TOUCHED);
    std::vector<char> paths(static_cast<std::size_t>(count) * CKPT_PATH_BYTES);
    if (count > 0 && read_remote(outer_pid, agent_state + offsetof(CkptAgentState, touched),
                                 paths.data(), paths.size())) {
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
  const std::vector<WritableFile> writable = writable_files(outer_pid);
  for (const WritableFile& file : writable) {
    // Files the coordinator holds open itself (its stdout/stderr log, a
    // test harness's log the group inherited) belong to whoever runs ckpt,
    // not to the checkpoint.
    if (own_files.count({static_cast<std::uint64_t>(file.target.st_dev), file.target.st_ino}) !=
        0) {
      continue;
    }
    if (file.link.find(" (deleted)") == std::string::npos) track(file.link);
  }
  collect_spans(outer_pid, agent_state, writable);
  return warning;
}

StorageStats StorageCheckpoint::write(image::GenerationWriter& writer, bool incremental) {
  pending_ = std::move(current_);
  current_ = WrittenSince{};
  pending_states_.clear();
  StorageStats stats;
  std::set<std::string> files = tracked_;
  for (const auto& folder : include_) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(
             folder, fs::directory_options::skip_permission_denied, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_regular_file(error) && saved(it->path().string()))
        files.insert(normal(it->path().string()));
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
    const FileState now = state_of(info);
    pending_states_[path] = now;
    const auto before = committed_states_.find(path);
    const bool same_inode = before != committed_states_.end() && before->second.dev == now.dev &&
                            before->second.ino == now.ino;
    if (incremental && same_inode) {
      const WrittenSince::Key key{now.dev, now.ino};
      ByteRanges ranges;
      if (const auto found = pending_.ranges.find(key); found != pending_.ranges.end())
        ranges = found->second;
      // After a truncation, everything from the smallest size on is read
      // again (written since, or zeros).
      if (const auto found = pending_.smallest_size.find(key);
          found != pending_.smallest_size.end()) {
        ranges.emplace_back(found->second, now.size);
      }
      const bool truncated = pending_.smallest_size.count(key) != 0;
      ranges = normalised(std::move(ranges), now.size);
      const bool unsure = pending_.unsure.count(key) != 0;
      const bool stat_same = before->second == now;
      if (!unsure && ranges.empty() && !truncated && stat_same) continue;  // unchanged
      // Ranges are trusted when every writer was followed; a change with
      // no range known came from somewhere else: saved whole.
      if (!unsure && !pending_.lost_writer && (!ranges.empty() || truncated)) {
        stats.bytes += save_file(writer, path, info, image::FileEntryKind::kRanges, ranges);
        ++stats.files;
        ++stats.ranged;
        continue;
      }
    }
    stats.bytes += save_file(writer, path, info, image::FileEntryKind::kWhole, {});
    ++stats.files;
  }
  return stats;
}

}  // namespace ckpt::engine
