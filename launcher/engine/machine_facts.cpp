#include "machine_facts.hpp"

#include <sys/utsname.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "process_capture.hpp"

namespace ckpt::engine {
namespace {

std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(colon + 2);
    }
  }
  return "";
}

std::string kernel_release() {
  utsname name{};
  ::uname(&name);
  return name.release;
}

std::set<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> result;
  for (std::string word; in >> word;) result.insert(word);
  return result;
}

std::uint64_t own_vdso_bytes() {
  for (const auto& region : read_memory_map(::getpid())) {
    if (region.path == "[vdso]") return region.end - region.start;
  }
  return 0;
}

}  // namespace

void record_machine_facts(CkptProcessFacts& facts, std::uint64_t vdso_bytes) {
  const std::string release = kernel_release();
  std::strncpy(facts.kernel_release, release.c_str(), sizeof facts.kernel_release - 1);
  const std::string flags = cpu_flags();
  std::strncpy(facts.cpu_flags, flags.c_str(), sizeof facts.cpu_flags - 1);
  facts.vdso_bytes = vdso_bytes;
}

std::optional<std::string> incompatibility(const CkptProcessFacts& facts) {
  const std::string saved_release(facts.kernel_release,
                                  strnlen(facts.kernel_release, sizeof facts.kernel_release));
  if (saved_release != kernel_release()) {
    return "the checkpoint was taken on kernel " + saved_release + ", this machine runs " +
           kernel_release() + " (the vDSO and kernel ABI details differ)";
  }
  const auto saved = words(std::string(facts.cpu_flags, strnlen(facts.cpu_flags, sizeof facts.cpu_flags)));
  const auto here = words(cpu_flags());
  std::string missing;
  for (const auto& flag : saved) {
    if (!here.contains(flag)) missing += (missing.empty() ? "" : " ") + flag;
  }
  if (!missing.empty()) return "this CPU lacks features the checkpointed process may use: " + missing;
  if (facts.vdso_bytes != 0 && facts.vdso_bytes != own_vdso_bytes()) {
    return "the vDSO differs in size from the checkpointed one";
  }
  return std::nullopt;
}

}  // namespace ckpt::engine
