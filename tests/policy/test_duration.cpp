#include <catch2/catch.hpp>

#include "ckpt/policy/duration.hpp"

using namespace ckpt::policy;
using namespace std::chrono_literals;

TEST_CASE("durations in every unit and combination parse", "[duration]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("90s") == 90s);
  CHECK(parse_duration("15m") == 15min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("1h2m3s4ms") == 1h + 2min + 3s + 4ms);
  CHECK(parse_duration("0s") == 0ms);
  CHECK(parse_duration("007m") == 7min);
  CHECK(parse_duration("100000h") == 100000h);
}

TEST_CASE("off is accepted only where it means no duration", "[duration]") {
  CHECK(parse_duration_or_off("off") == std::nullopt);
  CHECK(parse_duration_or_off("15m") == 15min);
  CHECK_THROWS_AS(parse_duration("off"), DurationSyntaxError);
}

TEST_CASE("bad durations say what is wrong", "[duration]") {
  const auto message = [](std::string_view text) {
    try {
      parse_duration(text);
    } catch (const DurationSyntaxError& error) {
      return std::string(error.what());
    }
    return std::string("(accepted)");
  };
  CHECK(message("") == R"(bad duration "": empty (write e.g. "15m"))");
  CHECK(message("15") == R"(bad duration "15": missing unit after 15 (use ms, s, m, h))");
  CHECK(message("15x") == R"(bad duration "15x": unknown unit 'x' (use ms, s, m, h))");
  CHECK(message("15min") == R"(bad duration "15min": unknown unit 'min' (use ms, s, m, h))");
  CHECK(message("15M") == R"(bad duration "15M": unknown unit 'M' (use ms, s, m, h))");
  CHECK(message("-5m") == R"(bad duration "-5m": a duration cannot be negative)");
  CHECK(message("1.5h") ==
        R"(bad duration "1.5h": fractions are not supported (write "1m30s", not "1.5m"))");
  CHECK(message("m") == R"(bad duration "m": expected a number at 'm' (write e.g. "1h30m"))");
  CHECK(message("1h 30m") ==
        R"(bad duration "1h 30m": expected a number at ' 30m' (write e.g. "1h30m"))");
  CHECK(
      message("30m1h") ==
      R"(bad duration "30m1h": units must go from the largest to the smallest, each once (like "1h30m"))");
  CHECK(
      message("1m1m") ==
      R"(bad duration "1m1m": units must go from the largest to the smallest, each once (like "1h30m"))");
  CHECK(message("99999999999999999999s") == R"(bad duration "99999999999999999999s": too long)");
  CHECK(message("9223372036854775807h") == R"(bad duration "9223372036854775807h": too long)");
}

TEST_CASE("durations format canonically and parse back", "[duration]") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(48h) == "48h");
  CHECK(format_duration_or_off(std::nullopt) == "off");
  CHECK(format_duration_or_off(15min) == "15m");

  const Duration samples[] = {0ms, 1ms, 999ms, 1s, 61s, 3599s, 3600s, 3601001ms, 100000h + 1ms};
  for (const Duration sample : samples) {
    CAPTURE(sample.count());
    CHECK(parse_duration(format_duration(sample)) == sample);
  }
}
