#include "control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ckpt::engine {

std::string control_socket_path(const std::string& image_path) {
  const std::string absolute = std::filesystem::weakly_canonical(std::filesystem::absolute(image_path));
  char name[64];
  std::snprintf(name, sizeof name, "%016llx.sock",
                static_cast<unsigned long long>(XXH3_64bits(absolute.data(), absolute.size())));
  return "/tmp/ckpt-" + std::to_string(::getuid()) + "/" + name;
}

namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

void ensure_private_folder(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + folder + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::lstat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::getuid() ||
      (info.st_mode & 077) != 0) {
    throw std::runtime_error(folder + " is not a private folder owned by you");
  }
}

}  // namespace

int connect_control_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_un address = address_of(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int listen_control_socket(const std::string& path) {
  ensure_private_folder(std::filesystem::path(path).parent_path());
  const int live = connect_control_socket(path);
  if (live >= 0) {
    ::close(live);
    throw std::runtime_error("another ckpt is already running on this image (" + path + ")");
  }
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un address = address_of(path);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 16) != 0) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(saved));
  }
  return fd;
}

std::string agent_socket_path(const std::string& image_path) {
  std::string path = control_socket_path(image_path);
  return path.substr(0, path.size() - 5) + ".agents";
}

int listen_agent_socket(const std::string& path) {
  ensure_private_folder(std::filesystem::path(path).parent_path());
  ::unlink(path.c_str());  // the control socket next to it proved we are alone
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const sockaddr_un address = address_of(path);
  const int enable = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &enable, sizeof enable) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 128) != 0) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(saved));
  }
  return fd;
}

bool peer_is_owner(int fd) {
  ucred credentials{};
  socklen_t size = sizeof credentials;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 &&
         credentials.uid == ::getuid();
}

}  // namespace ckpt::engine
