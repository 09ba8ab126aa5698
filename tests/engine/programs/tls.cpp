// tls: __thread and thread_local variables (initial-exec in the program,
// dynamic in a shared library), C++ thread_local objects with constructors
// and destructors, pthread keys with destructors, and errno (TLS too).
// Destructors print to stdout in a fixed order: each thread waits for its
// turn before it exits, and its pthread key destructor (the last thing a
// thread runs) passes the turn on.
//
// usage: tls [ROUNDS]   (default 100)
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common.h"
#include "tls_lib.hpp"

namespace {

constexpr int kThreads = 4;
long g_rounds = 100;

__thread std::uint64_t t_plain = 7;           // GNU __thread, static TLS
thread_local std::uint64_t t_counter = 0;     // C++11 thread_local, trivial
thread_local char t_buffer[256];              // TLS array, .tbss

std::mutex g_turn_lock;
std::condition_variable g_turn_changed;
int g_turn = 0;

// A thread_local object with a non-trivial constructor and destructor
// (registered through __cxa_thread_atexit when first used).
struct Tracker {
  int id = -1;
  std::uint64_t value = 0;
  std::string history;  // heap memory owned by the thread
  Tracker() { history = "tracker"; }
  ~Tracker() {
    std::printf("thread %d tracker destroyed: value %016llx history-length %zu\n", id,
                static_cast<unsigned long long>(value), history.size());
  }
};
thread_local Tracker t_tracker;

pthread_key_t g_key;
std::mutex g_key_lock;
std::vector<std::string> g_key_destroyed;

// Runs after the thread's thread_local destructors (glibc order), so it is
// the one that passes the exit turn on to the next thread.
void key_destructor(void* value) {
  auto* text = static_cast<std::string*>(value);
  {
    std::lock_guard<std::mutex> guard(g_key_lock);
    g_key_destroyed.push_back(*text);
  }
  delete text;
  std::lock_guard<std::mutex> guard(g_turn_lock);
  ++g_turn;
  g_turn_changed.notify_all();
}

struct ThreadResult {
  std::uint64_t digest = 0;
  bool addresses_stable = false;
  bool errno_ok = false;
  bool key_ok = false;
  std::uint64_t library_counter = 0;
};

std::uint64_t one_round(int id, long round) {
  std::uint64_t h = t_counter;
  for (int i = 0; i < 200000; ++i) {
    ++t_counter;
    t_plain = mix64(t_plain + static_cast<std::uint64_t>(i));
    t_buffer[i & 255] = static_cast<char>(t_plain);
    if ((i & 255) == 0) h = tls_lib_step(t_plain ^ h);
  }
  t_tracker.value = digest_add(t_tracker.value, t_plain ^ h);
  if ((round & 15) == 0) t_tracker.history += "+" + std::to_string(round);
  (void)id;
  return h;
}

void thread_body(int id, ThreadResult* result) {
  t_tracker.id = id;
  t_plain = mix64(static_cast<std::uint64_t>(id));
  pthread_setspecific(g_key, new std::string("key of thread " + std::to_string(id)));
  const void* plain_address = &t_plain;
  const void* tracker_address = &t_tracker;
  const void* errno_address = &errno;
  const pthread_t self = pthread_self();
  const long tid = syscall(SYS_gettid);

  const std::int64_t start = monotonic_ns();
  std::uint64_t digest = 0;
  for (long round = 0; round < g_rounds; ++round) {
    digest = digest_add(digest, one_round(id, round));
    // pace the rounds: ~25 ms each, sleeping between them
    sleep_until_ns(start + (round + 1) * 25000000LL);
    if (id == 0 && round % 5 == 0) progress("tls round", round);
  }
  for (int i = 0; i < 256; ++i) digest = digest_add(digest, static_cast<unsigned char>(t_buffer[i]));

  errno = 0;
  const bool failed = close(-1) != 0;
  result->errno_ok = failed && errno == EBADF && errno_address == &errno;
  result->addresses_stable = plain_address == &t_plain && tracker_address == &t_tracker &&
                             pthread_equal(self, pthread_self()) && tid == syscall(SYS_gettid);
  auto* mine = static_cast<std::string*>(pthread_getspecific(g_key));
  result->key_ok = mine != nullptr && *mine == "key of thread " + std::to_string(id);
  result->library_counter = tls_lib_counter();
  result->digest = digest_add(digest, t_counter);

  // exit in order: thread id waits until thread id-1's destructor ran
  std::unique_lock<std::mutex> lock(g_turn_lock);
  g_turn_changed.wait(lock, [id] { return g_turn == id; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_rounds = parse_count(argv[1], "ROUNDS");
  pthread_key_create(&g_key, key_destructor);
  t_tracker.id = -1;  // main's tracker is destroyed at exit()
  t_tracker.value = 42;

  std::vector<ThreadResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(thread_body, id, &results[id]);
  for (auto& thread : threads) thread.join();

  int failures = 0;
  std::printf("rounds %ld threads %d\n", g_rounds, kThreads);
  for (int id = 0; id < kThreads; ++id) {
    const ThreadResult& r = results[id];
    std::printf("thread %d digest %016llx library-calls %llu addresses %s errno %s key %s\n", id,
                static_cast<unsigned long long>(r.digest),
                static_cast<unsigned long long>(r.library_counter),
                verdict(r.addresses_stable, &failures), verdict(r.errno_ok, &failures),
                verdict(r.key_ok, &failures));
  }
  std::printf("key destructors ran in order:");
  for (const auto& text : g_key_destroyed) std::printf(" [%s]", text.c_str());
  std::printf(" %s\n", verdict(g_key_destroyed.size() == kThreads, &failures));
  std::printf("main thread values plain %llu counter %llu library-calls %llu\n",
              static_cast<unsigned long long>(t_plain), static_cast<unsigned long long>(t_counter),
              static_cast<unsigned long long>(tls_lib_counter()));
  std::printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  // main's thread_local Tracker prints its line after this, during exit()
  return failures == 0 ? 0 : kExitCheckFailed;
}
