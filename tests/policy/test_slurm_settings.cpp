// [signals] stop_timeout and the [slurm] table: defaults, every value,
// printing, and the time limit of a stop checkpoint.

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "ckpt/policy/policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt::policy;
using namespace std::chrono_literals;

namespace {

Policy parse(std::string_view text) {
  return parse_policy("version = 1\n" + std::string(text), "slurm.toml");
}

}  // namespace

TEST_CASE("stop_timeout is off and [slurm] is script/requeue by default", "[slurm][defaults]") {
  const Policy policy = default_policy();
  CHECK(policy.signals.stop_timeout == std::nullopt);
  CHECK(policy.slurm.batch == BatchMode::script);
  CHECK(policy.slurm.on_failed_checkpoint == FailedCheckpointAction::requeue);
  CHECK(parse("[slurm]\n") == default_policy());
  CHECK(parse("[signals]\nstop_timeout = \"off\"\n") == default_policy());
}

TEST_CASE("stop_timeout takes a duration of at least 1s", "[slurm][parse]") {
  CHECK(parse("[signals]\nstop_timeout = \"50s\"\n").signals.stop_timeout == 50s);
  CHECK(parse("[signals]\nstop_timeout = \"1s\"\n").signals.stop_timeout == 1s);
  CHECK(parse("[signals]\nstop_timeout = \"1m30s\"\n").signals.stop_timeout == 90s);
  CHECK(parse("[signals]\nstop_timeout = \"1s500ms\"\n").signals.stop_timeout == 1500ms);
  CHECK(parse("[signals]\nstop_timeout = \"2h\"\n").signals.stop_timeout == 2h);
  // Setting it changes nothing else.
  Policy expected = default_policy();
  expected.signals.stop_timeout = 50s;
  CHECK(parse("[signals]\nstop_timeout = \"50s\"\n") == expected);
}

TEST_CASE("every [slurm] value is read", "[slurm][parse]") {
  CHECK(parse("[slurm]\nbatch = \"script\"\n").slurm.batch == BatchMode::script);
  CHECK(parse("[slurm]\nbatch = \"steps\"\n").slurm.batch == BatchMode::steps);
  CHECK(parse("[slurm]\non_failed_checkpoint = \"requeue\"\n").slurm.on_failed_checkpoint ==
        FailedCheckpointAction::requeue);
  CHECK(parse("[slurm]\non_failed_checkpoint = \"end\"\n").slurm.on_failed_checkpoint ==
        FailedCheckpointAction::end);

  const Policy both = parse("[slurm]\nbatch = \"steps\"\non_failed_checkpoint = \"end\"\n");
  Policy expected = default_policy();
  expected.slurm = SlurmSettings{BatchMode::steps, FailedCheckpointAction::end};
  CHECK(both == expected);
  // Dotted keys and inline tables are the same table.
  CHECK(parse("slurm = { batch = \"steps\", on_failed_checkpoint = \"end\" }\n") == expected);
  CHECK(parse("slurm.batch = \"steps\"\nslurm.on_failed_checkpoint = \"end\"\n") == expected);
}

TEST_CASE("a stop checkpoint is limited by stop_timeout, else by checkpoint.timeout", "[slurm]") {
  Policy policy = default_policy();
  CHECK(effective_stop_timeout(policy) == 10min);
  policy.checkpoint.timeout = 3min;
  CHECK(effective_stop_timeout(policy) == 3min);
  policy.signals.stop_timeout = 50s;
  CHECK(effective_stop_timeout(policy) == 50s);
  policy.signals.stop_timeout = 1h;  // may be longer than checkpoint.timeout
  CHECK(effective_stop_timeout(policy) == 1h);
  CHECK(effective_stop_timeout(parse("[checkpoint]\ntimeout = \"2m\"\n[signals]\nstop_timeout = "
                                     "\"45s\"\n")) == 45s);
}

TEST_CASE("the new keys print canonically in their tables", "[slurm][round-trip]") {
  const std::string defaults = print_policy(default_policy());
  CHECK_THAT(defaults, Catch::Matchers::Contains("\n[signals]\n"
                                                 "checkpoint = [\"SIGUSR1\"]\n"
                                                 "checkpoint_and_stop = [\"SIGTERM\"]\n"
                                                 "stop_timeout = \"off\"\n"
                                                 "\n[storage]\n"));
  CHECK_THAT(defaults, Catch::Matchers::Contains("on_external_change = \"rollback\"\n"
                                                 "\n[slurm]\n"
                                                 "batch = \"script\"\n"
                                                 "on_failed_checkpoint = \"requeue\"\n"
                                                 "\n# No [[group]]"));

  Policy policy = default_policy();
  policy.signals.stop_timeout = 90s;
  policy.slurm.batch = BatchMode::steps;
  policy.slurm.on_failed_checkpoint = FailedCheckpointAction::end;
  const std::string printed = print_policy(policy);
  CHECK_THAT(printed, Catch::Matchers::Contains("\nstop_timeout = \"1m30s\"\n"));
  CHECK_THAT(printed, Catch::Matchers::Contains(
                          "\n[slurm]\nbatch = \"steps\"\non_failed_checkpoint = \"end\"\n"));
  CHECK(parse_policy(printed, "printed.toml") == policy);

  // [slurm] comes before the groups.
  policy.groups = {Group{"main", {App{"./a", {}, {}, std::nullopt}}}};
  const std::string with_group = print_policy(policy);
  CHECK(with_group.find("\n[slurm]\n") < with_group.find("\n[[group]]\n"));
  CHECK(parse_policy(with_group, "printed.toml") == policy);
}

TEST_CASE("the built-in default policy in docs/policy.md is what print_policy prints",
          "[slurm][defaults][docs]") {
  std::ifstream file(test::examples_directory() / ".." / "docs" / "policy.md");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("\n## The built-in default policy\n");
  REQUIRE(section != std::string::npos);
  const std::string opening = "```toml\n";
  const auto begin = doc.find(opening, section);
  REQUIRE(begin != std::string::npos);
  const auto end = doc.find("```\n", begin + opening.size());
  REQUIRE(end != std::string::npos);
  const std::string documented = doc.substr(begin + opening.size(), end - begin - opening.size());

  // The documentation leaves out the first comment line and the note about groups.
  std::string printed = print_policy(default_policy());
  printed.erase(0, printed.find('\n') + 1);
  printed.erase(printed.find("\n# No [[group]]"));
  CHECK(documented == printed);
}

TEST_CASE("the slurm example sets stop_timeout and [slurm]", "[slurm][examples]") {
  const Policy policy = load_policy_file(test::examples_directory() / "slurm.toml");
  CHECK(policy.signals.stop_timeout == 50s);
  CHECK(policy.slurm.batch == BatchMode::script);
  CHECK(policy.slurm.on_failed_checkpoint == FailedCheckpointAction::requeue);
  CHECK(effective_stop_timeout(policy) == 50s);
}
