// One message line on stderr, "PROGRAM: MESSAGE\n", in a single write():
// the application shares our stderr, and its lines must not cut ours.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

namespace ckpt::engine {

inline void write_stderr_line(std::string_view program, std::string_view message) {
  std::string line;
  line.reserve(program.size() + message.size() + 3);
  line.append(program).append(": ").append(message).push_back('\n');
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t wrote = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (wrote <= 0) return;
    done += static_cast<std::size_t>(wrote);
  }
}

}  // namespace ckpt::engine
