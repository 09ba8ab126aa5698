#include "file_spans.hpp"
#include "dirty_mprotect.hpp"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.hpp"
#include "next_symbol.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {
namespace {

// Reports per descriptor between two checkpoints before it gives up on
// exact ranges (random positional writes): the file is then "unsure".
constexpr uint32_t kReportBudget = 256;

bool active() {
  return g_state.control_fd >= 0;
}

CkptFileSpan* span_of(int fd) {
  if (fd < 0 || fd >= CKPT_SPAN_FDS) return nullptr;
  CkptFileSpan* span = &g_state.spans[fd];
  return span->dev == 0 && span->ino == 0 ? nullptr : span;
}

bool identify(int fd, struct stat& info) {
  return sys(SYS_fstat, fd, &info) == 0 && S_ISREG(info.st_mode);
}

uint64_t current_offset(int fd) {
  const long at = sys(SYS_lseek, fd, 0, SEEK_CUR);
  return at < 0 ? 0 : static_cast<uint64_t>(at);
}

// The sequential writes of a span, from its start to `end` (if any).
void report_sequential(const CkptFileSpan& span, uint64_t end) {
  if (span.start_plus_one != 0 && end > span.start_plus_one - 1) {
    send_file_report(CKPT_REPORT_RANGE, span.dev, span.ino, span.start_plus_one - 1, end);
  }
}

void report_span(CkptFileSpan& span, uint64_t end) {
  report_sequential(span, end);
  if (span.pwrite_high > span.pwrite_low) {
    send_file_report(CKPT_REPORT_RANGE, span.dev, span.ino, span.pwrite_low, span.pwrite_high);
  }
  if (span.start_plus_one == 0 || (span.flags & (CKPT_SPAN_UNSURE | CKPT_SPAN_STICKY)) != 0) {
    send_file_report(CKPT_REPORT_UNSURE, span.dev, span.ino, 0, 0);
  }
}

// Where the sequential writes of `fd` end now.
uint64_t span_end(int fd, const CkptFileSpan& span) {
  if ((span.flags & CKPT_SPAN_APPEND) != 0) {
    struct stat info {};
    return sys(SYS_fstat, fd, &info) == 0 ? static_cast<uint64_t>(info.st_size) : CKPT_SPAN_TO_END;
  }
  return current_offset(fd);
}

// A positional write of `length` bytes at `offset` through `fd`.
void note_positional(int fd, uint64_t offset, uint64_t length) {
  CkptFileSpan* span = span_of(fd);
  if (span == nullptr || length == 0) return;
  if ((span->flags & CKPT_SPAN_UNSURE) != 0) return;
  const uint64_t end = offset + length;
  if (span->pwrite_high > span->pwrite_low && offset <= span->pwrite_high &&
      end >= span->pwrite_low) {
    if (offset < span->pwrite_low) span->pwrite_low = offset;
    if (end > span->pwrite_high) span->pwrite_high = end;
    return;
  }
  if (span->pwrite_high > span->pwrite_low) {
    if (++span->reports > kReportBudget) {
      span->flags |= CKPT_SPAN_UNSURE;
      return;
    }
    send_file_report(CKPT_REPORT_RANGE, span->dev, span->ino, span->pwrite_low, span->pwrite_high);
  }
  span->pwrite_low = offset;
  span->pwrite_high = end;
}

void note_unsure(int fd) {
  struct stat info {};
  if (identify(fd, info)) send_file_report(CKPT_REPORT_UNSURE, info.st_dev, info.st_ino, 0, 0);
}

}  // namespace

void send_file_report(uint32_t kind, uint64_t dev, uint64_t ino, uint64_t start, uint64_t end) {
  if (!active()) return;
  CkptFileReport report;
  report.header = {CKPT_MSG_FILE_REPORT, static_cast<uint32_t>(offsetof(CkptFileReport, path))};
  report.kind = kind;
  report.pad = 0;
  report.dev = dev;
  report.ino = ino;
  report.start = start;
  report.end = end;
  send_message(g_state.control_fd, &report, report.header.size);
}

