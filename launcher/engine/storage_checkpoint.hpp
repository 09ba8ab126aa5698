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
// A full generation saves every tracked file whole. An incremental one
// saves only the byte ranges written since the previous generation, as
// the agents tell them (file_spans.cpp: descriptor spans read while the
// group is stopped, plus reports sent at any time), and a file whole when
// the ranges cannot be trusted: new or replaced (another inode), written
// through a shared writable mapping or a read-write stdio stream, written
// through a descriptor the agent did not see, or changed (size, times)
// with no range known; also after a process died without reporting.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "chain.hpp"
#include "channel.hpp"
#include "generation_writer.hpp"

namespace ckpt::engine {

struct StorageStats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t deleted = 0;
  std::uint64_t ranged = 0;  // of `files`: saved as written ranges
};

// Byte ranges [first, second) of a file.
using ByteRanges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// What happened to the files since the last committed generation.
struct WrittenSince {
  struct Key {
    std::uint64_t dev = 0, ino = 0;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, ByteRanges> ranges;
  std::map<Key, std::uint64_t> smallest_size;  // truncations
  std::set<Key> unsure;
  bool lost_writer = false;  // a process ended without reporting
  void merge(WrittenSince&& other);
};

// What a file looked like when it was saved (or found unchanged).
struct FileState {
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  std::uint32_t mode = 0;
  bool operator==(const FileState&) const = default;
};

struct WritableFile;  // storage_checkpoint.cpp

class StorageCheckpoint : public ReportSink {
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
  // Writes the storage section of the generation (before its processes):
  // with `incremental`, only what changed since the last committed one.
  StorageStats write(image::GenerationWriter& writer, bool incremental);
  // The generation committed / failed (its changes count for the next).
  void commit();
  void discard();

  // Once the group has ended (exited, or stopped after its checkpoint):
  // the tracked files as they are now, next to the image
  // (IMAGE.h5.d/files-seen), so that a restart after `generation` can tell
  // which of them someone else changed since.
  void record_files_seen(const std::string& image_path, std::uint64_t generation) const;

  // A report from an agent (any time; also from a process now gone).
  void file_report(pid_t sender, const std::vector<std::byte>& message) override;
  // The process's control socket closed.
  void process_ended(pid_t outer_pid);

 private:
  bool saved(const std::string& path) const;
  void track(const std::string& path);
  void collect_spans(pid_t outer_pid, std::uint64_t agent_state,
                     const std::vector<WritableFile>& writable);

  WrittenSince current_, pending_;
  std::map<std::string, FileState> committed_states_, pending_states_;
  std::set<pid_t> exited_;

  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  std::string image_path_;
  std::set<std::string> tracked_;
};

struct RollbackStats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t removed = 0;
  std::vector<std::string> changed_outside;  // since the group ended (files-seen)
};

// What a restart does with a file someone outside the group changed
// after the group ended (policy [storage] on_external_change).
enum class ExternalChange { kRollBack, kKeep, kRefuse };

// Restart: puts every file of the chain's storage checkpoint back to its
// saved content, size and mode; removes files recorded as deleted and
// files created in recorded directories after the checkpoint. A file that
// changed since the group ended (IMAGE.h5.d/files-seen, when it belongs to
// the chain's newest generation) is rolled back too, kept as it is, or
// makes the restart fail before anything is touched, as `action` says.
// Throws with one line naming the file on failure.
RollbackStats roll_back_files(const image::ResolvedChain& chain, const std::string& image_path,
                              ExternalChange action);

}  // namespace ckpt::engine
