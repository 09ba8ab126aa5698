/* tree_socketpair: an AF_UNIX socketpair between a parent and a forked child,
 * ping-pong with several messages in flight in both directions.
 *
 * The parent sends requests (index, payload of 10..3000 bytes) and keeps up
 * to kWindow of them unanswered; the child answers each with the payload
 * transformed and a hash of it. In "slow child" blocks the child sleeps per
 * request (requests queue up in the socket), in "slow parent" blocks the
 * parent sleeps per reply (replies queue up). A checkpoint must save the
 * queued bytes (stream) or datagrams with their boundaries (dgram) and
 * restore them: a lost, repeated, reordered or merged message changes a
 * check or the final digest.
 *
 *   stream (default): SOCK_STREAM; messages are framed by a header and
 *     read in pieces of odd sizes; the end is shutdown(SHUT_WR), seen by
 *     the child as end of file.
 *   dgram: SOCK_DGRAM; one datagram per message, every datagram's size
 *     is checked; the end is an "end" datagram (the queue holds at most
 *     net.unix.max_dgram_qlen = 10 datagrams by default: kWindow is 8).
 *
 * The child exits with the number of requests it served modulo 128; the
 * parent prints a line per reply, checks and a digest at the end.
 *
 * usage: tree_socketpair [stream|dgram] [MESSAGES]   (default 400, ~6 s) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

enum { kWindow = 8, kBlock = 50, kSleepMs = 15, kMaxPayload = 3000 };
static const uint32_t kMagic = 0x43505453u; /* "STPC" */
static const uint32_t kEnd = 0xffffffffu;

struct Header {
  uint32_t magic;
  uint32_t index;
  uint32_t length; /* payload bytes after the header */
  uint32_t pad;
  uint64_t hash;   /* replies: hash of the transformed payload */
};

struct Message {
  struct Header header;
  unsigned char payload[kMaxPayload];
};

static bool g_dgram;

static bool child_slow(uint32_t index) { return (index / kBlock) % 2 == 0; }

static size_t payload_length(uint32_t index) { return 10 + (size_t)(mix64(index ^ 0xabcdu) % (kMaxPayload - 10)); }

static void fill_payload(uint32_t index, unsigned char* payload, size_t length) {
  uint64_t state = (uint64_t)index * 0x9e3779b97f4a7c15ull + 7;
  for (size_t i = 0; i < length; ++i) {
    if (i % 8 == 0) state = mix64(state);
    payload[i] = (unsigned char)(state >> ((i % 8) * 8));
  }
}

static void transform(uint32_t index, unsigned char* payload, size_t length) {
  for (size_t i = 0; i < length; ++i) payload[i] = (unsigned char)(payload[i] * 5u + 3u + index);
}