void send_touched_report(const char* absolute_path) {
  if (!active()) return;
  CkptFileReport report;
  report.kind = CKPT_REPORT_TOUCHED;
  report.pad = 0;
  report.dev = report.ino = report.start = report.end = 0;
  copy_string(report.path, absolute_path, sizeof report.path);
  const auto size =
      static_cast<uint32_t>(offsetof(CkptFileReport, path) + string_length(report.path) + 1);
  report.header = {CKPT_MSG_FILE_REPORT, size};
  send_message(g_state.control_fd, &report, size);
}

void span_opened(int fd, int flags, bool sticky_unsure) {
  if (!active() || fd < 0 || fd >= CKPT_SPAN_FDS) return;
  CkptFileSpan& span = g_state.spans[fd];
  span = CkptFileSpan{};
  struct stat info {};
  if ((flags & O_ACCMODE) == O_RDONLY || !identify(fd, info)) return;
  span.dev = info.st_dev;
  span.ino = info.st_ino;
  if ((flags & O_APPEND) != 0) span.flags |= CKPT_SPAN_APPEND;
  if (sticky_unsure) span.flags |= CKPT_SPAN_STICKY;
  span.start_plus_one =
      ((flags & O_APPEND) != 0 ? static_cast<uint64_t>(info.st_size) : current_offset(fd)) + 1;
  if ((flags & O_TRUNC) != 0) send_file_report(CKPT_REPORT_TRUNCATED, span.dev, span.ino, 0, 0);
}

bool span_exists(int fd) {
  return span_of(fd) != nullptr;
}

void span_mark_sticky(int fd) {
  if (CkptFileSpan* span = span_of(fd)) span->flags |= CKPT_SPAN_STICKY;
}

void span_closing(int fd, bool to_end) {
  CkptFileSpan* span = span_of(fd);
  if (span == nullptr) return;
  report_span(*span, to_end ? CKPT_SPAN_TO_END : span_end(fd, *span));
  *span = CkptFileSpan{};
}

void span_duplicated(int source, int target) {
  if (target < 0 || target >= CKPT_SPAN_FDS) return;
  const CkptFileSpan* span = span_of(source);
  g_state.spans[target] = span == nullptr ? CkptFileSpan{} : *span;
  g_state.spans[target].pwrite_low = g_state.spans[target].pwrite_high = 0;
}

void spans_before_exec() {
  if (!active()) return;
  for (int fd = 0; fd < CKPT_SPAN_FDS; ++fd) span_closing(fd, false);
}

void spans_at_exit() {
  if (!active()) return;
  for (int fd = 0; fd < CKPT_SPAN_FDS; ++fd) span_closing(fd, true);
  send_file_report(CKPT_REPORT_EXITED, 0, 0, 0, 0);
}

