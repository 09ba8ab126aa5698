// Shielding applications from signals sent from outside the group.
//
// Slurm preempts or requeues a job by sending SIGTERM to every process of
// it at once: to ckpt-launch, which checkpoints and stops the group, and
// directly to each application, which by default dies of it first. With
// CKPT_SHIELD_SIGNALS=15[,N...] the agent puts its own handler on those
// signals (before main) and keeps the application's disposition aside,
// like the mprotect engine does for SIGSEGV. The handler drops an instance
// sent from outside our PID namespace (kill/tkill/sigqueue by a sender the
// kernel shows as pid 0); any other instance (a process of the group, the
// kernel) gets the application's disposition: its handler, nothing for
// SIG_IGN, the default action for SIG_DFL (re-raised so that the process
// dies of the signal, with the right wait status).
//
// The kernel action we install mirrors the application's: its sa_mask,
// SA_RESTART, SA_NODEFER, SA_ONSTACK (SA_RESETHAND is emulated here, the
// shield must stay). With SIG_DFL it is SA_RESTART with an empty mask, so
// an outside signal is invisible. An application SIG_IGN is installed as
// SIG_IGN itself: equivalent, and exec() keeps it, as it should.
//
// The application's dispositions live in agent memory, so they survive
// fork() and a restart (the kernel actions are restored by
// process_state.cpp). Readers in the handler use a per-signal sequence
// word; writers block the signal in their thread while they hold it, so a
// handler never waits for its own thread.
#include "outside_signals.hpp"

#include <sched.h>
#include <sys/syscall.h>

#include <cstdlib>

#include "agent.hpp"
#include "raw_syscall.hpp"

extern "C" void ckpt_signal_return();  // quiesce.cpp

namespace ckpt::agent {
namespace {

constexpr unsigned long kRestorerFlag = 0x04000000;  // SA_RESTORER

constexpr unsigned long bit(int signal) { return 1ul << (signal - 1); }

// Never shielded: ckpt's own, the unstoppable ones, glibc's internal ones
// (32, 33), and the fault signals (they come from the kernel anyway, and
// the mprotect engine owns SIGSEGV).
constexpr unsigned long kNeverShielded =
    bit(SIGKILL) | bit(SIGSTOP) | bit(CKPT_QUIESCE_SIGNAL) | bit(32) | bit(33) | bit(SIGSEGV) |
    bit(SIGBUS) | bit(SIGILL) | bit(SIGFPE) | bit(SIGTRAP) | bit(SIGSYS);

// Signals whose default action is to do nothing.
constexpr unsigned long kDefaultIgnored = bit(SIGCHLD) | bit(SIGURG) | bit(SIGWINCH) | bit(SIGCONT);
// Signals whose default action is to stop the process.
constexpr unsigned long kDefaultStops = bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

unsigned long g_shielded = 0;
struct sigaction g_application[65];
unsigned g_sequence[65];  // odd while a writer changes g_application[signal]

bool is_default(const struct sigaction& action) { return action.sa_handler == SIG_DFL; }
bool is_ignore(const struct sigaction& action) { return action.sa_handler == SIG_IGN; }

void on_shielded(int signal, siginfo_t* info, void* context);

// The kernel action that stands for the application's `action`.
void install_kernel_action(int signal, const struct sigaction& action) {
  CkptKernelSigaction kernel{};
  const unsigned long application_flags = static_cast<unsigned long>(action.sa_flags);
  const unsigned long child_flags = application_flags & (SA_NOCLDSTOP | SA_NOCLDWAIT);
  if (is_ignore(action)) {
    kernel.handler = reinterpret_cast<uint64_t>(SIG_IGN);
    kernel.flags = child_flags;
  } else {
    kernel.handler = reinterpret_cast<uint64_t>(&on_shielded);
    kernel.restorer = reinterpret_cast<uint64_t>(&ckpt_signal_return);
    kernel.flags = SA_SIGINFO | kRestorerFlag | child_flags;
    if (is_default(action)) {
      kernel.flags |= SA_RESTART;
    } else {
      kernel.flags |= application_flags & (SA_RESTART | SA_NODEFER | SA_ONSTACK);
      __builtin_memcpy(&kernel.mask, &action.sa_mask, sizeof kernel.mask);
      kernel.mask &= ~bit(CKPT_QUIESCE_SIGNAL);
    }
  }
  sys(SYS_rt_sigaction, signal, &kernel, nullptr, 8);
}

// Runs `change` on the application's action of `signal` (and installs
// the kernel action for the result) with the signal blocked in this
// thread and the sequence word odd.
template <class Change>
void write_action(int signal, Change change) {
  unsigned long blocked = bit(signal), previous = 0;
  sys(SYS_rt_sigprocmask, SIG_BLOCK, &blocked, &previous, 8);
  unsigned* sequence = &g_sequence[signal];
  for (;;) {
    unsigned seen = __atomic_load_n(sequence, __ATOMIC_ACQUIRE);
    if ((seen & 1) == 0 && __atomic_compare_exchange_n(sequence, &seen, seen + 1, false,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      break;
    }
    sys(SYS_sched_yield);
  }
  change(g_application[signal]);
  install_kernel_action(signal, g_application[signal]);
  __atomic_fetch_add(sequence, 1u, __ATOMIC_RELEASE);
  sys(SYS_rt_sigprocmask, SIG_SETMASK, &previous, nullptr, 8);
}

// A consistent copy of the application's action (in a handler, too).
struct sigaction read_action(int signal) {
  const unsigned* sequence = &g_sequence[signal];
  for (;;) {
    const unsigned before = __atomic_load_n(sequence, __ATOMIC_ACQUIRE);
    if ((before & 1) != 0) {
      sys(SYS_sched_yield);
      continue;
    }
    struct sigaction copy;
    __builtin_memcpy(&copy, &g_application[signal], sizeof copy);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(sequence, __ATOMIC_RELAXED) == before) return copy;
  }
}

// SIG_DFL for a signal sent from inside: what the kernel would have done.
void default_action(int signal) {
  if ((kDefaultIgnored & bit(signal)) != 0) return;
  CkptKernelSigaction fallback{};  // SIG_DFL
  sys(SYS_rt_sigaction, signal, &fallback, nullptr, 8);
  sys(SYS_tgkill, current_pid(), current_tid(), signal);
  unsigned long unblock = bit(signal);
  sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock, nullptr, 8);
  // Terminating signals never come back here; stopping ones do, once the
  // process is continued: the shield goes back on.
  write_action(signal, [](struct sigaction&) {});
}

void on_shielded(int signal, siginfo_t* info, void* context) {
  if (is_outside_signal(signal, info)) return;  // ckpt-launch acts for the group
  const struct sigaction action = read_action(signal);
  if (is_ignore(action)) return;
  if (is_default(action)) {
    default_action(signal);
    return;
  }
  if ((action.sa_flags & SA_RESETHAND) != 0) {
    write_action(signal, [&action](struct sigaction& current) {
      if (current.sa_handler != action.sa_handler) return;  // changed meanwhile
      current = {};
      current.sa_handler = SIG_DFL;
    });
  }
  if ((action.sa_flags & SA_SIGINFO) != 0) {
    action.sa_sigaction(signal, info, context);
  } else {
    action.sa_handler(signal);
  }
}

// "CKPT_SHIELD_SIGNALS: <what> '<text>'; ignored"
void report_entry(const char* what, const char* text, unsigned long length) {
  char line[160];
  unsigned long used = 0;
  auto add = [&](const char* part, unsigned long count) {
    for (unsigned long i = 0; i < count && part[i] != '\0' && used + 1 < sizeof line; ++i) {
      line[used++] = part[i];
    }
  };
  add(kShieldSignalsVariable, sizeof kShieldSignalsVariable);
  add(": ", 2);
  add(what, 100);
  add(" '", 2);
  add(text, length < 24 ? length : 24);
  add("'; ignored", 10);
  line[used] = '\0';
  report(line);
}

void shield(int signal) {
  CkptKernelSigaction current{};
  if (sys(SYS_rt_sigaction, signal, nullptr, &current, 8) < 0) return;
  struct sigaction& application = g_application[signal];
  application = {};
  application.sa_handler = reinterpret_cast<void (*)(int)>(current.handler);
  application.sa_flags = static_cast<int>(current.flags);
  __builtin_memcpy(&application.sa_mask, &current.mask, sizeof current.mask);
  g_shielded |= bit(signal);
  install_kernel_action(signal, application);
}

}  // namespace

