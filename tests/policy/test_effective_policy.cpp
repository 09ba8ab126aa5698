#include <catch2/catch.hpp>

#include "launch_command_line.hpp"
#include "load_policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt;
using namespace ckpt::launcher;
using namespace std::chrono_literals;

namespace {

std::string usage_error(const std::vector<std::string>& arguments) {
  try {
    parse_launch_command_line(arguments);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "(accepted)";
}

std::string policy_error(const PolicySources& sources) {
  try {
    load_effective_policy(sources);
  } catch (const policy::PolicyError& error) {
    return error.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("ckpt-launch options and the command after --", "[launcher]") {
  const auto command_line =
      parse_launch_command_line({"--policy", "p.toml", "--image=x.h5", "--interval", "5m",
                                 "--print-policy", "--", "./solver", "--policy", "--", "-n"});
  CHECK(command_line.policy.policy_file == "p.toml");
  CHECK(command_line.policy.image == "x.h5");
  CHECK(command_line.policy.interval == "5m");
  CHECK(command_line.policy.command ==
        std::vector<std::string>{"./solver", "--policy", "--", "-n"});
  CHECK(command_line.print_policy);
  CHECK_FALSE(command_line.check_policy);
  CHECK_FALSE(command_line.help);
  CHECK_FALSE(command_line.version);

  CHECK(parse_launch_command_line({"--check-policy"}).check_policy);
  CHECK(parse_launch_command_line({"-h"}).help);
  CHECK(parse_launch_command_line({"--version"}).version);
  CHECK(parse_launch_command_line({}).policy.command.empty());
}

TEST_CASE("bad ckpt-launch options are one line", "[launcher]") {
  CHECK(usage_error({"--polcy", "x"}) == "unknown option '--polcy'; did you mean '--policy'?");
  CHECK(usage_error({"--bogus"}) == "unknown option '--bogus'");
  CHECK(usage_error({"--poli", "x"}) == "unknown option '--poli'; did you mean '--policy'?");
  CHECK(usage_error({"./solver"}) == "unexpected argument './solver'; put the command after '--'");
  CHECK(usage_error({"--policy"}) == "the required argument for option '--policy' is missing");
  CHECK(usage_error({"--policy", "a", "--policy", "b"}) ==
        "option '--policy' cannot be specified more than once");
  CHECK(usage_error({"--print-policy", "--check-policy"}) ==
        "--print-policy and --check-policy cannot be combined");
}

TEST_CASE("the effective policy without a file is the default", "[launcher]") {
  CHECK(load_effective_policy({}) == policy::default_policy());
  CHECK(policy_source_name({}) == "built-in default policy");
}

TEST_CASE("the command becomes group main", "[launcher]") {
  PolicySources sources;
  sources.command = {"/bin/solver", "-n", "4"};
  const policy::Policy effective = load_effective_policy(sources);
  REQUIRE(effective.groups.size() == 1);
  CHECK(effective.groups[0].name == "main");
  CHECK(effective.groups[0].apps == std::vector<policy::App>{{"/bin/solver", {"-n", "4"}, {}, {}}});
  CHECK(policy::resolve_job_name(effective) == "solver");
}

TEST_CASE("overrides replace the policy's values and are validated", "[launcher]") {
  const policy::test::TemporaryDirectory directory;
  PolicySources sources;
  sources.policy_file = policy::test::write_file(directory, "p.toml",
                                                 "version = 1\n[checkpoint]\ninterval = \"1h\"\n");
  sources.interval = "off";
  sources.image = "{name}-{job}.h5";
  const policy::Policy effective = load_effective_policy(sources);
  CHECK(effective.checkpoint.interval == std::nullopt);
  CHECK(effective.storage.image == "{name}-{job}.h5");

  sources.interval = "15x";
  CHECK(policy_error(sources) ==
        "--interval: bad duration \"15x\": unknown unit 'x' (use ms, s, m, h)");
  sources.interval = "10ms";
  CHECK(policy_error(sources) ==
        "--interval: an interval of 10ms is too short; use at least 1s, or \"off\"");
  sources.interval = "2m";
  sources.image = "{nmae}.h5";
  CHECK(policy_error(sources) ==
        "--image: unknown placeholder '{nmae}' (known: {name} {job} {step} {task} {node} "
        "{user}); did you mean '{name}'?");
}

TEST_CASE("a policy with groups takes no command", "[launcher]") {
  const policy::test::TemporaryDirectory directory;
  PolicySources sources;
  sources.policy_file = policy::test::write_file(
      directory, "g.toml",
      "version = 1\n[[group]]\nname = \"g\"\n[[group.app]]\ncommand = \"a\"\n");
  CHECK(load_effective_policy(sources).groups.size() == 1);
  sources.command = {"./other"};
  CHECK(policy_error(sources) ==
        sources.policy_file->string() +
            ": the policy has [[group]] tables, so it takes no command after '--'; add the "
            "command to a [[group.app]] or drop the groups");
}

TEST_CASE("an empty command is refused", "[launcher]") {
  PolicySources sources;
  sources.command = {""};
  CHECK(policy_error(sources) == "--: the command must not be empty");
}
