// Data transfer on descriptors and stdio streams, in the in-flight
// file-operation table (wrapper_guard.hpp): read, write, readv, writev,
// fsync, fdatasync, sendfile, fwrite, fputs, fprintf/vfprintf, fflush.
// Reads also unprotect their destination for the mprotect dirty-page
// engine (dirty_mprotect.hpp).
// They only enter the operation, hold checkpoints off until it starts, and
// leave it when it completes: which bytes they wrote is found without them
// (file_spans.cpp), so they add a few nanoseconds to each call and no
// system call.
#include <stdarg.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dirty_mprotect.hpp"
#include "next_symbol.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {
namespace {

using ReadFunction = ssize_t (*)(int, void*, size_t);
using WriteFunction = ssize_t (*)(int, const void*, size_t);
using VectorFunction = ssize_t (*)(int, const iovec*, int);
using SyncFunction = int (*)(int);
using SendfileFunction = ssize_t (*)(int, int, off_t*, size_t);
using FwriteFunction = size_t (*)(const void*, size_t, size_t, FILE*);
using FputsFunction = int (*)(const char*, FILE*);
using VfprintfFunction = int (*)(FILE*, const char*, va_list);
using FflushFunction = int (*)(FILE*);

ReadFunction real_read;
WriteFunction real_write;
VectorFunction real_readv, real_writev;
SyncFunction real_fsync, real_fdatasync;
SendfileFunction real_sendfile, real_sendfile64;
FwriteFunction real_fwrite;
FputsFunction real_fputs;
VfprintfFunction real_vfprintf;
FflushFunction real_fflush;

// The descriptor of a stream without taking its lock (fileno() locks).
int descriptor_of(FILE* stream) {
  return stream == nullptr ? -1 : stream->_fileno;
}

// Enters the operation, looks up the real function, starts it.
template <class Function, class... Args>
auto run(FileOperation kind, int fd, Function& cache, const char* name, Args... args) {
  InFlightOperation operation(kind, fd);
  const Function function = next_symbol(cache, name);
  operation.start();
  return function(args...);
}

// Like run() for a read into memory: the destination is unprotected
// first for the mprotect engine, and the call retried once after an
// EFAULT that engine caused (a checkpoint during a blocked read).
template <class Function, class Prepare, class... Args>
ssize_t run_into(int fd, Function& cache, const char* name, Prepare prepare, Args... args) {
  ssize_t result;
  {
    InFlightOperation operation(kReadOperation, fd);
    prepare();
    const Function function = next_symbol(cache, name);
    operation.start();
    result = function(args...);
  }
  return retry_after_fault(result, prepare, [&] { return cache(args...); });
}

}  // namespace
}  // namespace ckpt::agent

using namespace ckpt::agent;

#define CKPT_EXPORT extern "C" __attribute__((visibility("default")))

CKPT_EXPORT ssize_t read(int fd, void* data, size_t count) {
  return run_into(
      fd, real_read, "read", [&] { return dirty_before_kernel_write(data, count); }, fd, data,
      count);
}
CKPT_EXPORT ssize_t write(int fd, const void* data, size_t count) {
  return run(kWriteOperation, fd, real_write, "write", fd, data, count);
}
CKPT_EXPORT ssize_t readv(int fd, const iovec* vector, int count) {
  return run_into(
      fd, real_readv, "readv", [&] { return dirty_before_kernel_write(vector, count); }, fd, vector,
      count);
}
CKPT_EXPORT ssize_t writev(int fd, const iovec* vector, int count) {
  return run(kWriteOperation, fd, real_writev, "writev", fd, vector, count);
}
CKPT_EXPORT int fsync(int fd) {
  return run(kSyncOperation, fd, real_fsync, "fsync", fd);
}
CKPT_EXPORT int fdatasync(int fd) {
  return run(kSyncOperation, fd, real_fdatasync, "fdatasync", fd);
}
CKPT_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  return run(kWriteOperation, out_fd, real_sendfile, "sendfile", out_fd, in_fd, offset, count);
}
CKPT_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t* offset, size_t count) {
  return run(kWriteOperation, out_fd, real_sendfile64, "sendfile64", out_fd, in_fd, offset, count);
}
CKPT_EXPORT size_t fwrite(const void* data, size_t size, size_t count, FILE* stream) {
  return run(kStreamWriteOperation, descriptor_of(stream), real_fwrite, "fwrite", data, size, count,
             stream);
}
CKPT_EXPORT int fputs(const char* text, FILE* stream) {
  return run(kStreamWriteOperation, descriptor_of(stream), real_fputs, "fputs", text, stream);
}
CKPT_EXPORT int vfprintf(FILE* stream, const char* format, va_list arguments) {
  InFlightOperation operation(kStreamWriteOperation, descriptor_of(stream));
  const VfprintfFunction function = next_symbol(real_vfprintf, "vfprintf");
  operation.start();
  return function(stream, format, arguments);
}
CKPT_EXPORT int fprintf(FILE* stream, const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  const int written = vfprintf(stream, format, arguments);
  va_end(arguments);
  return written;
}
CKPT_EXPORT int fflush(FILE* stream) {
  return run(kStreamWriteOperation, descriptor_of(stream), real_fflush, "fflush", stream);
}