namespace {

using LseekFunction = off_t (*)(int, off_t, int);
using PwriteFunction = ssize_t (*)(int, const void*, size_t, off_t);
using PwritevFunction = ssize_t (*)(int, const iovec*, int, off_t);
using Pwritev2Function = ssize_t (*)(int, const iovec*, int, off_t, int);
using FtruncateFunction = int (*)(int, off_t);
using FallocateFunction = int (*)(int, int, off_t, off_t);
using PosixFallocateFunction = int (*)(int, off_t, off_t);
using CopyFileRangeFunction = ssize_t (*)(int, loff_t*, int, loff_t*, size_t, unsigned);
using MmapFunction = void* (*)(void*, size_t, int, int, int, off_t);
using FcloseFunction = int (*)(FILE*);
using FseekFunction = int (*)(FILE*, long, int);
using FseekoFunction = int (*)(FILE*, off_t, int);
using FsetposFunction = int (*)(FILE*, const fpos_t*);
using Fsetpos64Function = int (*)(FILE*, const fpos64_t*);
using RewindFunction = void (*)(FILE*);
using DupFunction = int (*)(int);
using Dup2Function = int (*)(int, int);
using Dup3Function = int (*)(int, int, int);
using FcntlFunction = int (*)(int, int, ...);
using ExitFunction = void (*)(int);

LseekFunction real_lseek, real_lseek64;
PwriteFunction real_pwrite, real_pwrite64;
PwritevFunction real_pwritev, real_pwritev64;
Pwritev2Function real_pwritev2, real_pwritev64v2;
FtruncateFunction real_ftruncate, real_ftruncate64;
FallocateFunction real_fallocate, real_fallocate64;
PosixFallocateFunction real_posix_fallocate, real_posix_fallocate64;
CopyFileRangeFunction real_copy_file_range;
MmapFunction real_mmap, real_mmap64;
FcloseFunction real_fclose;
FseekFunction real_fseek;
FseekoFunction real_fseeko, real_fseeko64;
FsetposFunction real_fsetpos;
Fsetpos64Function real_fsetpos64;
RewindFunction real_rewind;
DupFunction real_dup;
Dup2Function real_dup2;
Dup3Function real_dup3;
FcntlFunction real_fcntl, real_fcntl64;
ExitFunction real__exit, real__Exit;

off_t seek(LseekFunction& cache, const char* name, int fd, off_t offset, int whence) {
  if (whence == SEEK_CUR && offset == 0)
    return next_symbol(cache, name)(fd, offset, whence);  // a query
  WrapperGuard guard;
  CkptFileSpan* span = span_of(fd);
  if (span == nullptr || (span->flags & CKPT_SPAN_APPEND) != 0)
    return next_symbol(cache, name)(fd, offset, whence);
  const uint64_t end = current_offset(fd);
  const off_t result = next_symbol(cache, name)(fd, offset, whence);
  if (result >= 0) {
    report_sequential(*span, end);
    span->start_plus_one = static_cast<uint64_t>(result) + 1;
  }
  return result;
}

// A stdio stream is repositioned: the span so far (with the bytes still in
// its buffer, which the seek writes first) is reported, a new one starts.
template <class Seek>
auto stream_seek(FILE* stream, Seek seek_now) {
  WrapperGuard guard;
  const int fd = stream == nullptr ? -1 : fileno(stream);
  CkptFileSpan* span = span_of(fd);
  if (span == nullptr || (span->flags & CKPT_SPAN_APPEND) != 0) return seek_now();
  const uint64_t end = current_offset(fd) + __fpending(stream);
  const auto result = seek_now();
  report_sequential(*span, end);
  span->start_plus_one = current_offset(fd) + 1;
  return result;
}

ssize_t after_positional(int fd, ssize_t written, off_t offset) {
  if (written > 0)
    note_positional(fd, static_cast<uint64_t>(offset), static_cast<uint64_t>(written));
  return written;
}

void truncated(int fd, int status, off_t length) {
  if (status != 0) return;
  struct stat info {};
  if (identify(fd, info))
    send_file_report(CKPT_REPORT_TRUNCATED, info.st_dev, info.st_ino, static_cast<uint64_t>(length),
                     0);
}

void allocated(int fd, int status, int mode, off_t offset, off_t length) {
  if (status != 0) return;
  // Collapsing or inserting moves the bytes that follow: not a range.
  if ((mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) != 0) return note_unsure(fd);
  CkptFileSpan* span = span_of(fd);
  if (span == nullptr) return note_unsure(fd);
  note_positional(fd, static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
}

void mapped(void* result, int protection, int flags, int fd) {
  if (result != MAP_FAILED && fd >= 0 && (protection & PROT_WRITE) != 0 &&
      (flags & MAP_SHARED) != 0)
    note_unsure(fd);
}

void closing_target(int old_fd, int new_fd) {
  if (old_fd != new_fd) span_closing(new_fd, false);
}

}  // namespace
}  // namespace ckpt::agent

using namespace ckpt::agent;

#define CKPT_EXPORT extern "C" __attribute__((visibility("default")))

CKPT_EXPORT off_t lseek(int fd, off_t offset, int whence) {
  return seek(real_lseek, "lseek", fd, offset, whence);
}
CKPT_EXPORT off_t lseek64(int fd, off_t offset, int whence) {
  return seek(real_lseek64, "lseek64", fd, offset, whence);
}

