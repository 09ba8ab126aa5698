#include "after_stop.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "stderr_line.hpp"

namespace ckpt::launcher {

int run_after_stop_hook(const std::optional<engine::StopReport>& report, int exit_code, const char* program) {
  const char* hook = std::getenv(kAfterStopVariable);
  if (!report || hook == nullptr || *hook == '\0') return exit_code;
  std::string outcome = report->committed ? "committed" : "failed";
  std::string generation = std::to_string(report->generation);
  std::string signal = std::to_string(report->signal);
  std::string code = std::to_string(exit_code);
  std::string hook_path = hook;
  std::string option = "--after-stop";
  char* argv[] = {hook_path.data(), option.data(), outcome.data(), generation.data(),
                  signal.data(),    code.data(),   nullptr};
  ::execv(hook, argv);
  engine::write_stderr_line(program, std::string("cannot run the after-stop program ") + hook + ": " +
                                         std::strerror(errno));
  return exit_code;
}

}  // namespace ckpt::launcher
