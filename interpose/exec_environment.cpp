// The environment of programs started by checkpointed processes, and the
// refusal of statically linked programs (see exec_environment.hpp).
#include "exec_environment.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "agent.hpp"
#include "file_spans.hpp"
#include "outside_signals.hpp"
#include "raw_syscall.hpp"

extern char** environ;

namespace ckpt::agent {
namespace {

constexpr char kRseqOff[] = "glibc.pthread.rseq=0";

bool starts_with(const char* text, const char* prefix) {
  while (*prefix != '\0') {
    if (*text++ != *prefix++) return false;
  }
  return true;
}

bool contains_text(const char* text, const char* part) {
  for (; *text != '\0'; ++text) {
    if (starts_with(text, part)) return true;
  }
  return false;
}

// Appends `text` at `out`; returns the position after it.
char* append(char* out, const char* text) {
  while (*text != '\0') *out++ = *text++;
  return out;
}

const char* value_of(char* const* environment, const char* name_equals) {
  for (unsigned long i = 0; environment != nullptr && environment[i] != nullptr; ++i) {
    if (starts_with(environment[i], name_equals)) return environment[i] + string_length(name_equals);
  }
  return nullptr;
}

bool ours(const char* entry) {
  return starts_with(entry, "LD_PRELOAD=") || starts_with(entry, "GLIBC_TUNABLES=") ||
         starts_with(entry, CKPT_ENV_CONTROL_FD "=") || starts_with(entry, CKPT_ENV_AGENT_SOCKET "=");
}

// LD_PRELOAD value: the agent first, then the caller's other entries.
char* write_preload(char* out, const char* caller) {
  out = append(out, "LD_PRELOAD=");
  out = append(out, g_state.library);
  if (caller == nullptr) return out;
  const unsigned long own = string_length(g_state.library);
  for (const char* entry = caller; *entry != '\0';) {
    const char* end = entry;
    while (*end != '\0' && *end != ':' && *end != ' ') ++end;
    const unsigned long length = static_cast<unsigned long>(end - entry);
    bool same = length == own;
    for (unsigned long i = 0; same && i < length; ++i) same = entry[i] == g_state.library[i];
    if (length > 0 && !same) {
      *out++ = ':';
      for (unsigned long i = 0; i < length; ++i) *out++ = entry[i];
    }
    entry = *end == '\0' ? end : end + 1;
  }
  return out;
}

bool read_at(int fd, void* out, unsigned long size, long offset) {
  return sys(SYS_pread64, fd, out, size, offset) == static_cast<long>(size);
}

enum class ProgramKind { kDynamic, kStatic, kScript, kUnknown };

// Reads the start of the program: ELF without an interpreter = static.
ProgramKind program_kind(int fd, char* interpreter, unsigned long capacity) {
  unsigned char head[256] = {};
  const long got = sys(SYS_pread64, fd, head, sizeof head - 1, 0);
  if (got >= 2 && head[0] == '#' && head[1] == '!') {
    long i = 2;
    while (i < got && (head[i] == ' ' || head[i] == '\t')) ++i;
    unsigned long length = 0;
    while (i < got && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && length + 1 < capacity) {
      interpreter[length++] = static_cast<char>(head[i++]);
    }
    interpreter[length] = '\0';
    return length > 0 ? ProgramKind::kScript : ProgramKind::kUnknown;
  }
  Elf64_Ehdr header{};
  if (!read_at(fd, &header, sizeof header, 0)) return ProgramKind::kUnknown;
  if (header.e_ident[EI_MAG0] != ELFMAG0 || header.e_ident[EI_MAG1] != ELFMAG1 ||
      header.e_ident[EI_MAG2] != ELFMAG2 || header.e_ident[EI_MAG3] != ELFMAG3 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_phentsize != sizeof(Elf64_Phdr)) {
    return ProgramKind::kUnknown;
  }
  bool dynamic_section = false;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program_header{};
    if (!read_at(fd, &program_header, sizeof program_header,
                 static_cast<long>(header.e_phoff + i * sizeof program_header))) {
      return ProgramKind::kUnknown;
    }
    if (program_header.p_type == PT_INTERP) return ProgramKind::kDynamic;
    if (program_header.p_type == PT_DYNAMIC) dynamic_section = true;
  }
  // The dynamic loader run as a program (ld.so PROGRAM) has no
  // interpreter but honours LD_PRELOAD: position-independent ELF with a
  // dynamic section passes (a static-pie then shows up at the next
  // checkpoint as a process not under ckpt); the rest is static.
  if (header.e_type == ET_DYN && dynamic_section) return ProgramKind::kDynamic;
  return ProgramKind::kStatic;
}

void report_static(const char* path) {
  char line[CKPT_PATH_BYTES + 128];
  char* end = append(line, "cannot run ");
  unsigned long i = 0;
  for (; path[i] != '\0' && i < CKPT_PATH_BYTES; ++i) *end++ = path[i];
  end = append(end, ": statically linked programs cannot be checkpointed (the ckpt agent cannot be loaded)");
  *end = '\0';
  report(line);
}

}  // namespace