void install_signal_shield() {
  const char* text = getenv(kShieldSignalsVariable);
  if (text == nullptr) return;
  for (const char* entry = text; *entry != '\0';) {
    const char* end = entry;
    while (*end != '\0' && *end != ',') ++end;
    const char* first = entry;
    const char* last = end;
    while (first < last && *first == ' ') ++first;
    while (last > first && last[-1] == ' ') --last;
    long number = 0;
    bool valid = first < last && last - first <= 2;
    for (const char* c = first; valid && c < last; ++c) {
      valid = *c >= '0' && *c <= '9';
      number = number * 10 + (*c - '0');
    }
    const unsigned long length = static_cast<unsigned long>(last - first);
    if (first == last) {
      // empty entry ("15,"): nothing to do
    } else if (!valid || number < 1 || number > 64) {
      report_entry("not a signal number", first, length);
    } else if ((kNeverShielded & bit(static_cast<int>(number))) != 0) {
      report_entry("signal cannot be shielded", first, length);
    } else {
      shield(static_cast<int>(number));
    }
    entry = *end == '\0' ? end : end + 1;
  }
}

unsigned long format_shielded_signals(char* out) {
  unsigned long length = 0;
  for (int signal = 1; signal <= 64; ++signal) {
    if (!is_shielded(signal)) continue;
    if (length > 0) out[length++] = ',';
    if (signal >= 10) out[length++] = static_cast<char>('0' + signal / 10);
    out[length++] = static_cast<char>('0' + signal % 10);
  }
  return length;
}

bool is_shielded(int signal) {
  return signal >= 1 && signal <= 64 && (g_shielded & bit(signal)) != 0;
}

bool is_outside_signal(int signal, const siginfo_t* info) {
  if (!is_shielded(signal) || info == nullptr) return false;
  const int code = info->si_code;
  return (code == SI_USER || code == SI_TKILL || code == SI_QUEUE) && info->si_pid == 0;
}

bool application_shielded_action(int signal, const struct sigaction* action,
                                 struct sigaction* old) {
  if (!is_shielded(signal)) return false;
  if (action == nullptr) {
    if (old != nullptr) *old = read_action(signal);
    return true;
  }
  const struct sigaction wanted = *action;  // (old may be the same struct)
  write_action(signal, [&](struct sigaction& current) {
    if (old != nullptr) *old = current;
    current = wanted;
  });
  return true;
}

}  // namespace ckpt::agent
