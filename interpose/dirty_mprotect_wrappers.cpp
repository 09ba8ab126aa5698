// Wrappers that keep the `mprotect` engine (dirty_mprotect.cpp) right and
// invisible: calls that read data into memory unprotect the destination
// first and retry once on EFAULT (a checkpoint may protect it again while
// the call blocks); calls that unmap, move or reprotect memory take it out
// of tracking; realloc() may move a block with mremap() inside libc, so
// the block is made writable first. With no engine armed each costs a
// load and a branch.
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dirty_mprotect.hpp"
#include "next_symbol.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {
namespace {

using PreadFunction = ssize_t (*)(int, void*, size_t, off_t);
using PreadvFunction = ssize_t (*)(int, const iovec*, int, off_t);
using Preadv2Function = ssize_t (*)(int, const iovec*, int, off_t, int);
using RecvFunction = ssize_t (*)(int, void*, size_t, int);
using RecvfromFunction = ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*);
using RecvmsgFunction = ssize_t (*)(int, msghdr*, int);
using FreadFunction = size_t (*)(void*, size_t, size_t, FILE*);
using ReallocFunction = void* (*)(void*, size_t);
using MprotectFunction = int (*)(void*, size_t, int);
using MunmapFunction = int (*)(void*, size_t);
using MremapFunction = void* (*)(void*, size_t, size_t, int, ...);
using SigaltstackFunction = int (*)(const stack_t*, stack_t*);

PreadFunction real_pread, real_pread64;
PreadvFunction real_preadv, real_preadv64;
Preadv2Function real_preadv2, real_preadv64v2;
RecvFunction real_recv;
RecvfromFunction real_recvfrom;
RecvmsgFunction real_recvmsg;
FreadFunction real_fread;
ReallocFunction real_realloc;
MprotectFunction real_mprotect;
MunmapFunction real_munmap;
MremapFunction real_mremap;
SigaltstackFunction real_sigaltstack;

// Runs `call` (returning ssize_t, -1 + errno on failure) as a read into
// memory that `prepare` unprotects first (under the wrapper guard).
template <class Prepare, class Call>
ssize_t read_into(Prepare prepare, Call call) {
  {
    WrapperGuard guard;
    prepare();
  }
  return retry_after_fault(call(), prepare, call);
}

}  // namespace
}  // namespace ckpt::agent

using namespace ckpt::agent;

#define CKPT_EXPORT extern "C" __attribute__((visibility("default")))

