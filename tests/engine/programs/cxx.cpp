// cxx: C++ runtime state across a checkpoint. std::thread workers throw and
// catch exceptions in tight loops (custom hierarchies, rethrow, nested
// exceptions, exception_ptr handed across threads through futures), with
// RTTI, virtual calls, std::function and containers; results are printed
// with iostreams at the end.
//
// usage: cxx [ROUNDS]   (default 100 rounds of 25 ms)
#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace {

constexpr int kWorkers = 3;

struct Base : std::runtime_error {
  std::uint64_t payload;
  Base(const std::string& what, std::uint64_t value) : std::runtime_error(what), payload(value) {}
  virtual int kind() const { return 0; }
};
struct Odd : Base {
  using Base::Base;
  int kind() const override { return 1; }
};
struct Big : Base {
  using Base::Base;
  int kind() const override { return 2; }
};

[[noreturn]] void thrower(std::uint64_t value, int depth) {
  if (depth > 0) {
    try {
      thrower(value + 1, depth - 1);
    } catch (const Odd&) {
      throw;  // rethrow through the frames
    } catch (const Big& big) {
      std::throw_with_nested(std::logic_error("wrapped " + std::to_string(big.payload % 1000)));
    }
  }
  if (value & 1) throw Odd("odd", value);
  if (value % 8 == 2) throw Big("big", value);
  throw std::out_of_range("range " + std::to_string(value % 97));
}

struct Counts {
  std::uint64_t odd = 0, big = 0, nested = 0, range = 0, digest = 0;
  std::map<std::string, int> messages;
};

void one_exception(std::uint64_t value, Counts& counts) {
  try {
    thrower(value, static_cast<int>((value >> 3) % 4));
  } catch (const Base& base) {  // Odd, and Big thrown without a wrapping frame
    const Base* pointer = &base;
    if (dynamic_cast<const Odd*>(pointer) != nullptr) ++counts.odd;
    if (dynamic_cast<const Big*>(pointer) != nullptr) ++counts.big;
    counts.digest = digest_add(counts.digest, base.payload * 3 + static_cast<std::uint64_t>(base.kind()));
  } catch (const std::out_of_range& range) {  // a logic_error: must come first
    ++counts.range;
    ++counts.messages[range.what()];
  } catch (const std::logic_error& wrapped) {
    ++counts.nested;
    counts.digest = digest_add(counts.digest, std::string(wrapped.what()).size());
    try {
      std::rethrow_if_nested(wrapped);
    } catch (const Big& inner) {
      counts.digest = digest_add(counts.digest, inner.payload);
    }
  }
}

long g_rounds = 100;
std::mutex g_print_lock;

Counts worker(int id, std::int64_t start) {
  Counts counts;
  std::vector<std::function<std::uint64_t(std::uint64_t)>> steps = {
      [](std::uint64_t v) { return v * 3 + 1; },
      [id](std::uint64_t v) { return v ^ static_cast<std::uint64_t>(id); },
      [](std::uint64_t v) { return mix64(v) % 100003; },
  };
  std::uint64_t value = static_cast<std::uint64_t>(id) * 1000;
  for (long round = 0; round < g_rounds; ++round) {
    for (int i = 0; i < 800; ++i) {
      value = steps[static_cast<std::size_t>(i) % steps.size()](value + static_cast<std::uint64_t>(i));
      one_exception(value, counts);
    }
    sleep_until_ns(start + (round + 1) * 25000000LL);
    if (id == 0 && round % 5 == 0) {
      std::lock_guard<std::mutex> guard(g_print_lock);
      progress("cxx round", round);
    }
  }
  if (id == kWorkers - 1) throw Big("worker failure", counts.digest);  // through the future
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_rounds = parse_count(argv[1], "ROUNDS");
  const std::int64_t start = monotonic_ns();
  std::vector<std::future<Counts>> futures;
  for (int id = 0; id < kWorkers; ++id) {
    std::packaged_task<Counts(int, std::int64_t)> task(worker);
    futures.push_back(task.get_future());
    std::thread(std::move(task), id, start).detach();
  }
  // a plain std::thread too, joined after the others
  std::uint64_t side = 0;
  std::thread side_thread([&side, start] {
    for (long round = 0; round < g_rounds; ++round) {
      std::exception_ptr saved;
      try {
        throw std::runtime_error("side " + std::to_string(round));
      } catch (...) {
        saved = std::current_exception();
      }
      try {
        std::rethrow_exception(saved);
      } catch (const std::runtime_error& error) {
        side += std::string(error.what()).size();
      }
      sleep_until_ns(start + (round + 1) * 25000000LL);
    }
  });

  int failures = 0;
  std::cout << "rounds " << g_rounds << " workers " << kWorkers << "\n";
  for (int id = 0; id < kWorkers; ++id) {
    try {
      Counts counts = futures[static_cast<std::size_t>(id)].get();
      std::cout << "worker " << id << " odd " << counts.odd << " big " << counts.big << " nested "
                << counts.nested << " range " << counts.range << " digest " << std::hex
                << std::setw(16) << std::setfill('0') << counts.digest << std::dec
                << " distinct-messages " << counts.messages.size();
      const auto most = std::max_element(counts.messages.begin(), counts.messages.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
      if (most != counts.messages.end()) std::cout << " most '" << most->first << "' x" << most->second;
      std::cout << "\n";
    } catch (const Big& big) {
      std::cout << "worker " << id << " threw through its future: " << big.what() << " kind "
                << big.kind() << " payload " << std::hex << std::setw(16) << std::setfill('0')
                << big.payload << std::dec << " " << verdict(id == kWorkers - 1, &failures) << "\n";
    }
  }
  side_thread.join();
  std::cout << "side thread exception_ptr total " << side << " "
            << verdict(side > static_cast<std::uint64_t>(g_rounds) * 6, &failures) << "\n";
  std::cout << "result " << (failures == 0 ? "ok" : "FAILED") << std::endl;
  return failures == 0 ? 0 : kExitCheckFailed;
}