static void send_all(int fd, const void* data, size_t length) {
  const char* bytes = (const char*)data;
  while (length > 0) {
    ssize_t n = send(fd, bytes, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("send");
    if (g_dgram && (size_t)n != length) {
      fprintf(stderr, "FATAL: short datagram send (%zd of %zu bytes)\n", n, length);
      exit(kExitSetup);
    }
    bytes += n;
    length -= (size_t)n;
  }
}

/* Stream: reads exactly LENGTH bytes in pieces of odd sizes; false at end of file. */
static bool read_exact(int fd, void* data, size_t length, size_t piece) {
  char* bytes = (char*)data;
  size_t done = 0;
  while (done < length) {
    size_t want = length - done < piece ? length - done : piece;
    ssize_t n = recv(fd, bytes + done, want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recv");
    if (n == 0) {
      if (done == 0) return false;
      fprintf(stderr, "FATAL: end of file inside a message (%zu of %zu bytes)\n", done, length);
      exit(kExitSetup);
    }
    done += (size_t)n;
  }
  return true;
}

static long g_bad_sizes;

/* One message; false at the end (end of file / end datagram). */
static bool receive(int fd, struct Message* message, size_t piece) {
  if (g_dgram) {
    ssize_t n;
    do n = recv(fd, message, sizeof *message, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) die("recv");
    if (n < (ssize_t)sizeof message->header) {
      ++g_bad_sizes;
      return false;
    }
    if (message->header.index == kEnd) return false;
    if ((size_t)n != sizeof message->header + message->header.length) ++g_bad_sizes;
    return true;
  }
  if (!read_exact(fd, &message->header, sizeof message->header, piece)) return false;
  if (message->header.magic != kMagic || message->header.length > kMaxPayload) {
    fprintf(stderr, "FATAL: bad frame header (magic %08x, length %u)\n", message->header.magic,
            message->header.length);
    exit(kExitSetup);
  }
  if (message->header.length > 0 && !read_exact(fd, message->payload, message->header.length, piece)) {
    fprintf(stderr, "FATAL: end of file before a payload\n");
    exit(kExitSetup);
  }
  return true;
}

static void send_message(int fd, const struct Message* message) {
  send_all(fd, message, sizeof message->header + message->header.length);
}

static _Noreturn void run_child(int fd) {
  struct Message* message = (struct Message*)malloc(sizeof *message);
  if (message == NULL) die("malloc");
  long served = 0;
  while (receive(fd, message, 777)) {
    if (message->header.magic != kMagic) {
      fprintf(stderr, "child: bad magic in message %ld\n", served);
      exit(100);
    }
    if (child_slow(message->header.index)) sleep_ms(kSleepMs);
    transform(message->header.index, message->payload, message->header.length);
    message->header.hash = digest_bytes(message->header.index, message->payload, message->header.length);
    send_message(fd, message);
    ++served;
  }
  exit(g_bad_sizes != 0 ? 101 : (int)(served % 128));
}

int main(int argc, char** argv) {
  int arg = 1;
  if (arg < argc && (strcmp(argv[arg], "stream") == 0 || strcmp(argv[arg], "dgram") == 0)) {
    g_dgram = strcmp(argv[arg], "dgram") == 0;
    ++arg;
  }
  const long messages = arg < argc ? parse_count(argv[arg], "MESSAGES") : 400;
  const char* kind = g_dgram ? "dgram" : "stream";

  int pair[2];
  if (socketpair(AF_UNIX, g_dgram ? SOCK_DGRAM : SOCK_STREAM, 0, pair) != 0) die("socketpair");
  signal(SIGPIPE, SIG_IGN);
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(pair[0]);
    run_child(pair[1]);
  }
  close(pair[1]);
  const int fd = pair[0];

  struct Message* request = (struct Message*)malloc(sizeof *request);
  struct Message* reply = (struct Message*)malloc(sizeof *reply);
  unsigned char* expected = (unsigned char*)malloc(kMaxPayload);
  char* output = (char*)malloc((size_t)messages * 64 + 64);
  if (request == NULL || reply == NULL || expected == NULL || output == NULL) die("malloc");
  size_t output_length = 0;
  long sent = 0, bad = 0, max_in_flight = 0;
  uint64_t digest = 0;
  for (long received = 0; received < messages; ++received) {
    while (sent < messages && sent < received + kWindow) {
      request->header.magic = kMagic;
      request->header.index = (uint32_t)sent;
      request->header.length = (uint32_t)payload_length((uint32_t)sent);
      request->header.pad = 0;
      request->header.hash = 0;
      fill_payload((uint32_t)sent, request->payload, request->header.length);
      send_message(fd, request);
      ++sent;
    }
    if (sent - received > max_in_flight) max_in_flight = sent - received;
    if (!child_slow((uint32_t)received)) sleep_ms(kSleepMs); /* let replies pile up */

    if (!receive(fd, reply, 1000 + (size_t)(received % 7) * 333)) {
      fprintf(stderr, "FATAL: the child's side ended after %ld replies\n", received);
      return kExitSetup;
    }
    const size_t length = payload_length((uint32_t)received);
    fill_payload((uint32_t)received, expected, length);
    transform((uint32_t)received, expected, length);
    const uint64_t hash = digest_bytes((uint64_t)received, expected, length);
    const bool good = reply->header.magic == kMagic && reply->header.index == (uint32_t)received &&
                      reply->header.length == length && memcmp(reply->payload, expected, length) == 0 &&
                      reply->header.hash == hash;
    if (!good) {
      ++bad;
      fprintf(stderr, "bad reply %ld (index %u, length %u)\n", received, reply->header.index, reply->header.length);
    }
    digest = digest_add(digest, reply->header.hash ^ ((uint64_t)reply->header.index << 40));
    output_length += (size_t)sprintf(output + output_length, "%s reply %u %u %016llx\n", kind,
                                     reply->header.index, reply->header.length,
                                     (unsigned long long)reply->header.hash);
    if (received % 20 == 0) progress("tree_socketpair reply", received);
  }
  if (g_dgram) {
    memset(&request->header, 0, sizeof request->header);
    request->header.magic = kMagic;
    request->header.index = kEnd;
    send_message(fd, request);
  } else if (shutdown(fd, SHUT_WR) != 0) {
    die("shutdown");
  }
  int status = 0;
  pid_t reaped;
  do reaped = waitpid(child, &status, 0);
  while (reaped < 0 && errno == EINTR);
  if (reaped != child) die("waitpid");
  /* nothing more may be queued for us */
  char extra;
  ssize_t more = recv(fd, &extra, 1, MSG_DONTWAIT);
  const bool drained = more == 0 || (more < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  close(fd);

  int failures = 0;
  fwrite(output, 1, output_length, stdout);
  printf("%s: replies %ld, all as computed: %s\n", kind, messages, verdict(bad == 0 && g_bad_sizes == 0, &failures));
  printf("%s: messages in flight at most %ld (window %d): %s\n", kind, max_in_flight, (int)kWindow,
         verdict(max_in_flight == (messages < kWindow ? messages : kWindow), &failures));
  printf("%s: nothing left in the socket after the child ended: %s\n", kind, verdict(drained, &failures));
  if (WIFEXITED(status)) {
    printf("%s: child exited with status %d: %s\n", kind, WEXITSTATUS(status),
           verdict(WEXITSTATUS(status) == (int)(messages % 128), &failures));
  } else {
    printf("%s: child killed by signal %d: %s\n", kind, WIFSIGNALED(status) ? WTERMSIG(status) : -1,
           verdict(false, &failures));
  }
  printf("%s: digest %016llx\n", kind, (unsigned long long)digest);
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
