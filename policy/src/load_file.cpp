#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ckpt/policy/policy.hpp"

namespace ckpt::policy {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

[[noreturn]] void fail_to_read(const std::filesystem::path& file, int error_number) {
  throw PolicyError(file.string() + ": cannot read policy: " + std::strerror(error_number));
}

}  // namespace

Policy load_policy_file(const std::filesystem::path& file) {
  errno = 0;
  const std::unique_ptr<std::FILE, FileCloser> stream(std::fopen(file.c_str(), "rb"));
  if (!stream) fail_to_read(file, errno);

  std::string text;
  char buffer[65536];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, stream.get())) > 0)
    text.append(buffer, count);
  if (std::ferror(stream.get())) fail_to_read(file, errno);
  return parse_policy(text, file.string());
}

}  // namespace ckpt::policy
