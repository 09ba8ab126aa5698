/* threads_sync: pthread mutexes, condition variables, recursive mutexes,
 * rwlocks, barriers, joins that happen after a restart, and pthread_cancel
 * of a thread that is blocked in a condition-variable wait the whole time.
 *
 * usage: threads_sync [ROUNDS]   (default 120) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>

#include "common.h"

enum { kWorkers = 4, kConsumers = 2, kQueueSize = 16, kItemPeriodMs = 2, kRoundMs = 20, kSteps = 100000 };

static long g_rounds;
static int64_t g_start_ns;
static long g_items;

/* --- workers: mutex, recursive mutex, rwlock, barriers ------------------ */
static pthread_mutex_t g_counter_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_counter;
static uint64_t g_counter_xor;
static pthread_mutex_t g_recursive;
static uint64_t g_recursive_counter;
static pthread_rwlock_t g_rwlock = PTHREAD_RWLOCK_INITIALIZER;
static uint64_t g_rw_value;
static uint64_t g_rw_reads;
static pthread_barrier_t g_barrier;
static uint64_t g_exchange[kWorkers];
static uint64_t g_worker_digest[kWorkers];
static int g_serial_returns;

static void recursive_add(int depth) {
  pthread_mutex_lock(&g_recursive);
  if (depth > 0) {
    recursive_add(depth - 1);
  } else {
    ++g_recursive_counter;
  }
  pthread_mutex_unlock(&g_recursive);
}

static void barrier_wait(void) {
  int rc = pthread_barrier_wait(&g_barrier);
  if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
    pthread_mutex_lock(&g_counter_lock);
    ++g_serial_returns;
    pthread_mutex_unlock(&g_counter_lock);
  } else if (rc != 0) {
    errno = rc;
    die("pthread_barrier_wait");
  }
}

static void* worker(void* arg) {
  const int self = (int)(intptr_t)arg;
  uint64_t h = mix64((uint64_t)self);
  for (long round = 0; round < g_rounds; ++round) {
    for (int i = 0; i < kSteps; ++i) {
      h = mix64(h + (uint64_t)i + (uint64_t)round);
      if ((i & 63) == 0) {
        pthread_mutex_lock(&g_counter_lock);
        ++g_counter;
        g_counter_xor ^= h;
        pthread_mutex_unlock(&g_counter_lock);
      }
      if ((i & 1023) == 0) recursive_add(3);
      if ((i & 4095) == 0) {
        if (self == 0) {
          pthread_rwlock_wrlock(&g_rwlock);
          g_rw_value += (uint64_t)round;
          pthread_rwlock_unlock(&g_rwlock);
        } else {
          pthread_rwlock_rdlock(&g_rwlock);
          uint64_t seen = g_rw_value; /* value itself is timing dependent */
          (void)seen;
          __atomic_fetch_add(&g_rw_reads, 1, __ATOMIC_RELAXED);
          pthread_rwlock_unlock(&g_rwlock);
        }
      }
    }
    /* pace the rounds so that the workers span the whole run: the others
     * wait in the barrier meanwhile */
    if (self == 0) sleep_until_ns(g_start_ns + (round + 1) * (int64_t)kRoundMs * 1000000);
    /* exchange with the neighbour through two barriers per round */
    g_exchange[self] = h;
    barrier_wait();
    h = digest_add(h, g_exchange[(self + 1) % kWorkers]);
    barrier_wait();
    if (self == 0 && round % 5 == 0) progress("threads_sync round", round);
  }
  g_worker_digest[self] = h;
  return NULL;
}

/* --- producer/consumers through a bounded queue (condvars) ---------------- */
static pthread_mutex_t g_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_not_full = PTHREAD_COND_INITIALIZER;
static int64_t g_queue[kQueueSize];
static int g_queue_head, g_queue_count;
static uint64_t g_consumed_sum, g_consumed_xor, g_consumed_count;

static void queue_push(int64_t item) {
  pthread_mutex_lock(&g_queue_lock);
  while (g_queue_count == kQueueSize) pthread_cond_wait(&g_not_full, &g_queue_lock);
  g_queue[(g_queue_head + g_queue_count) % kQueueSize] = item;
  ++g_queue_count;
  pthread_cond_signal(&g_not_empty);
  pthread_mutex_unlock(&g_queue_lock);
}

static int64_t queue_pop(void) {
  pthread_mutex_lock(&g_queue_lock);
  while (g_queue_count == 0) pthread_cond_wait(&g_not_empty, &g_queue_lock);
  int64_t item = g_queue[g_queue_head];
  g_queue_head = (g_queue_head + 1) % kQueueSize;
  --g_queue_count;
  pthread_cond_signal(&g_not_full);
  pthread_mutex_unlock(&g_queue_lock);
  return item;
}

static void* producer(void* arg) {
  (void)arg;
  int64_t next = g_start_ns;
  for (long i = 0; i < g_items; ++i) {
    next += (int64_t)kItemPeriodMs * 1000000;
    sleep_until_ns(next);
    queue_push((int64_t)(mix64((uint64_t)i) >> 1));
  }
  for (int c = 0; c < kConsumers; ++c) queue_push(-1);
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  for (;;) {
    int64_t item = queue_pop();
    if (item < 0) return NULL;
    pthread_mutex_lock(&g_counter_lock);
    g_consumed_sum += (uint64_t)item;
    g_consumed_xor ^= (uint64_t)item;
    ++g_consumed_count;
    pthread_mutex_unlock(&g_counter_lock);
  }
}