#define CKPT_PWRITE_WRAPPER(name, cache, Type, ...)                                          \
  CKPT_EXPORT ssize_t name(int fd, Type data, __VA_ARGS__) {                                 \
    WrapperGuard guard;                                                                      \
    return after_positional(fd, next_symbol(cache, #name)(fd, data, count, offset), offset); \
  }
CKPT_PWRITE_WRAPPER(pwrite, real_pwrite, const void*, size_t count, off_t offset)
CKPT_PWRITE_WRAPPER(pwrite64, real_pwrite64, const void*, size_t count, off_t offset)
CKPT_PWRITE_WRAPPER(pwritev, real_pwritev, const iovec*, int count, off_t offset)
CKPT_PWRITE_WRAPPER(pwritev64, real_pwritev64, const iovec*, int count, off_t offset)

CKPT_EXPORT ssize_t pwritev2(int fd, const iovec* data, int count, off_t offset, int flags) {
  WrapperGuard guard;
  const ssize_t written = next_symbol(real_pwritev2, "pwritev2")(fd, data, count, offset, flags);
  // offset -1: at the current offset, which it moves (a sequential write).
  return offset < 0 ? written : after_positional(fd, written, offset);
}

CKPT_EXPORT ssize_t pwritev64v2(int fd, const iovec* data, int count, off_t offset, int flags) {
  WrapperGuard guard;
  const ssize_t written =
      next_symbol(real_pwritev64v2, "pwritev64v2")(fd, data, count, offset, flags);
  return offset < 0 ? written : after_positional(fd, written, offset);
}

CKPT_EXPORT int ftruncate(int fd, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_ftruncate, "ftruncate")(fd, length);
  truncated(fd, status, length);
  return status;
}

CKPT_EXPORT int ftruncate64(int fd, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_ftruncate64, "ftruncate64")(fd, length);
  truncated(fd, status, length);
  return status;
}

CKPT_EXPORT int fallocate(int fd, int mode, off_t offset, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_fallocate, "fallocate")(fd, mode, offset, length);
  allocated(fd, status, mode, offset, length);
  return status;
}

CKPT_EXPORT int fallocate64(int fd, int mode, off_t offset, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_fallocate64, "fallocate64")(fd, mode, offset, length);
  allocated(fd, status, mode, offset, length);
  return status;
}

CKPT_EXPORT int posix_fallocate(int fd, off_t offset, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_posix_fallocate, "posix_fallocate")(fd, offset, length);
  allocated(fd, status, 0, offset, length);
  return status;
}

CKPT_EXPORT int posix_fallocate64(int fd, off_t offset, off_t length) {
  WrapperGuard guard;
  const int status = next_symbol(real_posix_fallocate64, "posix_fallocate64")(fd, offset, length);
  allocated(fd, status, 0, offset, length);
  return status;
}

CKPT_EXPORT ssize_t copy_file_range(int in_fd, loff_t* in_offset, int out_fd, loff_t* out_offset,
                                    size_t length, unsigned flags) {
  WrapperGuard guard;
  const loff_t at = out_offset == nullptr ? 0 : *out_offset;
  const ssize_t copied = next_symbol(real_copy_file_range, "copy_file_range")(
      in_fd, in_offset, out_fd, out_offset, length, flags);
  // Without an explicit offset it writes at (and moves) the descriptor's.
  if (out_offset != nullptr) after_positional(out_fd, copied, at);
  return copied;
}

CKPT_EXPORT void* mmap(void* address, size_t length, int protection, int flags, int fd,
                       off_t offset) {
  WrapperGuard guard;
  if ((flags & MAP_FIXED) != 0) dirty_release(address, length, false);
  void* result = next_symbol(real_mmap, "mmap")(address, length, protection, flags, fd, offset);
  mapped(result, protection, flags, fd);
  return result;
}

