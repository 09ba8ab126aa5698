// The storage (file) checkpoint taken with every memory checkpoint: the
// files the group may have changed are saved as they are at the
// checkpoint instant (the group is stopped), and a restart rolls them back
// before any process runs, so a restarted run never sees what the killed
// run wrote after its checkpoint.
//
// Which files: every file registered in an agent's in-flight file-operation
// table since the group started (file_wrappers.cpp: opened for writing,
// created, truncated, renamed, unlinked), every regular file a process
// holds open for writing, and every file under the policy's include
// folders; minus the policy's exclude paths, the image itself, /proc,
// /sys and /dev. A file that no longer exists is recorded as deleted (a
// restart removes it); an include folder is recorded as a directory (a
// restart removes files created in it after the checkpoint).
// Every generation is full today, so every tracked file is saved whole
// each time (written ranges come with incremental generations).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "chain.hpp"
#include "generation_writer.hpp"

namespace ckpt::engine {

struct StorageStats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t deleted = 0;
};

class StorageCheckpoint {
 public:
  // Paths absolute; `image_path` and its folder of generations are never saved.
  StorageCheckpoint(std::vector<std::string> include, std::vector<std::string> exclude,
                    const std::string& image_path);

  // After a restart: the files of the checkpoint stay tracked.
  void seed(const image::ResolvedChain& chain);
  // While the group is stopped: files registered by the agent at
  // `agent_state` in process `outer_pid` (the table is emptied) and the
  // files it holds open for writing. Returns a warning, or "".
  std::string collect(pid_t outer_pid, std::uint64_t agent_state);
  // Writes the storage section of the generation (before its processes).
  StorageStats write(image::GenerationWriter& writer) const;

 private:
  bool saved(const std::string& path) const;
  void track(const std::string& path);

  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  std::string image_path_;
  std::set<std::string> tracked_;
};

struct RollbackStats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t removed = 0;
};

// Restart: puts every file of the chain's storage checkpoint back to its
// saved content, size and mode; removes files recorded as deleted and
// files created in recorded directories after the checkpoint. Throws with
// one line naming the file on failure.
RollbackStats roll_back_files(const image::ResolvedChain& chain);

}  // namespace ckpt::engine
