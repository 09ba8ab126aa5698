// Process state the kernel keeps outside memory: signal dispositions,
// interval timers, resource limits, umask, cwd and open descriptors.
// Captured by the checkpoint thread while all other threads are parked
// (raw system calls only: a parked thread may hold a libc lock) and
// re-applied after a restart before anything resumes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "agent.hpp"
#include "proc_lines.hpp"
#include "raw_syscall.hpp"

namespace ckpt::agent {
namespace {

constexpr int kSigKill = 9;
constexpr int kSigStop = 19;

unsigned descriptor_kind(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 0;
    case S_IFDIR:
      return 1;
    case S_IFCHR:
      return 2;
    case S_IFIFO:
      return 3;
    case S_IFSOCK:
      return 4;
    default:
      return 6;
  }
}

// Open flags (with O_CLOEXEC for the descriptor flag) and offset of the
// application's descriptor `fd`, from /proc/self/fdinfo: the checkpoint
// thread has a descriptor table of its own (agent.cpp), so it reads the
// application's table through /proc only.
bool read_fdinfo(int fd, long& flags, long& position) {
  char path[48] = "/proc/self/fdinfo/";
  format_decimal(path + 18, fd);
  ProcLines lines(path);
  if (!lines.opened()) return false;
  flags = position = -1;
  while (const char* line = lines.next()) {
    if (starts_with(line, "pos:")) {
      const char* cursor = line + 4;
      while (*cursor == ' ' || *cursor == '\t') ++cursor;
      position = static_cast<long>(parse_decimal(cursor));
    } else if (starts_with(line, "flags:")) {
      long value = 0;
      for (const char* cursor = line + 6; *cursor != '\0'; ++cursor) {
        if (*cursor >= '0' && *cursor <= '7') value = value * 8 + (*cursor - '0');
      }
      flags = value;
    }
  }
  return flags >= 0 && position >= 0;
}

void capture_descriptors(int control_fd) {
  g_state.descriptor_count = 0;
  for_each_numbered_entry("/proc/self/fd", [&](int fd, int) {
    if (fd == control_fd) return true;
    if (g_state.descriptor_count == CKPT_MAX_DESCRIPTORS) return false;
    CkptDescriptorRecord& record = g_state.descriptors[g_state.descriptor_count];
    char link[48] = "/proc/self/fd/";
    format_decimal(link + 14, fd);
    long flags = 0, position = 0;
    struct stat info {};
    if (!read_fdinfo(fd, flags, position) || sys(SYS_stat, link, &info) != 0) return true;  // closed meanwhile
    record.fd = fd;
    record.open_flags = static_cast<int>(flags & ~static_cast<long>(O_CLOEXEC));
    record.fd_flags = (flags & O_CLOEXEC) != 0 ? FD_CLOEXEC : 0;
    record.kind = descriptor_kind(info.st_mode);
    // -1: not seekable (pipe, socket, tty)
    record.offset = record.kind == 0 || record.kind == 1 ? position : -1;
    const long length = sys(SYS_readlinkat, AT_FDCWD, link, record.path, CKPT_PATH_BYTES - 1);
    record.path[length > 0 ? length : 0] = '\0';
    ++g_state.descriptor_count;
    return true;
  });
}

// Re-opens one saved descriptor at its number and offset. stdin, stdout
// and stderr are the restarting command's own and are left alone.
void reopen_descriptor(const CkptDescriptorRecord& record) {
  if (record.fd <= 2) return;
  // Pipes, FIFOs and sockets are recreated by the coordinator and passed in.
  const bool reopenable = record.kind == 0 || record.kind == 1 || record.kind == 2;
  if (!reopenable || record.path[0] != '/') return;
  const int flags = (record.open_flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC;
  const int fd = static_cast<int>(sys(SYS_openat, AT_FDCWD, record.path, flags, 0));
  if (fd < 0) {
    char line[CKPT_PATH_BYTES + 64] = "cannot reopen ";
    copy_string(line + 14, record.path, CKPT_PATH_BYTES);
    report(line);
    return;
  }
  if (fd != record.fd) {
    sys(SYS_dup3, fd, record.fd, O_CLOEXEC);
    sys(SYS_close, fd);
  }
  if ((record.fd_flags & FD_CLOEXEC) == 0) sys(SYS_fcntl, record.fd, F_SETFD, 0);
  if (record.offset > 0 && record.kind == 0) sys(SYS_lseek, record.fd, record.offset, SEEK_SET);
}

}  // namespace

void capture_process_state(int control_fd) {
  for (int signal = 1; signal <= 64; ++signal) {
    if (signal == kSigKill || signal == kSigStop || signal == CKPT_QUIESCE_SIGNAL) continue;
    sys(SYS_rt_sigaction, signal, nullptr, &g_state.actions[signal], 8);
  }
  for (int which = 0; which < 3; ++which) {
    struct itimerval value {};
    sys(SYS_getitimer, which, &value);
    g_state.timers[which] = {static_cast<uint64_t>(value.it_interval.tv_sec),
                             static_cast<uint64_t>(value.it_interval.tv_usec),
                             static_cast<uint64_t>(value.it_value.tv_sec),
                             static_cast<uint64_t>(value.it_value.tv_usec)};
  }
  for (int resource = 0; resource < 16; ++resource) {
    sys(SYS_prlimit64, 0, resource, nullptr, g_state.rlimits[resource]);
  }
  const long mask = sys(SYS_umask, 022);
  sys(SYS_umask, mask);
  g_state.umask = static_cast<uint32_t>(mask);
  if (sys(SYS_getcwd, g_state.cwd, sizeof g_state.cwd) < 0) g_state.cwd[0] = '\0';
  const long exe = sys(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", g_state.exe, sizeof g_state.exe - 1);
  g_state.exe[exe > 0 ? exe : 0] = '\0';
  capture_descriptors(control_fd);
}

void apply_process_state() {
  for (int signal = 1; signal <= 64; ++signal) {
    if (signal == kSigKill || signal == kSigStop || signal == CKPT_QUIESCE_SIGNAL) continue;
    sys(SYS_rt_sigaction, signal, &g_state.actions[signal], nullptr, 8);
  }
  install_quiesce_handler();
  for (int resource = 0; resource < 16; ++resource) {
    sys(SYS_prlimit64, 0, resource, g_state.rlimits[resource], nullptr);
  }
  sys(SYS_umask, g_state.umask);
  if (g_state.cwd[0] == '/') sys(SYS_chdir, g_state.cwd);
  for (unsigned i = 0; i < g_state.descriptor_count; ++i) reopen_descriptor(g_state.descriptors[i]);
  for (int which = 0; which < 3; ++which) {
    const CkptTimer& timer = g_state.timers[which];
    const bool periodic = timer.interval_sec != 0 || timer.interval_usec != 0;
    const bool armed = timer.value_sec != 0 || timer.value_usec != 0;
    if (!armed && !periodic) continue;
    struct itimerval value {};
    value.it_interval.tv_sec = static_cast<long>(timer.interval_sec);
    value.it_interval.tv_usec = static_cast<long>(timer.interval_usec);
    value.it_value.tv_sec = static_cast<long>(timer.value_sec);
    value.it_value.tv_usec = static_cast<long>(timer.value_usec);
    // A periodic timer reads 0 between an expiry and the dequeue of its
    // signal (the kernel re-arms it then): let it expire at once again.
    if (!armed) value.it_value.tv_usec = 1;
    sys(SYS_setitimer, which, &value, nullptr);
  }
}

void restore_executable_link() {
  if (g_state.exe[0] != '/') return;
  const int fd = static_cast<int>(sys(SYS_openat, AT_FDCWD, g_state.exe, O_RDONLY | O_CLOEXEC));
  if (fd < 0) {
    report("cannot open the checkpointed program; /proc/self/exe shows the restorer");
    return;
  }
  CkptPrctlMmMap map{};
  for (int i = 0; i < CKPT_MM_FIELDS; ++i) map.fields[i] = g_state.restored_mm[i];
  map.exe_fd = static_cast<uint32_t>(fd);  // auxv_size 0: auxv stays as restored
  if (sys(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0) < 0) {
    report("cannot point /proc/self/exe to the checkpointed program");
  }
  sys(SYS_close, fd);
}

}  // namespace ckpt::agent
