// The `hash` dirty-page engine: a 64-bit xxh3 of every page saved in the
// last committed generation, per process. An incremental generation stores
// only the pages whose hash differs (or that are new); the complete region
// map is written either way, so a restart resolves the chain without the
// live process. No cost while the application runs; the price is reading
// every page at each checkpoint (which a full checkpoint does anyway).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace ckpt::engine {

// The hashes of one process: built while it is captured (addresses
// ascending), compared with those of the previous generation.
class ProcessPageHashes {
 public:
  explicit ProcessPageHashes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>* previous)
      : previous_(previous) {}
  // Records the page's hash; true if the page must be stored (it changed,
  // or the previous generation did not have it).
  bool changed(std::uint64_t address, const std::byte* page);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> take() { return std::move(current_); }

 private:
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>* previous_;
  std::size_t cursor_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> current_;
};

class PageHashes {
 public:
  // For the capture of process `pid` (its PID inside the group).
  ProcessPageHashes begin(pid_t pid) const;
  // The process was captured into the generation being written.
  void finish(pid_t pid, ProcessPageHashes& process) { pending_[pid] = process.take(); }
  // The generation committed: its hashes become the reference.
  void commit() {
    committed_ = std::move(pending_);
    pending_.clear();
    valid_ = true;
  }
  // The generation failed: the reference stays the last committed one.
  void discard() { pending_.clear(); }
  // Whether an incremental generation can be built (a generation of this
  // run was committed; after a restart the first one is full).
  bool valid() const { return valid_; }

 private:
  std::map<pid_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> committed_, pending_;
  bool valid_ = false;
};

}  // namespace ckpt::engine
