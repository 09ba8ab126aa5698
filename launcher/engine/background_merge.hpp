// after_chain = "merge": once a chain has its incremental_depth
// incrementals, `ckpt-merge IMAGE` folds it into a new full generation in
// a child process while the group runs on; the next checkpoint is an
// incremental on top of that full one (its content is exactly the newest
// generation's, so the reference of the dirty-page engines still holds).
// A checkpoint that comes while a merge runs waits for it first: both
// write the image.
#pragma once

#include <sys/types.h>

#include <string>

namespace ckpt::engine {

class BackgroundMerge {
 public:
  BackgroundMerge() = default;
  ~BackgroundMerge();
  BackgroundMerge(const BackgroundMerge&) = delete;
  BackgroundMerge& operator=(const BackgroundMerge&) = delete;

  // Starts `tool IMAGE` (its output discarded; errors reach our stderr).
  // Throws if it cannot be started.
  void start(const std::string& tool, const std::string& image_path);
  bool running() const { return pid_ > 0; }
  // Waits for the merge (if one runs): true if it succeeded, with a line
  // for the log in `outcome`.
  bool wait(std::string& outcome);
  // Without blocking: true once the merge ended (`outcome` and `ok` set).
  bool ended(std::string& outcome, bool& ok);

 private:
  bool finish(int status, std::string& outcome);
  pid_t pid_ = -1;
  double started_ = 0;
};

}  // namespace ckpt::engine
