#include "program_check.hpp"

#include <elf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace ckpt::engine {
namespace {

std::string resolve(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::istringstream folders(path != nullptr ? path : "/usr/local/bin:/bin:/usr/bin");
  for (std::string folder; std::getline(folders, folder, ':');) {
    const std::string candidate = (folder.empty() ? "." : folder) + "/" + command;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// True when `path` is an ELF program without an interpreter (static).
bool is_static_elf(const std::string& path, std::string* interpreter) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(4096);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got >= 2 && head[0] == '#' && head[1] == '!') {
    std::istringstream line(std::string(head.data() + 2, got - 2));
    line >> *interpreter;
    return false;
  }
  Elf64_Ehdr header{};
  if (got < sizeof header) return false;
  std::memcpy(&header, head.data(), sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_phentsize != sizeof(Elf64_Phdr)) {
    return false;
  }
  bool dynamic_section = false;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program_header{};
    in.clear();
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof program_header));
    if (!in.read(reinterpret_cast<char*>(&program_header), sizeof program_header)) return false;
    if (program_header.p_type == PT_INTERP) return false;
    if (program_header.p_type == PT_DYNAMIC) dynamic_section = true;
  }
  return !(header.e_type == ET_DYN && dynamic_section);  // as the agent decides
}

}  // namespace

std::optional<std::string> static_program_refusal(const std::string& command) {
  const std::string path = resolve(command);
  if (path.empty()) return std::nullopt;
  std::string interpreter;
  std::string culprit = path;
  bool refused = is_static_elf(path, &interpreter);
  if (!refused && !interpreter.empty()) {
    std::string ignored;
    refused = is_static_elf(interpreter, &ignored);
    culprit = interpreter + " (the interpreter of " + path + ")";
  }
  if (!refused) return std::nullopt;
  return "cannot run " + culprit +
         ": statically linked programs cannot be checkpointed (the ckpt agent cannot be loaded "
         "into them); link it dynamically";
}

}  // namespace ckpt::engine
