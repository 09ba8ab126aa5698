// File operations that may change a file register it in the in-flight
// file-operation table (CkptAgentState.touched) before they start, under
// the wrapper guard: a checkpoint never falls between the registration and
// the start of the operation, so every file the group may have changed
// since the last checkpoint is in the table when the coordinator reads it
// (group stopped) and puts the file into the storage checkpoint. The
// operation itself runs outside the guard: opening a FIFO, for example,
// may wait for a process that is parked for the checkpoint.
// Covered: open/openat/creat (write access, O_CREAT, O_TRUNC), fopen/
// fopen64/freopen/fdopen (modes w, a, +), truncate, rename/renameat/renameat2
// (both names), unlink/unlinkat/remove, mkdir/mkdirat, link/symlink
// (the new name). Writes through descriptors opened before the program
// started (inherited) are found by the coordinator from /proc.
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.hpp"
#include "file_spans.hpp"
#include "next_symbol.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {
namespace {

unsigned long long path_hash(const char* path) {
  unsigned long long hash = 1469598103934665603ull;
  for (; *path != '\0'; ++path) hash = (hash ^ static_cast<unsigned char>(*path)) * 1099511628211ull;
  return hash;
}

// `path` relative to `directory_fd` as an absolute path (not normalised).
bool absolute_path(int directory_fd, const char* path, char* out, unsigned long capacity) {
  if (path == nullptr) return false;
  if (path[0] == '/') {
    copy_string(out, path, capacity);
    return true;
  }
  long length = 0;
  if (directory_fd == AT_FDCWD) {
    length = sys(SYS_getcwd, out, capacity);
    if (length <= 0) return false;
    length = static_cast<long>(string_length(out));
  } else {
    char link[32] = "/proc/self/fd/";
    format_decimal(link + 14, directory_fd);
    length = sys(SYS_readlinkat, AT_FDCWD, link, out, capacity - 1);
    if (length <= 0) return false;
  }
  if (static_cast<unsigned long>(length) + 2 + string_length(path) > capacity) return false;
  out[length++] = '/';
  copy_string(out + length, path, capacity - static_cast<unsigned long>(length));
  return true;
}

// Registers a file the operation about to start may change.
void register_file(int directory_fd, const char* path) {
  if (g_state.control_fd < 0) return;
  char absolute[CKPT_PATH_BYTES];
  if (!absolute_path(directory_fd, path, absolute, sizeof absolute)) return;
  const unsigned long long hash = path_hash(absolute);
  const unsigned count = __atomic_load_n(&g_state.touched_count, __ATOMIC_ACQUIRE);
  for (unsigned i = 0; i < count && i < CKPT_MAX_TOUCHED; ++i) {
    if (g_state.touched_hash[i] == hash) return;
  }
  const unsigned slot = __atomic_fetch_add(&g_state.touched_count, 1u, __ATOMIC_ACQ_REL);
  if (slot >= CKPT_MAX_TOUCHED) {
    g_state.touched_overflow = 1;
    g_state.touched_count = CKPT_MAX_TOUCHED;
    return;
  }
  copy_string(g_state.touched[slot], absolute, CKPT_PATH_BYTES);
  g_state.touched_hash[slot] = hash;
  // The table dies with the process: the coordinator hears of it at once.
  send_touched_report(absolute);
}

bool may_change(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0;
}

bool mode_may_change(const char* mode) {
  for (; mode != nullptr && *mode != '\0'; ++mode) {
    if (*mode == 'w' || *mode == 'a' || *mode == '+') return true;
  }
  return false;
}

// The registration window: guard held while registering, released before
// the operation starts.
void register_before(int directory_fd, const char* path) {
  WrapperGuard guard;
  register_file(directory_fd, path);
}

// After an open that may write: the descriptor's span starts.
void opened(int fd, int flags) {
  if (fd < 0) return;
  WrapperGuard guard;
  span_opened(fd, flags, false);
}

// A stdio stream over `fd` was opened with `mode` (stdio opens with libc's
// internal open, which no wrapper sees). `fresh`: a new descriptor (fopen,
// freopen: O_TRUNC for "w"); else (fdopen) a span the descriptor already
// has is kept. A read-write stream moves the offset by itself (read-ahead,
// then a write goes back): unsure while open.
FILE* stream_opened(FILE* stream, const char* mode, bool fresh) {
  if (stream == nullptr || !mode_may_change(mode)) return stream;
  WrapperGuard guard;
  const int fd = fileno(stream);
  const bool read_write = __builtin_strchr(mode, '+') != nullptr;
  if (!fresh && span_exists(fd)) {
    if (read_write) span_mark_sticky(fd);
    return stream;
  }
  const int flags = O_WRONLY | (mode[0] == 'a' ? O_APPEND : 0) | (fresh && mode[0] == 'w' ? O_TRUNC : 0);
  span_opened(fd, flags, read_write);
  return stream;
}

int mode_argument(int flags, va_list arguments) {
  const bool needs_mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return needs_mode ? va_arg(arguments, int) : 0;
}

using OpenFunction = int (*)(const char*, int, ...);
using OpenatFunction = int (*)(int, const char*, int, ...);
using CreatFunction = int (*)(const char*, mode_t);
using FopenFunction = FILE* (*)(const char*, const char*);
using FreopenFunction = FILE* (*)(const char*, const char*, FILE*);
using FdopenFunction = FILE* (*)(int, const char*);
using PathFunction = int (*)(const char*);
using TwoPathFunction = int (*)(const char*, const char*);
using RenameatFunction = int (*)(int, const char*, int, const char*);
using Renameat2Function = int (*)(int, const char*, int, const char*, unsigned);
using UnlinkatFunction = int (*)(int, const char*, int);
using TruncateFunction = int (*)(const char*, off_t);
using MkdirFunction = int (*)(const char*, mode_t);
using MkdiratFunction = int (*)(int, const char*, mode_t);

OpenFunction real_open, real_open64;
OpenatFunction real_openat, real_openat64;
CreatFunction real_creat, real_creat64;
FopenFunction real_fopen, real_fopen64;
FreopenFunction real_freopen;
FdopenFunction real_fdopen;
PathFunction real_unlink, real_remove;
TwoPathFunction real_rename, real_link, real_symlink;
RenameatFunction real_renameat;
Renameat2Function real_renameat2;
UnlinkatFunction real_unlinkat;
TruncateFunction real_truncate;
MkdirFunction real_mkdir;
MkdiratFunction real_mkdirat;

}  // namespace
}  // namespace ckpt::agent