CKPT_EXPORT ssize_t pread(int fd, void* data, size_t count, off_t offset) {
  return read_into([&] { return dirty_before_kernel_write(data, count); },
                   [&] { return next_symbol(real_pread, "pread")(fd, data, count, offset); });
}
CKPT_EXPORT ssize_t pread64(int fd, void* data, size_t count, off_t offset) {
  return read_into([&] { return dirty_before_kernel_write(data, count); },
                   [&] { return next_symbol(real_pread64, "pread64")(fd, data, count, offset); });
}
CKPT_EXPORT ssize_t preadv(int fd, const iovec* vector, int count, off_t offset) {
  return read_into([&] { return dirty_before_kernel_write(vector, count); },
                   [&] { return next_symbol(real_preadv, "preadv")(fd, vector, count, offset); });
}
CKPT_EXPORT ssize_t preadv64(int fd, const iovec* vector, int count, off_t offset) {
  return read_into(
      [&] { return dirty_before_kernel_write(vector, count); },
      [&] { return next_symbol(real_preadv64, "preadv64")(fd, vector, count, offset); });
}
CKPT_EXPORT ssize_t preadv2(int fd, const iovec* vector, int count, off_t offset, int flags) {
  return read_into(
      [&] { return dirty_before_kernel_write(vector, count); },
      [&] { return next_symbol(real_preadv2, "preadv2")(fd, vector, count, offset, flags); });
}
CKPT_EXPORT ssize_t preadv64v2(int fd, const iovec* vector, int count, off_t offset, int flags) {
  return read_into(
      [&] { return dirty_before_kernel_write(vector, count); },
      [&] { return next_symbol(real_preadv64v2, "preadv64v2")(fd, vector, count, offset, flags); });
}
CKPT_EXPORT ssize_t recv(int fd, void* data, size_t count, int flags) {
  return read_into([&] { return dirty_before_kernel_write(data, count); },
                   [&] { return next_symbol(real_recv, "recv")(fd, data, count, flags); });
}
CKPT_EXPORT ssize_t recvfrom(int fd, void* data, size_t count, int flags, sockaddr* from,
                             socklen_t* length) {
  return read_into(
      [&] {
        bool changed = dirty_before_kernel_write(data, count);
        if (from != nullptr && length != nullptr)
          changed |= dirty_before_kernel_write(from, *length);
        return changed;
      },
      [&] { return next_symbol(real_recvfrom, "recvfrom")(fd, data, count, flags, from, length); });
}
CKPT_EXPORT ssize_t recvmsg(int fd, msghdr* message, int flags) {
  return read_into(
      [&] {
        if (message == nullptr) return false;
        bool changed =
            dirty_before_kernel_write(message->msg_iov, static_cast<int>(message->msg_iovlen));
        changed |= dirty_before_kernel_write(message->msg_name, message->msg_namelen);
        changed |= dirty_before_kernel_write(message->msg_control, message->msg_controllen);
        return changed;
      },
      [&] { return next_symbol(real_recvmsg, "recvmsg")(fd, message, flags); });
}

// fread() reads large blocks straight into the caller's memory from inside
// libc: unprotected first; a short read that failed with EFAULT goes on.
CKPT_EXPORT size_t fread(void* data, size_t size, size_t count, FILE* stream) {
  const FreadFunction function = next_symbol(real_fread, "fread");
  if (size == 0 || count == 0) return function(data, size, count, stream);
  bool changed;
  {
    WrapperGuard guard;
    changed = dirty_before_kernel_write(data, size * count);
  }
  size_t got = function(data, size, count, stream);
  if (got == count || !ferror(stream) || errno != EFAULT) return got;
  {
    WrapperGuard guard;
    changed = dirty_before_kernel_write(data, size * count);
  }
  if (!changed) return got;
  clearerr(stream);
  return got + function(static_cast<char*>(data) + got * size, size, count - got, stream);
}

CKPT_EXPORT void* realloc(void* block, size_t size) {
  if (block != nullptr) {
    WrapperGuard guard;
    dirty_release(block, malloc_usable_size(block), true);
  }
  return next_symbol(real_realloc, "realloc")(block, size);
}

CKPT_EXPORT int mprotect(void* address, size_t length, int protection) {
  WrapperGuard guard;
  dirty_release(address, length, false);
  return next_symbol(real_mprotect, "mprotect")(address, length, protection);
}

CKPT_EXPORT int munmap(void* address, size_t length) {
  WrapperGuard guard;
  dirty_release(address, length, false);
  return next_symbol(real_munmap, "munmap")(address, length);
}

CKPT_EXPORT void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...) {
  void* new_address = nullptr;
  if ((flags & MREMAP_FIXED) != 0) {
    va_list arguments;
    va_start(arguments, flags);
    new_address = va_arg(arguments, void*);
    va_end(arguments);
  }
  WrapperGuard guard;
  dirty_release(old_address, old_size, true);
  if (new_address != nullptr) dirty_release(new_address, new_size, false);
  return next_symbol(real_mremap, "mremap")(old_address, old_size, new_size, flags, new_address);
}

CKPT_EXPORT int sigaltstack(const stack_t* stack, stack_t* old) {
  WrapperGuard guard;
  if (stack != nullptr && (stack->ss_flags & SS_DISABLE) == 0)
    dirty_release(stack->ss_sp, stack->ss_size, true);
  return next_symbol(real_sigaltstack, "sigaltstack")(stack, old);
}