bool agent_active() { return g_state.control_fd >= 0 && g_state.library[0] != '\0'; }

ExecEnvironment::ExecEnvironment(char* const* caller_environment, bool keep_channel) {
  if (!agent_active()) return;
  unsigned long count = 0, text = 0;
  for (; caller_environment != nullptr && caller_environment[count] != nullptr; ++count) {
    text += string_length(caller_environment[count]) + 1;
  }
  text += 2 * CKPT_PATH_BYTES + CKPT_AGENT_SOCKET_BYTES + 512;  // our entries
  bytes_ = (count + 8) * sizeof(char*) + text;
  const long mapped = sys(SYS_mmap, 0, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped < 0 && mapped > -4096) return;
  entries_ = reinterpret_cast<char**>(mapped);
  char* strings = reinterpret_cast<char*>(entries_ + count + 8);
  unsigned long used = 0;
  for (unsigned long i = 0; i < count; ++i) {
    if (!ours(caller_environment[i])) entries_[used++] = caller_environment[i];
  }
  entries_[used++] = strings;
  strings = write_preload(strings, value_of(caller_environment, "LD_PRELOAD="));
  *strings++ = '\0';
  entries_[used++] = strings;
  strings = append(strings, CKPT_ENV_AGENT_SOCKET "=");
  strings = append(strings, g_state.agent_socket);
  *strings++ = '\0';
  if (keep_channel) {
    entries_[used++] = strings;
    strings = append(strings, CKPT_ENV_CONTROL_FD "=");
    char number[16];
    format_decimal(number, CKPT_AGENT_FD);
    strings = append(strings, number);
    *strings++ = '\0';
  }
  const char* tunables = value_of(caller_environment, "GLIBC_TUNABLES=");
  const bool need_rseq_off = tunables == nullptr || !contains_text(tunables, kRseqOff);
  const unsigned long tunables_length = tunables == nullptr ? 0 : string_length(tunables);
  if (tunables_length < 200) {  // (longer ones are kept as the caller's... rare)
    entries_[used++] = strings;
    strings = append(strings, "GLIBC_TUNABLES=");
    if (tunables != nullptr) strings = append(strings, tunables);
    if (need_rseq_off) {
      if (tunables != nullptr && tunables[0] != '\0') *strings++ = ':';
      strings = append(strings, kRseqOff);
    }
    *strings++ = '\0';
  }
  // The scheduler's signals stay shielded in a program started with an
  // environment that dropped the variable (env -i, execve with its own).
  char shielded[192];
  const unsigned long shielded_length = format_shielded_signals(shielded);
  if (shielded_length > 0 && value_of(caller_environment, "CKPT_SHIELD_SIGNALS=") == nullptr) {
    entries_[used++] = strings;
    strings = append(strings, "CKPT_SHIELD_SIGNALS=");
    for (unsigned long i = 0; i < shielded_length; ++i) *strings++ = shielded[i];
    *strings++ = '\0';
  }
  entries_[used] = nullptr;
}

ExecEnvironment::~ExecEnvironment() {
  if (entries_ != nullptr) sys(SYS_munmap, entries_, bytes_);
}