using namespace ckpt::agent;

#define CKPT_EXPORT extern "C" __attribute__((visibility("default")))

// open/open64 and openat/openat64: register, then open with the mode.
#define CKPT_OPEN_WRAPPER(name, cache)                      \
  CKPT_EXPORT int name(const char* path, int flags, ...) {  \
    va_list arguments;                                      \
    va_start(arguments, flags);                             \
    const int mode = mode_argument(flags, arguments);       \
    va_end(arguments);                                      \
    if (!may_change(flags)) return next_symbol(cache, #name)(path, flags, mode); \
    register_before(AT_FDCWD, path);                        \
    const int fd = next_symbol(cache, #name)(path, flags, mode); \
    opened(fd, flags);                                      \
    return fd;                                              \
  }
#define CKPT_OPENAT_WRAPPER(name, cache)                                       \
  CKPT_EXPORT int name(int directory_fd, const char* path, int flags, ...) {   \
    va_list arguments;                                                         \
    va_start(arguments, flags);                                                \
    const int mode = mode_argument(flags, arguments);                          \
    va_end(arguments);                                                         \
    if (!may_change(flags)) return next_symbol(cache, #name)(directory_fd, path, flags, mode); \
    register_before(directory_fd, path);                                       \
    const int fd = next_symbol(cache, #name)(directory_fd, path, flags, mode); \
    opened(fd, flags);                                                         \
    return fd;                                                                 \
  }

CKPT_OPEN_WRAPPER(open, real_open)
CKPT_OPEN_WRAPPER(open64, real_open64)
CKPT_OPENAT_WRAPPER(openat, real_openat)
CKPT_OPENAT_WRAPPER(openat64, real_openat64)

CKPT_EXPORT int creat(const char* path, mode_t mode) {
  register_before(AT_FDCWD, path);
  const int fd = next_symbol(real_creat, "creat")(path, mode);
  opened(fd, O_WRONLY | O_CREAT | O_TRUNC);
  return fd;
}

CKPT_EXPORT int creat64(const char* path, mode_t mode) {
  register_before(AT_FDCWD, path);
  const int fd = next_symbol(real_creat64, "creat64")(path, mode);
  opened(fd, O_WRONLY | O_CREAT | O_TRUNC);
  return fd;
}

CKPT_EXPORT FILE* fopen(const char* path, const char* mode) {
  if (mode_may_change(mode)) register_before(AT_FDCWD, path);
  return stream_opened(next_symbol(real_fopen, "fopen")(path, mode), mode, true);
}

CKPT_EXPORT FILE* fopen64(const char* path, const char* mode) {
  if (mode_may_change(mode)) register_before(AT_FDCWD, path);
  return stream_opened(next_symbol(real_fopen64, "fopen64")(path, mode), mode, true);
}

CKPT_EXPORT FILE* freopen(const char* path, const char* mode, FILE* stream) {
  {
    WrapperGuard guard;
    if (stream != nullptr) span_closing(fileno(stream), true);  // its old file is closed
  }
  if (path != nullptr && mode_may_change(mode)) register_before(AT_FDCWD, path);
  return stream_opened(next_symbol(real_freopen, "freopen")(path, mode, stream), mode, true);
}

CKPT_EXPORT FILE* fdopen(int fd, const char* mode) {
  return stream_opened(next_symbol(real_fdopen, "fdopen")(fd, mode), mode, false);
}

CKPT_EXPORT int truncate(const char* path, off_t length) {
  register_before(AT_FDCWD, path);
  const int status = next_symbol(real_truncate, "truncate")(path, length);
  if (status == 0) {
    WrapperGuard guard;
    struct stat info {};
    if (stat(path, &info) == 0) send_file_report(CKPT_REPORT_TRUNCATED, info.st_dev, info.st_ino, static_cast<uint64_t>(length), 0);
  }
  return status;
}

CKPT_EXPORT int rename(const char* from, const char* to) {
  {
    WrapperGuard guard;
    register_file(AT_FDCWD, from);
    register_file(AT_FDCWD, to);
  }
  return next_symbol(real_rename, "rename")(from, to);
}

CKPT_EXPORT int renameat(int from_fd, const char* from, int to_fd, const char* to) {
  {
    WrapperGuard guard;
    register_file(from_fd, from);
    register_file(to_fd, to);
  }
  return next_symbol(real_renameat, "renameat")(from_fd, from, to_fd, to);
}

CKPT_EXPORT int renameat2(int from_fd, const char* from, int to_fd, const char* to, unsigned flags) {
  {
    WrapperGuard guard;
    register_file(from_fd, from);
    register_file(to_fd, to);
  }
  return next_symbol(real_renameat2, "renameat2")(from_fd, from, to_fd, to, flags);
}

CKPT_EXPORT int unlink(const char* path) {
  register_before(AT_FDCWD, path);
  return next_symbol(real_unlink, "unlink")(path);
}

CKPT_EXPORT int remove(const char* path) {
  register_before(AT_FDCWD, path);
  return next_symbol(real_remove, "remove")(path);
}

CKPT_EXPORT int unlinkat(int directory_fd, const char* path, int flags) {
  register_before(directory_fd, path);
  return next_symbol(real_unlinkat, "unlinkat")(directory_fd, path, flags);
}

CKPT_EXPORT int link(const char* from, const char* to) {
  register_before(AT_FDCWD, to);
  return next_symbol(real_link, "link")(from, to);
}

CKPT_EXPORT int symlink(const char* target, const char* path) {
  register_before(AT_FDCWD, path);
  return next_symbol(real_symlink, "symlink")(target, path);
}

CKPT_EXPORT int mkdir(const char* path, mode_t mode) {
  register_before(AT_FDCWD, path);
  return next_symbol(real_mkdir, "mkdir")(path, mode);
}

CKPT_EXPORT int mkdirat(int directory_fd, const char* path, mode_t mode) {
  register_before(directory_fd, path);
  return next_symbol(real_mkdirat, "mkdirat")(directory_fd, path, mode);
}
