#include "fs_util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.hpp"

namespace ckpt::image {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what) {
  throw ImageError(path + ": " + what + ": " + std::strerror(errno));
}

void fsync_fd_of(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open for fsync");
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (status != 0) fail(path, "fsync failed");
}

}  // namespace

std::string parent_folder(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void fsync_path(const std::string& path) { fsync_fd_of(path, O_RDONLY); }

void fsync_parent_folder(const std::string& path) {
  fsync_fd_of(parent_folder(path), O_RDONLY | O_DIRECTORY);
}

void durable_rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename into place");
  fsync_parent_folder(to);
}

std::uint64_t file_size(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) fail(path, "cannot stat");
  return static_cast<std::uint64_t>(info.st_size);
}

bool path_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

void ensure_private_folder(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) fail(path, "cannot create folder");
}

FileLock::FileLock(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(path, "cannot open lock file");
  if (::flock(fd_, LOCK_EX) != 0) {
    ::close(fd_);
    fail(path, "cannot lock");
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace ckpt::image
