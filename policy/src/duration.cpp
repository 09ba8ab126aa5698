#include "ckpt/policy/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace ckpt::policy {
namespace {

struct DurationUnit {
  std::string_view suffix;
  std::int64_t milliseconds;
};

// Largest first: parts must appear in this order, and formatting uses it.
constexpr std::array<DurationUnit, 4> kUnits{{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

constexpr std::string_view kUnitList = "ms, s, m, h";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

[[noreturn]] void fail(std::string_view text, std::string_view why) {
  throw DurationSyntaxError("bad duration \"" + std::string(text) + "\": " + std::string(why));
}

std::optional<std::size_t> unit_index(std::string_view suffix) {
  for (std::size_t i = 0; i < kUnits.size(); ++i) {
    if (kUnits[i].suffix == suffix) return i;
  }
  return std::nullopt;
}

}  // namespace

Duration parse_duration(std::string_view text) {
  if (text.empty()) fail(text, "empty (write e.g. \"15m\")");
  if (text.front() == '-') fail(text, "a duration cannot be negative");

  std::int64_t total = 0;
  std::optional<std::size_t> previous_unit;
  std::size_t position = 0;
  while (position < text.size()) {
    if (!is_digit(text[position])) {
      fail(text, "expected a number at '" + std::string(text.substr(position)) +
                     "' (write e.g. \"1h30m\")");
    }
    std::int64_t number = 0;
    while (position < text.size() && is_digit(text[position])) {
      const int digit = text[position] - '0';
      if (number > (std::numeric_limits<std::int64_t>::max() - digit) / 10) fail(text, "too long");
      number = number * 10 + digit;
      ++position;
    }
    if (position < text.size() && (text[position] == '.' || text[position] == ',')) {
      fail(text, "fractions are not supported (write \"1m30s\", not \"1.5m\")");
    }
    std::size_t unit_end = position;
    while (unit_end < text.size() && is_letter(text[unit_end])) ++unit_end;
    const std::string_view suffix = text.substr(position, unit_end - position);
    if (suffix.empty()) {
      fail(text, "missing unit after " + std::to_string(number) + " (use " +
                     std::string(kUnitList) + ")");
    }
    const auto unit = unit_index(suffix);
    if (!unit) {
      fail(text, "unknown unit '" + std::string(suffix) + "' (use " + std::string(kUnitList) + ")");
    }
    if (previous_unit && *unit <= *previous_unit) {
      fail(text, "units must go from the largest to the smallest, each once (like \"1h30m\")");
    }
    previous_unit = unit;
    position = unit_end;

    const std::int64_t scale = kUnits[*unit].milliseconds;
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / scale) fail(text, "too long");
    total += number * scale;
  }
  return Duration(total);
}

std::optional<Duration> parse_duration_or_off(std::string_view text) {
  if (text == "off") return std::nullopt;
  return parse_duration(text);
}

std::string format_duration(Duration duration) {
  std::int64_t rest = duration.count();
  if (rest == 0) return "0s";
  std::string text;
  for (const auto& unit : kUnits) {
    const std::int64_t count = rest / unit.milliseconds;
    if (count == 0) continue;
    text += std::to_string(count);
    text += unit.suffix;
    rest -= count * unit.milliseconds;
  }
  return text;
}

std::string format_duration_or_off(const std::optional<Duration>& duration) {
  return duration ? format_duration(*duration) : std::string("off");
}

}  // namespace ckpt::policy
