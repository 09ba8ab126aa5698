#pragma once
// Signal names as the policy spells them.

#include <optional>
#include <string>
#include <string_view>

namespace ckpt::policy {

// "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3", "RTMAX-1" -> the signal number.
// std::nullopt for anything else (numbers are not accepted).
std::optional<int> signal_from_name(std::string_view name);

// The canonical name: "SIGTERM", "SIGRTMIN+3" (real-time signals are always
// counted from SIGRTMIN). Unknown numbers give "signal N".
std::string signal_name(int signal_number);

// Why a signal cannot trigger a checkpoint, or std::nullopt if it can.
// SIGKILL and SIGSTOP cannot be caught; fault signals (SIGSEGV, SIGBUS,
// SIGILL, SIGFPE, SIGTRAP, SIGSYS) report errors in a program.
std::optional<std::string> why_not_a_trigger_signal(int signal_number);

}  // namespace ckpt::policy
