/* identity: the process and thread identities a restart must give back.
 * getpid() (glibc), the raw getpid/gettid/getppid system calls, /proc/self
 * /proc/self, /proc/thread-self, /proc/self/exe and the thread names
 * (comm), for the main thread and two more threads, are
 * recorded at the start, re-read in a loop for ~2.5 s and compared at the
 * end. Inside ckpt's PID namespace they are deterministic (the application
 * is PID 2), so they are printed too.
 *
 * With --names, the thread names (comm, set with pthread_setname_np) and
 * /proc/self/exe must come back too (a separate test, so that the PID/TID
 * part is reported on its own).
 *
 * usage: identity [--names] [ROUNDS]   (default 100 rounds of 25 ms) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

enum { kThreads = 3 };

struct Identity {
  long pid, raw_pid, tid, ppid;
  long proc_self, proc_thread_self_tid;
  pthread_t self;
  char name[16];      /* the thread's name (comm), set at the start */
  char exe[256];      /* readlink /proc/self/exe */
};

static long link_number(const char* path, bool last_component) {
  char buffer[128];
  ssize_t length = readlink(path, buffer, sizeof buffer - 1);
  if (length <= 0) return -1;
  buffer[length] = '\0';
  const char* number = buffer;
  if (last_component) {
    const char* slash = strrchr(buffer, '/');
    number = slash != NULL ? slash + 1 : buffer;
  }
  return strtol(number, NULL, 10);
}

static struct Identity read_identity(void) {
  struct Identity id;
  id.pid = getpid();
  id.raw_pid = syscall(SYS_getpid);
  id.tid = syscall(SYS_gettid);
  id.ppid = syscall(SYS_getppid);
  id.proc_self = link_number("/proc/self", false);             /* "2" */
  id.proc_thread_self_tid = link_number("/proc/thread-self", true); /* "2/task/3" */
  id.self = pthread_self();
  if (pthread_getname_np(pthread_self(), id.name, sizeof id.name) != 0) strcpy(id.name, "?");
  ssize_t length = readlink("/proc/self/exe", id.exe, sizeof id.exe - 1);
  id.exe[length > 0 ? length : 0] = '\0';
  return id;
}

static bool g_names;

static bool same(const struct Identity* a, const struct Identity* b) {
  if (g_names && (strcmp(a->name, b->name) != 0 || strcmp(a->exe, b->exe) != 0)) return false;
  return a->pid == b->pid && a->raw_pid == b->raw_pid && a->tid == b->tid && a->ppid == b->ppid &&
         a->proc_self == b->proc_self && a->proc_thread_self_tid == b->proc_thread_self_tid &&
         pthread_equal(a->self, b->self);
}

static long g_rounds;
static int64_t g_start;

struct ThreadRecord {
  int index;
  struct Identity before, after;
  long changes;
};

static void* watch(void* arg) {
  struct ThreadRecord* record = (struct ThreadRecord*)arg;
  char name[16];
  snprintf(name, sizeof name, "identity-%d", record->index);
  pthread_setname_np(pthread_self(), name);
  record->before = read_identity();
  record->changes = 0;
  for (long round = 0; round < g_rounds; ++round) {
    sleep_until_ns(g_start + (round + 1) * 25000000LL);
    struct Identity now = read_identity();
    if (!same(&now, &record->before)) ++record->changes;
    if (record->index == 0 && round % 5 == 0) progress("identity round", round);
  }
  record->after = read_identity();
  return NULL;
}

int main(int argc, char** argv) {
  int arg = 1;
  if (arg < argc && strcmp(argv[arg], "--names") == 0) {
    g_names = true;
    ++arg;
  }
  g_rounds = arg < argc ? parse_count(argv[arg], "ROUNDS") : 100;
  g_start = monotonic_ns();
  struct ThreadRecord records[kThreads];
  pthread_t threads[kThreads];
  /* record 0 is the main thread itself, started after the others */
  for (int i = 1; i < kThreads; ++i) {
    records[i].index = i;
    if (pthread_create(&threads[i], NULL, watch, &records[i]) != 0) die("pthread_create");
    sleep_ms(5); /* thread creation order = TID order */
  }
  records[0].index = 0;
  watch(&records[0]);
  for (int i = 1; i < kThreads; ++i) pthread_join(threads[i], NULL);

  int failures = 0;
  for (int i = 0; i < kThreads; ++i) {
    const struct ThreadRecord* r = &records[i];
    printf("thread %d: getpid %ld raw-getpid %ld gettid %ld getppid %ld /proc/self %ld "
           "/proc/thread-self %ld\n",
           i, r->after.pid, r->after.raw_pid, r->after.tid, r->after.ppid, r->after.proc_self,
           r->after.proc_thread_self_tid);
    if (g_names) {
      const char* slash = strrchr(r->after.exe, '/');
      printf("thread %d: name %s exe %s\n", i, r->after.name, slash != NULL ? slash + 1 : r->after.exe);
    }
    printf("thread %d: same before and after %s, changes seen %ld %s\n", i,
           verdict(same(&r->before, &r->after), &failures), r->changes,
           verdict(r->changes == 0, &failures));
    printf("thread %d: consistent %s\n", i,
           verdict(r->after.pid == r->after.raw_pid && r->after.pid == r->after.proc_self &&
                       r->after.tid == r->after.proc_thread_self_tid,
                   &failures));
  }
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
