#include <catch2/catch.hpp>
#include <csignal>

#include "ckpt/policy/signals.hpp"

using namespace ckpt::policy;

TEST_CASE("signal names with and without SIG, in any case", "[signals]") {
  CHECK(signal_from_name("SIGTERM") == SIGTERM);
  CHECK(signal_from_name("TERM") == SIGTERM);
  CHECK(signal_from_name("sigusr1") == SIGUSR1);
  CHECK(signal_from_name("Usr2") == SIGUSR2);
  CHECK(signal_from_name("SIGHUP") == SIGHUP);
  CHECK(signal_from_name("SIGIO") == SIGIO);
  CHECK(signal_from_name("SIGIOT") == SIGABRT);
  CHECK(signal_from_name("SIGCLD") == SIGCHLD);
}

TEST_CASE("real-time signals count from SIGRTMIN or back from SIGRTMAX", "[signals]") {
  CHECK(signal_from_name("SIGRTMIN") == SIGRTMIN);
  CHECK(signal_from_name("SIGRTMIN+3") == SIGRTMIN + 3);
  CHECK(signal_from_name("RTMIN+0") == SIGRTMIN);
  CHECK(signal_from_name("SIGRTMAX") == SIGRTMAX);
  CHECK(signal_from_name("SIGRTMAX-2") == SIGRTMAX - 2);
  CHECK(signal_from_name("SIGRTMIN-1") == std::nullopt);
  CHECK(signal_from_name("SIGRTMAX+1") == std::nullopt);
  CHECK(signal_from_name("SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN + 1)) == std::nullopt);
  CHECK(signal_from_name("SIGRTMIN3") == std::nullopt);
  CHECK(signal_from_name("SIGRT") == std::nullopt);
}

TEST_CASE("unknown signal names and numbers are refused", "[signals]") {
  CHECK(signal_from_name("") == std::nullopt);
  CHECK(signal_from_name("SIG") == std::nullopt);
  CHECK(signal_from_name("SIGFOO") == std::nullopt);
  CHECK(signal_from_name("15") == std::nullopt);
  CHECK(signal_from_name("SIGSIGTERM") == std::nullopt);
}

TEST_CASE("canonical signal names parse back to the same signal", "[signals]") {
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGRTMIN) == "SIGRTMIN");
  CHECK(signal_name(SIGRTMAX) == "SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN));
  CHECK(signal_name(0) == "signal 0");
  for (int number = 1; number <= SIGRTMAX; ++number) {
    if (number > SIGSYS && number < SIGRTMIN) continue;  // reserved by the C library
    CAPTURE(number);
    CHECK(signal_from_name(signal_name(number)) == number);
  }
}

TEST_CASE("only catchable request signals can trigger a checkpoint", "[signals]") {
  CHECK(why_not_a_trigger_signal(SIGKILL) == "SIGKILL cannot be caught");
  CHECK(why_not_a_trigger_signal(SIGSTOP) == "SIGSTOP cannot be caught");
  CHECK(why_not_a_trigger_signal(SIGSEGV) == "SIGSEGV reports a fault in a program, not a request");
  CHECK(why_not_a_trigger_signal(SIGBUS).has_value());
  CHECK(why_not_a_trigger_signal(SIGTERM) == std::nullopt);
  CHECK(why_not_a_trigger_signal(SIGUSR1) == std::nullopt);
  CHECK(why_not_a_trigger_signal(SIGRTMIN + 3) == std::nullopt);
}
