/* dirty_syscalls: memory written by the kernel, not by the program. Each
 * round (150 ms) data arrives by system calls into buffers that already
 * held data (written by the program at the start, or by the previous
 * round's calls), so a dirty-page engine that write-protects memory has
 * them protected when the calls run right after a checkpoint: read() from
 * a file and from a pipe, pread(), readv() into three buffers, recv(),
 * recvfrom() and recvmsg() (two pieces) on a socketpair, and fread() of
 * a large block (which glibc reads straight into the destination) into a
 * big mmap'd buffer and into a malloc'd one. Destinations start at odd
 * offsets, cross many pages and move every round. Nothing touches a
 * destination between the round's sleep (where checkpoints land) and the
 * calls.
 *
 * Every call must succeed (an EFAULT means an engine left a destination
 * protected) and every byte must be the file's or the stream's. stdout (at
 * the end only): bytes per kind of call, failed calls, a digest, "result ok".
 *
 * usage: dirty_syscalls FOLDER [ROUNDS]   (FOLDER gets dirty_syscalls.data; default 14 rounds;
 * ctest: 36) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

enum {
  kPage = 4096,
  kPeriodMs = 150,
  kFileBytes = 8 << 20,
  kBigBytes = 16 << 20,
  kHeapBytes = 4 << 20,
  kStaticBytes = 256 << 10,
  kStreamBytes = 300000,
};

enum Kind {
  kRead,
  kPipeRead,
  kPread,
  kReadv,
  kRecv,
  kRecvfrom,
  kRecvmsg,
  kFreadMmap,
  kFreadMalloc,
  kKinds
};
static const char* const kKindNames[kKinds] = {
    "read file",       "read pipe",        "pread", "readv", "recv", "recvfrom", "recvmsg",
    "fread into mmap", "fread into malloc"};

static unsigned char static_buffer[kStaticBytes]; /* .bss */
static long bytes_in[kKinds], calls[kKinds], efault[kKinds], other_errors[kKinds],
    wrong_bytes[kKinds];
static uint64_t digest;

static bool failed_call(enum Kind kind, long result) {
  ++calls[kind];
  if (result >= 0) return false;
  if (errno == EFAULT) {
    if (efault[kind]++ == 0)
      fprintf(stderr, "dirty_syscalls: %s failed with EFAULT\n", kKindNames[kind]);
  } else if (other_errors[kind]++ == 0) {
    fprintf(stderr, "dirty_syscalls: %s failed: %s\n", kKindNames[kind], strerror(errno));
  }
  return true;
}

/* The expected bytes of the file at OFFSET or of stream (round, kind) from
 * FROM: one mix64 per 8 bytes. */
static void expected_bytes(unsigned char* out, size_t length, bool file, long round, int kind,
                           uint64_t from) {
  for (size_t i = 0; i < length;) {
    uint64_t position = from + i;
    uint64_t word = file ? mix64(position / 8)
                         : mix64(((uint64_t)round << 40) ^ ((uint64_t)kind << 32) ^ (position / 8));
    for (unsigned b = (unsigned)(position % 8); b < 8 && i < length; ++b, ++i)
      out[i] = (unsigned char)(word >> (8 * b));
  }
}

static unsigned char* expected_scratch; /* 1 MiB */

static void check_data(enum Kind kind, const unsigned char* dest, size_t length, bool file,
                       long round, uint64_t from) {
  bytes_in[kind] += (long)length;
  for (size_t done = 0; done < length;) {
    size_t piece = length - done < (1 << 20) ? length - done : (1 << 20);
    expected_bytes(expected_scratch, piece, file, round, kind, from + done);
    if (memcmp(expected_scratch, dest + done, piece) != 0)
      for (size_t i = 0; i < piece; ++i) wrong_bytes[kind] += expected_scratch[i] != dest[done + i];
    done += piece;
  }
  digest = digest_bytes(digest, dest, length);
}

static void check_file_data(enum Kind kind, const unsigned char* dest, size_t length,
                            uint64_t offset) {
  check_data(kind, dest, length, true, 0, offset);
}

static void check_stream_data(enum Kind kind, long round, const unsigned char* dest, size_t length,
                              uint64_t from) {
  check_data(kind, dest, length, false, round, from);
}

static void write_all(int fd, const unsigned char* data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write");
    data += n;
    length -= (size_t)n;
  }
}

/* read() of LENGTH bytes from FD into DEST, looping on short reads. */
static size_t read_full(enum Kind kind, int fd, unsigned char* dest, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = read(fd, dest + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (failed_call(kind, n) || n == 0) break;
    done += (size_t)n;
  }
  return done;
}

