/* Files under pressure: 4 threads, each in a tight loop of file operations
 * on its own files in FOLDER/tN/:
 *   data.bin   a 64-byte header overwritten with pwrite() after every
 *              record, records appended with write() on the descriptor's
 *              own offset; every 37 operations cut to half its records with
 *              ftruncate() (and the offset moved back with lseek);
 *   log.txt    one fprintf() + fflush() per operation; every 251 operations
 *              emptied (ftruncate + rewind) and started again;
 *   state.txt  every 50 operations replaced the atomic way: state.tmp
 *              written, fsync'ed, closed, renamed over state.txt.
 * Each thread keeps an exact copy of what every file must contain (and
 * where its descriptors must point) in its memory, which rolls back with
 * the files at a restart. Every 100 operations, before each truncation,
 * log rewrite and state replacement (for the file concerned) and at the
 * end it reads its files back and compares them byte for byte (and the
 * descriptors' offsets with the sizes); a difference prints one
 * "MISMATCH ..." line on stderr and exits with status 1. The amount of work
 * is fixed (OPS per thread, no time-based decisions), so the final summary
 * on stdout (counters, sizes, a digest per file) is the same for an
 * uninterrupted run and a checkpointed, killed and restarted one.
 * usage: files_pressure FOLDER [OPS]   (default OPS 40000) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum {
  kThreads = 4,
  kHeader = 64,
  kRecord = 48,
  kCheckEvery = 100,
  kTruncateEvery = 37,
  kLogRewriteEvery = 251,
  kStateEvery = 50,
  kProgressEvery = 2000,
};

/* The expected content of one file. */
typedef struct {
  char* bytes;
  size_t size;
  size_t capacity;
} Mirror;

typedef struct {
  int index;
  long ops;
  char folder[4096];
  char data_path[4200], log_path[4200], state_path[4200], temp_path[4200];
  int data_fd;
  FILE* log;
  Mirror data, log_text, state;
  long op;        /* the operation under way (-1: setting up) */
  uint64_t value; /* the thread's generator */
  /* counters */
  long records, header_writes, log_lines, truncations, log_rewrites, renames, checks;
} Worker;

static void mirror_reserve(Mirror* m, size_t size) {
  if (size <= m->capacity) return;
  size_t capacity = m->capacity ? m->capacity : 4096;
  while (capacity < size) capacity *= 2;
  char* bytes = realloc(m->bytes, capacity);
  if (bytes == NULL) die("realloc");
  m->bytes = bytes;
  m->capacity = capacity;
}

static void mirror_write(Mirror* m, size_t at, const void* data, size_t length) {
  mirror_reserve(m, at + length);
  if (at > m->size) memset(m->bytes + m->size, 0, at - m->size);
  memcpy(m->bytes + at, data, length);
  if (at + length > m->size) m->size = at + length;
}

static void mirror_truncate(Mirror* m, size_t size) {
  mirror_reserve(m, size);
  if (size > m->size) memset(m->bytes + m->size, 0, size - m->size);
  m->size = size;
}

static void mismatch(const Worker* w, const char* what) {
  /* one write: the line stays whole even with other threads printing */
  char line[600];
  const int length =
      snprintf(line, sizeof line, "MISMATCH files_pressure thread %d at operation %ld: %s\n", w->index, w->op, what);
  if (write(2, line, (size_t)length) < 0) {
    /* nothing else to do */
  }
  exit(kExitCheckFailed);
}

static void must(const Worker* w, int ok, const char* what) {
  if (!ok) {
    char message[512];
    snprintf(message, sizeof message, "%s failed: %s", what, strerror(errno));
    fprintf(stderr, "FATAL: files_pressure thread %d: %s\n", w->index, message);
    exit(kExitSetup);
  }
}

/* Reads PATH whole and compares it with M. */
static void check_file(const Worker* w, const char* path, const char* name, const Mirror* m) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    char what[300];
    snprintf(what, sizeof what, "%s cannot be opened (%s), expected %zu bytes", name, strerror(errno), m->size);
    mismatch(w, what);
  }
  struct stat info;
  must(w, fstat(fd, &info) == 0, "fstat");
  char* bytes = malloc((size_t)info.st_size + 1);
  if (bytes == NULL) die("malloc");
  size_t got = 0;
  while (got < (size_t)info.st_size) {
    const ssize_t n = pread(fd, bytes + got, (size_t)info.st_size - got, (off_t)got);
    must(w, n >= 0, "pread");
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got != m->size) {
    size_t first = 0;
    while (first < got && first < m->size && bytes[first] == m->bytes[first]) ++first;
    char what[300];
    snprintf(what, sizeof what, "%s holds %zu bytes, expected %zu (first difference at byte %zu)", name, got,
             m->size, first);
    free(bytes);
    mismatch(w, what);
  }
  for (size_t i = 0; i < got; ++i) {
    if (bytes[i] != m->bytes[i]) {
      char what[300];
      snprintf(what, sizeof what, "%s differs at byte %zu of %zu: 0x%02x, expected 0x%02x", name, i, got,
               (unsigned char)bytes[i], (unsigned char)m->bytes[i]);
      free(bytes);
      mismatch(w, what);
    }
  }
  free(bytes);
}