void repair_own_environment() {
  if (!agent_active()) return;
  const char* preload = getenv("LD_PRELOAD");
  if (preload == nullptr || !contains_text(preload, g_state.library)) {
    char value[2 * CKPT_PATH_BYTES + 32];
    char* end = write_preload(value, preload);
    *end = '\0';
    setenv("LD_PRELOAD", value + 11, 1);
  }
  if (getenv(CKPT_ENV_AGENT_SOCKET) == nullptr) setenv(CKPT_ENV_AGENT_SOCKET, g_state.agent_socket, 1);
  const char* tunables = getenv("GLIBC_TUNABLES");
  if (tunables == nullptr || !contains_text(tunables, kRseqOff)) {
    char value[512];
    char* end = value;
    if (tunables != nullptr && string_length(tunables) < 400) {
      end = append(end, tunables);
      if (tunables[0] != '\0') *end++ = ':';
    }
    end = append(end, kRseqOff);
    *end = '\0';
    setenv("GLIBC_TUNABLES", value, 1);
  }
}

bool refuse_static_program(int directory_fd, const char* path, int fd) {
  if (!agent_active()) return false;
  const bool opened_here = fd < 0;
  if (opened_here) fd = static_cast<int>(sys(SYS_openat, directory_fd, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) return false;  // not readable: let exec decide
  char interpreter[CKPT_PATH_BYTES];
  const ProgramKind kind = program_kind(fd, interpreter, sizeof interpreter);
  if (opened_here) sys(SYS_close, fd);
  if (kind == ProgramKind::kStatic) {
    report_static(path[0] != '\0' ? path : "the program");
    return true;
  }
  if (kind == ProgramKind::kScript && interpreter[0] == '/') {
    const int interpreter_fd = static_cast<int>(sys(SYS_openat, AT_FDCWD, interpreter, O_RDONLY | O_CLOEXEC));
    if (interpreter_fd < 0) return false;
    char ignored[8];
    const ProgramKind interpreter_kind = program_kind(interpreter_fd, ignored, sizeof ignored);
    sys(SYS_close, interpreter_fd);
    if (interpreter_kind == ProgramKind::kStatic) {
      report_static(interpreter);
      return true;
    }
  }
  return false;
}

bool find_on_path(const char* file, char* out, unsigned long capacity) {
  for (const char* c = file; *c != '\0'; ++c) {
    if (*c == '/') {
      copy_string(out, file, capacity);
      return true;
    }
  }
  const char* path = getenv("PATH");
  if (path == nullptr) path = "/usr/local/bin:/bin:/usr/bin";
  const unsigned long file_length = string_length(file);
  for (const char* entry = path;;) {
    const char* end = entry;
    while (*end != '\0' && *end != ':') ++end;
    const unsigned long length = static_cast<unsigned long>(end - entry);
    if (length + file_length + 2 < capacity) {
      unsigned long i = 0;
      for (; i < length; ++i) out[i] = entry[i];
      if (length == 0) out[i++] = '.';
      out[i++] = '/';
      copy_string(out + i, file, capacity - i);
      if (sys(SYS_faccessat, AT_FDCWD, out, X_OK) == 0) return true;
    }
    if (*end == '\0') return false;
    entry = end + 1;
  }
}

ChannelAcrossExec::ChannelAcrossExec() {
  spans_before_exec();  // the new program starts with no spans
  if (g_state.control_fd >= 0) sys(SYS_fcntl, g_state.control_fd, F_SETFD, 0);
}

ChannelAcrossExec::~ChannelAcrossExec() {
  if (g_state.control_fd >= 0) sys(SYS_fcntl, g_state.control_fd, F_SETFD, FD_CLOEXEC);
}

namespace {
constexpr unsigned long kQuiesceBit = 1ul << (CKPT_QUIESCE_SIGNAL - 1);
}

QuiesceSignalHeldAcrossExec::QuiesceSignalHeldAcrossExec() {
  const unsigned long held = kQuiesceBit;
  sys(SYS_rt_sigprocmask, SIG_BLOCK, &held, &previous_mask_, 8);
}

QuiesceSignalHeldAcrossExec::~QuiesceSignalHeldAcrossExec() {
  if ((previous_mask_ & kQuiesceBit) == 0) {
    const unsigned long held = kQuiesceBit;
    sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &held, nullptr, 8);
  }
}

void release_quiesce_signal() {
  const unsigned long held = kQuiesceBit;
  sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &held, nullptr, 8);
}

}  // namespace ckpt::agent