/* The stream bytes of (round, kind) go through a socket in pieces of at
 * most 32 KiB (a send never blocks), each received with the kind's call. */
static void socket_transfer(enum Kind kind, long round, int sender, int receiver,
                            unsigned char* dest, unsigned char* second, size_t length,
                            unsigned char* scratch) {
  size_t done = 0;
  while (done < length) {
    size_t piece = length - done < 32768 ? length - done : 32768;
    expected_bytes(scratch, piece, false, round, kind, done);
    write_all(sender, scratch, piece);
    size_t got = 0;
    while (got < piece) {
      ssize_t n;
      size_t want = piece - got;
      if (kind == kRecv) {
        n = recv(receiver, dest + done + got, want, 0);
      } else if (kind == kRecvfrom) {
        n = recvfrom(receiver, dest + done + got, want, 0, NULL, NULL);
      } else {
        /* two pieces: the first half into DEST, the rest into SECOND */
        size_t position = done + got, half = length / 2;
        struct iovec iov[2];
        int count = 0;
        if (position < half) {
          iov[count].iov_base = dest + position;
          iov[count].iov_len = half - position < want ? half - position : want;
          ++count;
        }
        size_t rest = want - (count ? iov[0].iov_len : 0);
        if (rest > 0) {
          iov[count].iov_base = second + (position + (count ? iov[0].iov_len : 0) - half);
          iov[count].iov_len = rest;
          ++count;
        }
        struct msghdr message;
        memset(&message, 0, sizeof message);
        message.msg_iov = iov;
        message.msg_iovlen = (size_t)count;
        n = recvmsg(receiver, &message, 0);
      }
      if (n < 0 && errno == EINTR) continue;
      if (failed_call(kind, n) || n == 0) return;
      got += (size_t)n;
    }
    done += piece;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: dirty_syscalls FOLDER [ROUNDS]\n");
    return kExitSetup;
  }
  const long rounds = argc > 2 ? parse_count(argv[2], "ROUNDS") : 14;
  char path[4096];
  snprintf(path, sizeof path, "%s/dirty_syscalls.data", argv[1]);

  unsigned char* scratch = (unsigned char*)malloc(1 << 20);
  expected_scratch = (unsigned char*)malloc(1 << 20);
  if (scratch == NULL || expected_scratch == NULL) die("malloc");
  int file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file < 0) die("create data file");
  for (uint64_t offset = 0; offset < kFileBytes; offset += 1 << 20) {
    expected_bytes(scratch, 1 << 20, true, 0, 0, offset);
    write_all(file, scratch, 1 << 20);
  }
  if (close(file) != 0) die("close data file");
  file = open(path, O_RDONLY | O_CLOEXEC); /* only read from now on */
  if (file < 0) die("open data file");
  FILE* stream = fopen(path, "rb");
  if (stream == NULL) die("fopen");
  int pipe_fds[2], sockets[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) die("pipe2");
  (void)fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20); /* larger pieces where allowed */
  const int pipe_capacity = fcntl(pipe_fds[1], F_GETPIPE_SZ);
  if (pipe_capacity <= 0) die("F_GETPIPE_SZ");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) die("socketpair");

  unsigned char* big = (unsigned char*)mmap(NULL, kBigBytes, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (big == MAP_FAILED) die("mmap");
  unsigned char* heap = (unsigned char*)malloc(kHeapBytes);
  if (heap == NULL) die("malloc");
  /* every destination already holds data */
  memset(big, 0xa5, kBigBytes);
  memset(heap, 0x5a, kHeapBytes);
  memset(static_buffer, 0x3c, kStaticBytes);
  progress("dirty_syscalls round", 0);

  const int64_t start = monotonic_ns();
  for (long round = 1; round <= rounds; ++round) {
    sleep_until_ns(start + round * (int64_t)kPeriodMs * 1000000);
    /* offsets move every round; all odd, crossing pages */
    const size_t shift = (size_t)(round % 7) * 3 * kPage + 123;
    const uint64_t file_offset = (uint64_t)(round % 5) * 500009;

    /* read() of a file into the big buffer */
    if (lseek(file, (off_t)file_offset, SEEK_SET) < 0) die("lseek");
    size_t length = (1 << 20) + 777;
    size_t got = read_full(kRead, file, big + shift, length);
    check_file_data(kRead, big + shift, got, file_offset);

    /* pread() into the malloc'd buffer */
    length = 700001;
    ssize_t n = pread(file, heap + shift + 5000, length, (off_t)file_offset + 17);
    if (!failed_call(kPread, n))
      check_file_data(kPread, heap + shift + 5000, (size_t)n, file_offset + 17);

    /* readv() into the big buffer, the .bss buffer and the malloc'd one */
    if (lseek(file, (off_t)file_offset + 4099, SEEK_SET) < 0) die("lseek");
    struct iovec pieces[3] = {{big + (2 << 20) + shift, 100003},
                              {static_buffer + shift % 8192 + 11, 150001},
                              {heap + (2 << 20) + shift, 300007}};
    n = readv(file, pieces, 3);
    if (!failed_call(kReadv, n)) {
      uint64_t offset = file_offset + 4099;
      size_t left = (size_t)n;
      for (int i = 0; i < 3 && left > 0; ++i) {
        size_t part = left < pieces[i].iov_len ? left : pieces[i].iov_len;
        check_file_data(kReadv, (const unsigned char*)pieces[i].iov_base, part, offset);
        offset += part;
        left -= part;
      }
    }

    /* a pipe, in pieces of its capacity, into the big buffer */
    unsigned char* dest = big + (4 << 20) + shift;
    for (size_t done = 0; done < kStreamBytes;) {
      size_t piece =
          kStreamBytes - done < (size_t)pipe_capacity ? kStreamBytes - done : (size_t)pipe_capacity;
      if (piece > 1 << 20) piece = 1 << 20;
      expected_bytes(scratch, piece, false, round, kPipeRead, done);
      write_all(pipe_fds[1], scratch, piece);
      size_t in = read_full(kPipeRead, pipe_fds[0], dest + done, piece);
      if (in < piece) break;
      done += piece;
    }
    check_stream_data(kPipeRead, round, dest, kStreamBytes, 0);

    /* the socketpair: recv into the malloc'd buffer, recvfrom into the big
     * one, recvmsg into both */
    socket_transfer(kRecv, round, sockets[0], sockets[1], heap + (3 << 20) + shift, NULL,
                    kStreamBytes, scratch);
    check_stream_data(kRecv, round, heap + (3 << 20) + shift, kStreamBytes, 0);
    socket_transfer(kRecvfrom, round, sockets[1], sockets[0], big + (5 << 20) + shift, NULL,
                    kStreamBytes, scratch);
    check_stream_data(kRecvfrom, round, big + (5 << 20) + shift, kStreamBytes, 0);
    unsigned char* first = big + (6 << 20) + shift;
    unsigned char* second = static_buffer + 160000 + shift % 4096;
    socket_transfer(kRecvmsg, round, sockets[0], sockets[1], first, second, 2 * 40000, scratch);
    check_stream_data(kRecvmsg, round, first, 40000, 0);
    check_stream_data(kRecvmsg, round, second, 40000, 40000);

    /* fread() of large blocks: into the big buffer and the malloc'd one */
    if (fseek(stream, (long)file_offset + 3, SEEK_SET) != 0) die("fseek");
    length = (4 << 20) + 101;
    size_t items = fread(big + (8 << 20) + shift, 1, length, stream);
    if (items < length && ferror(stream)) {
      failed_call(kFreadMmap, -1);
      clearerr(stream);
    } else {
      ++calls[kFreadMmap];
    }
    check_file_data(kFreadMmap, big + (8 << 20) + shift, items, file_offset + 3);
    length = (1 << 20) + 55;
    uint64_t offset = file_offset + 3 + items;
    items = fread(heap + 1000 + shift, 1, length, stream);
    if (items < length && ferror(stream)) {
      failed_call(kFreadMalloc, -1);
      clearerr(stream);
    } else {
      ++calls[kFreadMalloc];
    }
    check_file_data(kFreadMalloc, heap + 1000 + shift, items, offset);

    progress("dirty_syscalls round", round);
  }

  int failures = 0;
  long all_efault = 0, all_errors = 0;
  printf("rounds %ld\n", rounds);
  for (int kind = 0; kind < kKinds; ++kind) {
    int ok = efault[kind] == 0 && other_errors[kind] == 0 && wrong_bytes[kind] == 0 &&
             bytes_in[kind] > 0;
    printf("%-18s bytes %ld, EFAULT %ld, other errors %ld, wrong bytes %ld: %s\n", kKindNames[kind],
           bytes_in[kind], efault[kind], other_errors[kind], wrong_bytes[kind],
           verdict(ok, &failures));
    all_efault += efault[kind];
    all_errors += other_errors[kind];
  }
  printf("calls failing with EFAULT: %ld, with another error: %ld\n", all_efault, all_errors);
  printf("digest %016llx\n", (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