CKPT_EXPORT void* mmap64(void* address, size_t length, int protection, int flags, int fd,
                         off_t offset) {
  WrapperGuard guard;
  if ((flags & MAP_FIXED) != 0) dirty_release(address, length, false);
  void* result = next_symbol(real_mmap64, "mmap64")(address, length, protection, flags, fd, offset);
  mapped(result, protection, flags, fd);
  return result;
}

CKPT_EXPORT int fclose(FILE* stream) {
  {
    WrapperGuard guard;
    // Its buffer is written during fclose: the span goes to the end.
    if (stream != nullptr) span_closing(fileno(stream), true);
  }
  return next_symbol(real_fclose, "fclose")(stream);
}

CKPT_EXPORT int fseek(FILE* stream, long offset, int whence) {
  return stream_seek(stream,
                     [&] { return next_symbol(real_fseek, "fseek")(stream, offset, whence); });
}
CKPT_EXPORT int fseeko(FILE* stream, off_t offset, int whence) {
  return stream_seek(stream,
                     [&] { return next_symbol(real_fseeko, "fseeko")(stream, offset, whence); });
}
CKPT_EXPORT int fseeko64(FILE* stream, off_t offset, int whence) {
  return stream_seek(
      stream, [&] { return next_symbol(real_fseeko64, "fseeko64")(stream, offset, whence); });
}
CKPT_EXPORT int fsetpos(FILE* stream, const fpos_t* position) {
  return stream_seek(stream,
                     [&] { return next_symbol(real_fsetpos, "fsetpos")(stream, position); });
}
CKPT_EXPORT int fsetpos64(FILE* stream, const fpos64_t* position) {
  return stream_seek(stream,
                     [&] { return next_symbol(real_fsetpos64, "fsetpos64")(stream, position); });
}
CKPT_EXPORT void rewind(FILE* stream) {
  stream_seek(stream, [&] {
    next_symbol(real_rewind, "rewind")(stream);
    return 0;
  });
}

CKPT_EXPORT int dup(int fd) {
  WrapperGuard guard;
  const int result = next_symbol(real_dup, "dup")(fd);
  if (result >= 0) span_duplicated(fd, result);
  return result;
}

CKPT_EXPORT int dup2(int fd, int target) {
  WrapperGuard guard;
  if (is_agent_fd(target)) {
    errno = EBADF;
    return -1;
  }
  closing_target(fd, target);
  const int result = next_symbol(real_dup2, "dup2")(fd, target);
  if (result >= 0 && fd != target) span_duplicated(fd, result);
  return result;
}

CKPT_EXPORT int dup3(int fd, int target, int flags) {
  WrapperGuard guard;
  if (is_agent_fd(target)) {
    errno = EBADF;
    return -1;
  }
  closing_target(fd, target);
  const int result = next_symbol(real_dup3, "dup3")(fd, target, flags);
  if (result >= 0) span_duplicated(fd, result);
  return result;
}

#define CKPT_FCNTL_WRAPPER(name, cache)                                  \
  CKPT_EXPORT int name(int fd, int command, ...) {                       \
    va_list arguments;                                                   \
    va_start(arguments, command);                                        \
    void* argument = va_arg(arguments, void*);                           \
    va_end(arguments);                                                   \
    if (command != F_DUPFD && command != F_DUPFD_CLOEXEC) {              \
      return next_symbol(cache, #name)(fd, command, argument);           \
    }                                                                    \
    WrapperGuard guard;                                                  \
    const int result = next_symbol(cache, #name)(fd, command, argument); \
    if (result >= 0) span_duplicated(fd, result);                        \
    return result;                                                       \
  }
CKPT_FCNTL_WRAPPER(fcntl, real_fcntl)
CKPT_FCNTL_WRAPPER(fcntl64, real_fcntl64)

CKPT_EXPORT void _exit(int status) {
  spans_at_exit();
  next_symbol(real__exit, "_exit")(status);
  __builtin_unreachable();
}

CKPT_EXPORT void _Exit(int status) {
  spans_at_exit();
  next_symbol(real__Exit, "_Exit")(status);
  __builtin_unreachable();
}
