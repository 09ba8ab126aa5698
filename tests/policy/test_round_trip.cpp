#include <catch2/catch.hpp>
#include <csignal>

#include "ckpt/policy/policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt::policy;
using namespace std::chrono_literals;

namespace {

void check_round_trip(const Policy& policy) {
  const std::string printed = print_policy(policy);
  CAPTURE(printed);
  const Policy reparsed = parse_policy(printed, "printed.toml");
  CHECK(reparsed == policy);
  CHECK(print_policy(reparsed) == printed);  // printing is canonical
}

}  // namespace

TEST_CASE("the default policy prints and parses back equal", "[round-trip]") {
  check_round_trip(default_policy());
}

TEST_CASE("every example prints and parses back equal", "[round-trip][examples]") {
  std::size_t examples = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::examples_directory())) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    check_round_trip(load_policy_file(entry.path()));
    ++examples;
  }
  CHECK(examples >= 4);  // minimal, solver, workflow, slurm
}

TEST_CASE("unusual values survive the round trip", "[round-trip]") {
  Policy policy = default_policy();
  policy.job.name = "caf\xC3\xA9 \"quoted\" \\ backslash";
  policy.checkpoint.interval = std::nullopt;
  policy.checkpoint.timeout = 3601001ms;
  policy.checkpoint.incremental_depth = 0;
  policy.checkpoint.dirty_tracking = DirtyTracking::none;
  policy.checkpoint.compression = Compression::zstd;
  policy.checkpoint.compression_level = 7;
  policy.checkpoint.after_chain = AfterChain::merge;
  policy.signals.checkpoint = {SIGRTMIN + 3, SIGHUP};
  policy.signals.checkpoint_and_stop = {};
  policy.signals.stop_timeout = 3599999ms;
  policy.storage.image = "/tmp/{user}/{name}.{job}.{step}.{task}.{node}.h5";
  policy.storage.keep_full = 1000;
  policy.storage.include = {"a b/", "line\nbreak", "\x01"};
  policy.storage.exclude = {"x"};
  policy.storage.on_external_change = ExternalChangeAction::keep;
  policy.slurm.batch = BatchMode::steps;
  policy.slurm.on_failed_checkpoint = FailedCheckpointAction::end;
  policy.groups = {
      Group{"one",
            {App{"./a",
                 {"", "--flag=\"v\"", "tab\there"},
                 {{"A", "1"}, {"B.C", ""}, {"", "e"}},
                 "dir"}}},
      Group{"two", {App{"b", {}, {}, std::nullopt}, App{"c", {"x"}, {}, std::nullopt}}},
  };
  // An empty variable name is not allowed; everything else above is.
  policy.groups[0].apps[0].env.erase("");
  check_round_trip(policy);
}
