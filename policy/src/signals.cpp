#include "ckpt/policy/signals.hpp"

#include <array>
#include <cctype>
#include <csignal>
#include <cstring>

namespace ckpt::policy {
namespace {

struct SignalAlias {
  std::string_view name;
  int number;
};

// Second names that sigabbrev_np() does not return.
constexpr std::array<SignalAlias, 3> kAliases{{
    {"IO", SIGIO},
    {"IOT", SIGABRT},
    {"CLD", SIGCHLD},
}};

std::string upper_case(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}

// "" -> 0, "+3" / "-3" -> +3 / -3 (sign required), anything else -> nullopt.
std::optional<int> signed_offset(std::string_view text) {
  if (text.empty()) return 0;
  if (text.size() < 2 || (text[0] != '+' && text[0] != '-') || text.size() > 4) return std::nullopt;
  int value = 0;
  for (const char c : text.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return text[0] == '-' ? -value : value;
}

std::optional<int> real_time_signal(std::string_view name) {
  std::optional<int> number;
  if (name.starts_with("RTMIN")) {
    const auto offset = signed_offset(name.substr(5));
    if (offset && *offset >= 0) number = SIGRTMIN + *offset;
  } else if (name.starts_with("RTMAX")) {
    const auto offset = signed_offset(name.substr(5));
    if (offset && *offset <= 0) number = SIGRTMAX + *offset;
  }
  if (number && *number >= SIGRTMIN && *number <= SIGRTMAX) return number;
  return std::nullopt;
}

}  // namespace

std::optional<int> signal_from_name(std::string_view name) {
  std::string upper = upper_case(name);
  std::string_view bare = upper;
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  if (bare.empty()) return std::nullopt;

  if (bare.starts_with("RT")) return real_time_signal(bare);
  for (int number = 1; number < SIGRTMIN; ++number) {
    const char* abbreviation = sigabbrev_np(number);
    if (abbreviation != nullptr && bare == abbreviation) return number;
  }
  for (const auto& alias : kAliases) {
    if (bare == alias.name) return alias.number;
  }
  return std::nullopt;
}

std::string signal_name(int signal_number) {
  if (signal_number >= SIGRTMIN && signal_number <= SIGRTMAX) {
    const int offset = signal_number - SIGRTMIN;
    return offset == 0 ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(offset);
  }
  const char* abbreviation = signal_number > 0 ? sigabbrev_np(signal_number) : nullptr;
  if (abbreviation == nullptr) return "signal " + std::to_string(signal_number);
  return std::string("SIG") + abbreviation;
}

std::optional<std::string> why_not_a_trigger_signal(int signal_number) {
  switch (signal_number) {
    case SIGKILL:
    case SIGSTOP:
      return signal_name(signal_number) + " cannot be caught";
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
      return signal_name(signal_number) + " reports a fault in a program, not a request";
    default:
      return std::nullopt;
  }
}

}  // namespace ckpt::policy
