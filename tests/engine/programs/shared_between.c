/* shared_between: memory shared by a parent and its forked children must
 * stay shared after a restart.
 *
 * Before forking, the parent maps
 *   - anonymous shared memory (mmap MAP_SHARED|MAP_ANONYMOUS) holding a
 *     process-shared pthread mutex, a counter and per-child counters;
 *   - an unlinked /dev/shm file (shm_open + shm_unlink, as Python's
 *     multiprocessing does for its semaphores) holding a process-shared
 *     sem_t and a counter;
 *   - a two-page memfd, mapped three times: page 0 twice (views A and B:
 *     one object mapped twice in one process) and page 1 on its own.
 * Three children then run a fixed number of rounds (~3 s): each round
 * increments the anonymous counters under the mutex, the /dev/shm counter
 * under the semaphore, and atomic counters in the memfd through view A or
 * B (alternately) and through the page-1 mapping. Meanwhile the parent
 * writes through view A and reads back through view B. Each child finally
 * counts itself as finished and waits until the parent releases it.
 *
 * If, after a restart, a mapping is no longer the same memory in every
 * process, the parent misses the children's increments (wrong totals), a
 * child never sees the release or a lock stays taken (timeouts, exit 1), or
 * view B does not show what view A wrote. The parent and each child also
 * count their descriptors: a memfd left behind by the restart shows up.
 *
 * stdout (at the end only): totals and checks, children's exit statuses.
 * usage: shared_between [ROUNDS]   (default 2500, ~3 s) */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

enum { kChildren = 3, kPage = 4096, kTimeoutSeconds = 20 };

struct Arena { /* anonymous shared memory */
  pthread_mutex_t lock;
  uint64_t counter;
  uint64_t per_child[kChildren];
  uint32_t finished;
  uint32_t release;
};

struct ShmArea { /* the unlinked /dev/shm file */
  sem_t semaphore;
  uint64_t counter;
};

struct MemfdPage { /* a page of the memfd */
  uint64_t counter;
  uint64_t parent_sequence;
};

static struct Arena* g_arena;
static struct ShmArea* g_shm;
static struct MemfdPage *g_view_a, *g_view_b, *g_page1;

static int64_t deadline(void) {
  return monotonic_ns() + (int64_t)kTimeoutSeconds * 1000000000;
}

static struct timespec absolute_realtime_deadline(void) {
  struct timespec at;
  clock_gettime(CLOCK_REALTIME, &at);
  at.tv_sec += kTimeoutSeconds;
  return at;
}

static void timed_out(const char* what) {
  fprintf(stderr, "shared_between: %s timed out: the memory is not shared any more\n", what);
  exit(kExitCheckFailed);
}

static void lock_arena(void) {
  const struct timespec at = absolute_realtime_deadline();
  int rc = pthread_mutex_timedlock(&g_arena->lock, &at);
  if (rc == ETIMEDOUT) timed_out("the anonymous shared mutex");
  if (rc != 0) {
    errno = rc;
    die("pthread_mutex_timedlock");
  }
}

static void unlock_arena(void) {
  pthread_mutex_unlock(&g_arena->lock);
}

static void wait_semaphore(void) {
  const struct timespec at = absolute_realtime_deadline();
  while (sem_timedwait(&g_shm->semaphore, &at) != 0) {
    if (errno == ETIMEDOUT) timed_out("the /dev/shm semaphore");
    if (errno != EINTR) die("sem_timedwait");
  }
}

/* Descriptors below the agent's (1000), without the one reading the folder. */
static int count_descriptors(void) {
  DIR* folder = opendir("/proc/self/fd");
  if (!folder) die("opendir /proc/self/fd");
  int count = 0;
  struct dirent* entry;
  while ((entry = readdir(folder)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = atoi(entry->d_name);
    if (fd < 1000 && fd != dirfd(folder)) ++count;
  }
  closedir(folder);
  return count;
}

static void* map_shared(size_t length, int fd, off_t offset) {
  void* at = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0),
                  fd, offset);
  if (at == MAP_FAILED) die("mmap");
  return at;
}