/* --- a thread blocked in a condvar wait until it is cancelled ------------- */
static pthread_mutex_t g_never_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_never_cond = PTHREAD_COND_INITIALIZER;
static bool g_never = false;
static volatile int g_waiter_started;
static volatile int g_cleanup_ran;

static void waiter_cleanup(void* arg) {
  (void)arg;
  g_cleanup_ran = 1;
  pthread_mutex_unlock(&g_never_lock);
}

static void* blocked_waiter(void* arg) {
  (void)arg;
  pthread_mutex_lock(&g_never_lock);
  g_waiter_started = 1;
  pthread_cleanup_push(waiter_cleanup, NULL);
  while (!g_never) pthread_cond_wait(&g_never_cond, &g_never_lock);
  pthread_cleanup_pop(1);
  return NULL;
}

int main(int argc, char** argv) {
  g_rounds = argc > 1 ? parse_count(argv[1], "ROUNDS") : 120;
  g_items = g_rounds * kRoundMs / kItemPeriodMs;
  g_start_ns = monotonic_ns();
  int failures = 0;

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g_recursive, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_barrier_init(&g_barrier, NULL, kWorkers);

  pthread_t waiter, workers[kWorkers], prod, consumers[kConsumers];
  if (pthread_create(&waiter, NULL, blocked_waiter, NULL) != 0) die("pthread_create");
  for (int t = 0; t < kWorkers; ++t) {
    if (pthread_create(&workers[t], NULL, worker, (void*)(intptr_t)t) != 0) die("pthread_create");
  }
  if (pthread_create(&prod, NULL, producer, NULL) != 0) die("pthread_create");
  for (int c = 0; c < kConsumers; ++c) {
    if (pthread_create(&consumers[c], NULL, consumer, NULL) != 0) die("pthread_create");
  }

  /* main blocks in joins across the checkpoint */
  for (int t = 0; t < kWorkers; ++t) pthread_join(workers[t], NULL);
  pthread_join(prod, NULL);
  for (int c = 0; c < kConsumers; ++c) pthread_join(consumers[c], NULL);

  while (!g_waiter_started) sleep_ms(1);
  pthread_cancel(waiter);
  void* waiter_result = NULL;
  pthread_join(waiter, &waiter_result);
  const bool canceled = waiter_result == PTHREAD_CANCELED;
  const bool mutex_free = pthread_mutex_trylock(&g_never_lock) == 0;
  if (mutex_free) pthread_mutex_unlock(&g_never_lock);

  uint64_t digest = 0;
  for (int t = 0; t < kWorkers; ++t) digest = digest_add(digest, g_worker_digest[t]);
  const uint64_t expected_counter = (uint64_t)kWorkers * (uint64_t)g_rounds * (kSteps / 64 + 1);
  const uint64_t expected_recursive = (uint64_t)kWorkers * (uint64_t)g_rounds * (kSteps / 1024 + 1);
  const uint64_t expected_reads = (uint64_t)(kWorkers - 1) * (uint64_t)g_rounds * (kSteps / 4096 + 1);
  uint64_t expected_rw_value = 0;
  for (long round = 0; round < g_rounds; ++round) expected_rw_value += (uint64_t)round * (kSteps / 4096 + 1);
  uint64_t expected_sum = 0, expected_xor = 0;
  for (long i = 0; i < g_items; ++i) {
    uint64_t item = mix64((uint64_t)i) >> 1;
    expected_sum += item;
    expected_xor ^= item;
  }

#define CHECK(cond) verdict((cond), &failures)
  printf("rounds %ld workers %d\n", g_rounds, kWorkers);
  printf("worker digest %016llx\n", (unsigned long long)digest);
  printf("mutex counter %llu %s\n", (unsigned long long)g_counter, CHECK(g_counter == expected_counter));
  printf("mutex xor %016llx\n", (unsigned long long)g_counter_xor);
  printf("recursive counter %llu %s\n", (unsigned long long)g_recursive_counter,
         CHECK(g_recursive_counter == expected_recursive));
  printf("rwlock value %llu reads %llu %s\n", (unsigned long long)g_rw_value,
         (unsigned long long)g_rw_reads,
         CHECK(g_rw_value == expected_rw_value && g_rw_reads == expected_reads));
  printf("barrier serial returns %d %s\n", g_serial_returns, CHECK(g_serial_returns == 2 * g_rounds));
  printf("queue items %llu sum %016llx xor %016llx %s\n", (unsigned long long)g_consumed_count,
         (unsigned long long)g_consumed_sum, (unsigned long long)g_consumed_xor,
         CHECK(g_consumed_count == (uint64_t)g_items && g_consumed_sum == expected_sum &&
               g_consumed_xor == expected_xor));
  printf("cancel canceled %s cleanup %s mutex-free %s\n", CHECK(canceled), CHECK(g_cleanup_ran),
         CHECK(mutex_free));
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