static void check_all(Worker* w) {
  check_file(w, w->data_path, "data.bin", &w->data);
  check_file(w, w->log_path, "log.txt", &w->log_text);
  check_file(w, w->state_path, "state.txt", &w->state);
  if (access(w->temp_path, F_OK) == 0) mismatch(w, "state.tmp exists after its rename");
  /* The descriptors must point where the program left them. */
  const off_t data_at = lseek(w->data_fd, 0, SEEK_CUR);
  if (data_at != (off_t)w->data.size) {
    char what[200];
    snprintf(what, sizeof what, "data.bin descriptor at offset %lld, expected %zu", (long long)data_at, w->data.size);
    mismatch(w, what);
  }
  const long log_at = ftell(w->log);
  if (log_at != (long)w->log_text.size) {
    char what[200];
    snprintf(what, sizeof what, "log.txt stream at offset %ld, expected %zu", log_at, w->log_text.size);
    mismatch(w, what);
  }
  ++w->checks;
}

static void write_header(Worker* w, long op) {
  char header[kHeader];
  memset(header, ' ', sizeof header);
  const int length = snprintf(header, sizeof header, "HDR t%d records %ld op %ld v %016llx", w->index, w->records,
                              op, (unsigned long long)w->value);
  header[length] = ' ';
  header[kHeader - 1] = '\n';
  must(w, pwrite(w->data_fd, header, kHeader, 0) == kHeader, "pwrite header");
  mirror_write(&w->data, 0, header, kHeader);
  ++w->header_writes;
}

static void append_record(Worker* w, long op) {
  char record[kRecord];
  memset(record, '.', sizeof record);
  const int length = snprintf(record, sizeof record, "t%d op %ld v %016llx", w->index, op,
                              (unsigned long long)w->value);
  record[length] = '.';
  record[kRecord - 1] = '\n';
  must(w, write(w->data_fd, record, kRecord) == kRecord, "write record");
  mirror_write(&w->data, w->data.size, record, kRecord);
  ++w->records;
}

static void truncate_data(Worker* w) {
  w->records /= 2;
  const size_t size = kHeader + (size_t)w->records * kRecord;
  must(w, ftruncate(w->data_fd, (off_t)size) == 0, "ftruncate data.bin");
  must(w, lseek(w->data_fd, (off_t)size, SEEK_SET) == (off_t)size, "lseek data.bin");
  mirror_truncate(&w->data, size);
  ++w->truncations;
}

static void log_line(Worker* w, long op) {
  char line[128];
  const int length = snprintf(line, sizeof line, "op %ld records %ld v %08llx\n", op, w->records,
                              (unsigned long long)(w->value >> 32));
  must(w, fprintf(w->log, "op %ld records %ld v %08llx\n", op, w->records,
                  (unsigned long long)(w->value >> 32)) == length,
       "fprintf log.txt");
  must(w, fflush(w->log) == 0, "fflush log.txt");
  mirror_write(&w->log_text, w->log_text.size, line, (size_t)length);
  ++w->log_lines;
}

static void rewrite_log(Worker* w, long op) {
  must(w, fflush(w->log) == 0, "fflush log.txt");
  must(w, ftruncate(fileno(w->log), 0) == 0, "ftruncate log.txt");
  rewind(w->log);
  mirror_truncate(&w->log_text, 0);
  char line[128];
  const int length = snprintf(line, sizeof line, "log rewritten at op %ld (rewrite %ld)\n", op, w->log_rewrites + 1);
  must(w, fprintf(w->log, "log rewritten at op %ld (rewrite %ld)\n", op, w->log_rewrites + 1) == length,
       "fprintf log.txt");
  must(w, fflush(w->log) == 0, "fflush log.txt");
  mirror_write(&w->log_text, 0, line, (size_t)length);
  ++w->log_rewrites;
}

