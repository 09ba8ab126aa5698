// Shielding the applications from signals sent from outside the group
// (outside_signals.cpp): a batch scheduler that preempts a job signals
// every process of it at once, ckpt-launch included, which checkpoints and
// stops the group; the applications must not die of it first.
#pragma once

#include <signal.h>

namespace ckpt::agent {

// Environment variable: comma-separated signal numbers ("15,10").
inline constexpr char kShieldSignalsVariable[] = "CKPT_SHIELD_SIGNALS";

// In the agent's constructor (before main): reads CKPT_SHIELD_SIGNALS and
// puts the shield handler on each listed signal that may be shielded.
// Without the variable nothing happens.
void install_signal_shield();

// The shielded signals as CKPT_SHIELD_SIGNALS writes them ("10,15", no
// terminating NUL) into `out` (at least 192 bytes); returns the length, 0
// when nothing is shielded. For new programs whose environment lost the
// variable (exec_environment.cpp).
unsigned long format_shielded_signals(char* out);

// True if `signal` is shielded in this process.
bool is_shielded(int signal);

// A shielded signal sent from outside the group's PID namespace (by
// kill/tkill/sigqueue, the sender seen as pid 0): ckpt-launch received it
// too and acts for the group, so the application never sees it.
bool is_outside_signal(int signal, const siginfo_t* info);

// sigaction() on a shielded signal: the application's disposition is kept
// aside (reported back as `old`, exactly as installed), the shield stays.
// False when `signal` is not shielded (then the real call applies).
bool application_shielded_action(int signal, const struct sigaction* action,
                                 struct sigaction* old);

}  // namespace ckpt::agent