static void setup(void) {
  g_arena = map_shared(kPage, -1, 0);
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (pthread_mutex_init(&g_arena->lock, &attributes) != 0) die("pthread_mutex_init");
  pthread_mutexattr_destroy(&attributes);

  char name[64];
  snprintf(name, sizeof name, "/ckpt-shared-between-%d", (int)getpid());
  const int shm = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (shm < 0) die("shm_open");
  if (shm_unlink(name) != 0) die("shm_unlink");
  if (ftruncate(shm, kPage) != 0) die("ftruncate shm");
  g_shm = map_shared(kPage, shm, 0);
  close(shm);
  if (sem_init(&g_shm->semaphore, 1, 1) != 0) die("sem_init");

  const int memfd = memfd_create("shared-between", MFD_CLOEXEC);
  if (memfd < 0) die("memfd_create");
  if (ftruncate(memfd, 2 * kPage) != 0) die("ftruncate memfd");
  g_view_a = map_shared(kPage, memfd, 0);
  g_page1 = map_shared(kPage, memfd, kPage);
  g_view_b = map_shared(kPage, memfd, 0);
  close(memfd);
}

static void child_main(int index, long rounds) {
  for (long round = 0; round < rounds; ++round) {
    lock_arena();
    const uint64_t seen = g_arena->counter;
    g_arena->per_child[index]++;
    g_arena->counter = seen + 1; /* a read-modify-write only the mutex keeps exact */
    unlock_arena();

    wait_semaphore();
    g_shm->counter += (uint64_t)index + 1;
    sem_post(&g_shm->semaphore);

    __atomic_fetch_add(round % 2 ? &g_view_a->counter : &g_view_b->counter, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_page1->counter, 1, __ATOMIC_RELAXED);
    if (index == 0 && round % 250 == 0) progress("shared_between", round);
    sleep_ms(1);
  }
  lock_arena();
  g_arena->finished++;
  unlock_arena();
  const int64_t limit = deadline();
  while (__atomic_load_n(&g_arena->release, __ATOMIC_ACQUIRE) == 0) {
    if (monotonic_ns() > limit) timed_out("waiting for the parent's release");
    sleep_ms(5);
  }
  exit(count_descriptors());
}

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 2500;
  setup();
  pid_t children[kChildren];
  for (int i = 0; i < kChildren; ++i) {
    children[i] = fork();
    if (children[i] < 0) die("fork");
    if (children[i] == 0) child_main(i, rounds);
  }

  /* One object mapped twice here: what view A gets, view B shows. */
  int failures = 0;
  bool views_agree = true;
  const int64_t limit = deadline();
  for (uint64_t sequence = 1;; ++sequence) {
    __atomic_store_n(&g_view_a->parent_sequence, sequence, __ATOMIC_RELEASE);
    if (__atomic_load_n(&g_view_b->parent_sequence, __ATOMIC_ACQUIRE) != sequence)
      views_agree = false;
    lock_arena();
    const uint32_t finished = g_arena->finished;
    unlock_arena();
    if (finished == kChildren) break;
    if (monotonic_ns() > limit) timed_out("waiting for the children to finish");
    sleep_ms(20);
  }
  __atomic_store_n(&g_arena->release, 1, __ATOMIC_RELEASE);

  int statuses[kChildren];
  for (int i = 0; i < kChildren; ++i) {
    if (waitpid(children[i], &statuses[i], 0) != children[i]) die("waitpid");
  }

  const uint64_t expected = (uint64_t)kChildren * (uint64_t)rounds;
  printf("anonymous counter %llu of %llu: %s\n", (unsigned long long)g_arena->counter,
         (unsigned long long)expected, verdict(g_arena->counter == expected, &failures));
  for (int i = 0; i < kChildren; ++i) {
    printf("child %d rounds %llu: %s\n", i, (unsigned long long)g_arena->per_child[i],
           verdict(g_arena->per_child[i] == (uint64_t)rounds, &failures));
  }
  const uint64_t shm_expected = (uint64_t)rounds * (kChildren * (kChildren + 1) / 2);
  printf("/dev/shm counter %llu of %llu: %s\n", (unsigned long long)g_shm->counter,
         (unsigned long long)shm_expected, verdict(g_shm->counter == shm_expected, &failures));
  printf("memfd counter (views A, B) %llu %llu of %llu: %s\n",
         (unsigned long long)g_view_a->counter, (unsigned long long)g_view_b->counter,
         (unsigned long long)expected,
         verdict(g_view_a->counter == expected && g_view_b->counter == expected, &failures));
  printf("memfd page 1 counter %llu of %llu: %s\n", (unsigned long long)g_page1->counter,
         (unsigned long long)expected, verdict(g_page1->counter == expected, &failures));
  printf("one object mapped twice in one process: %s\n", verdict(views_agree, &failures));
  printf("parent descriptors %d\n", count_descriptors());
  for (int i = 0; i < kChildren; ++i) {
    const int status = statuses[i];
    printf("child %d: %s %d\n", i, WIFEXITED(status) ? "descriptors" : "killed by signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
  printf("%s\n", failures == 0 ? "all checks passed" : "CHECKS FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