static void replace_state(Worker* w, long op) {
  char text[256];
  /* a length that changes, so a stale longer file would show */
  const int length = snprintf(text, sizeof text, "state of thread %d at op %ld: records %ld value %llu%.*s\n",
                              w->index, op, w->records, (unsigned long long)w->value, (int)(w->value % 40),
                              "########################################");
  const int fd = open(w->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  must(w, fd >= 0, "open state.tmp");
  must(w, write(fd, text, (size_t)length) == length, "write state.tmp");
  must(w, fsync(fd) == 0, "fsync state.tmp");
  must(w, close(fd) == 0, "close state.tmp");
  must(w, rename(w->temp_path, w->state_path) == 0, "rename state.tmp");
  mirror_truncate(&w->state, 0);
  mirror_write(&w->state, 0, text, (size_t)length);
  ++w->renames;
}

static uint64_t mirror_digest(const Mirror* m) { return digest_bytes(0, m->bytes, m->size); }

static void* run(void* argument) {
  Worker* w = argument;
  if (mkdir(w->folder, 0755) != 0 && errno != EEXIST) die("mkdir");
  w->data_fd = open(w->data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  must(w, w->data_fd >= 0, "open data.bin");
  w->log = fopen(w->log_path, "w");
  must(w, w->log != NULL, "fopen log.txt");
  unlink(w->temp_path);
  w->op = -1;
  w->value = mix64(0x5eed0000u + (uint64_t)w->index);
  write_header(w, -1);
  must(w, lseek(w->data_fd, kHeader, SEEK_SET) == kHeader, "lseek data.bin");  /* records follow the header */
  replace_state(w, -1);
  check_all(w);
  for (long op = 0; op < w->ops; ++op) {
    w->op = op;
    w->value = mix64(w->value);
    append_record(w, op);
    write_header(w, op);
    log_line(w, op);
    /* a file is compared before an operation replaces most of it, so
     * that a wrong content (say, not rolled back) cannot be hidden */
    if (op % kTruncateEvery == kTruncateEvery - 1) {
      check_file(w, w->data_path, "data.bin", &w->data);
      truncate_data(w);
    }
    if (op % kLogRewriteEvery == kLogRewriteEvery - 1) {
      check_file(w, w->log_path, "log.txt", &w->log_text);
      rewrite_log(w, op);
    }
    if (op % kStateEvery == kStateEvery - 1) {
      check_file(w, w->state_path, "state.txt", &w->state);
      replace_state(w, op);
    }
    if (op % kCheckEvery == kCheckEvery - 1) check_all(w);
    if (w->index == 0 && op % kProgressEvery == kProgressEvery - 1) progress("files_pressure", op + 1);
  }
  check_all(w);
  must(w, fclose(w->log) == 0, "fclose log.txt");
  must(w, close(w->data_fd) == 0, "close data.bin");
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: files_pressure FOLDER [OPS]\n");
    return kExitSetup;
  }
  const long ops = argc == 3 ? parse_count(argv[2], "OPS") : 40000;
  if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) die("mkdir FOLDER");
  static Worker workers[kThreads];
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    Worker* w = &workers[i];
    w->index = i;
    w->ops = ops;
    snprintf(w->folder, sizeof w->folder, "%s/t%d", argv[1], i);
    snprintf(w->data_path, sizeof w->data_path, "%s/data.bin", w->folder);
    snprintf(w->log_path, sizeof w->log_path, "%s/log.txt", w->folder);
    snprintf(w->state_path, sizeof w->state_path, "%s/state.txt", w->folder);
    snprintf(w->temp_path, sizeof w->temp_path, "%s/state.tmp", w->folder);
  }
  for (int i = 0; i < kThreads; ++i) {
    const int rc = pthread_create(&threads[i], NULL, run, &workers[i]);
    if (rc != 0) {
      errno = rc;
      die("pthread_create");
    }
  }
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  uint64_t total = 0;
  for (int i = 0; i < kThreads; ++i) {
    const Worker* w = &workers[i];
    printf("thread %d: %ld ops, records %ld, header writes %ld, log lines %ld, truncations %ld, log rewrites %ld, "
           "renames %ld, checks %ld ok\n",
           i, w->ops, w->records, w->header_writes, w->log_lines, w->truncations, w->log_rewrites, w->renames,
           w->checks);
    printf("thread %d: data.bin %zu bytes %016llx, log.txt %zu bytes %016llx, state.txt %zu bytes %016llx\n", i,
           w->data.size, (unsigned long long)mirror_digest(&w->data), w->log_text.size,
           (unsigned long long)mirror_digest(&w->log_text), w->state.size,
           (unsigned long long)mirror_digest(&w->state));
    total = digest_add(total, mirror_digest(&w->data));
    total = digest_add(total, mirror_digest(&w->log_text));
    total = digest_add(total, mirror_digest(&w->state));
  }
  printf("files_pressure: %d threads x %ld ops, checksum %016llx\n", kThreads, ops, (unsigned long long)total);
  return 0;
}
