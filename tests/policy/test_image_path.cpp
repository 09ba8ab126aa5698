#include <unistd.h>
#include <catch2/catch.hpp>

#include <map>

#include "ckpt/policy/image_path.hpp"

using namespace ckpt::policy;

namespace {

EnvironmentLookup fake_environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

std::string this_host() {
  char name[256] = {};
  REQUIRE(gethostname(name, sizeof name - 1) == 0);
  return name;
}

Policy policy_with_image(std::string image) {
  Policy policy = default_policy();
  policy.storage.image = std::move(image);
  return policy;
}

}  // namespace

TEST_CASE("placeholders come from Slurm's environment", "[image-path]") {
  const auto values = placeholder_values_from_environment(fake_environment({
      {"SLURM_JOB_ID", "4711"},
      {"SLURM_STEP_ID", "2"},
      {"SLURM_PROCID", "13"},
      {"SLURMD_NODENAME", "node017"},
  }));
  CHECK(values.job == "4711");
  CHECK(values.step == "2");
  CHECK(values.task == "13");
  CHECK(values.node == "node017");
  CHECK_FALSE(values.user.empty());
}

TEST_CASE("outside Slurm the placeholders have local values", "[image-path]") {
  const auto values = placeholder_values_from_environment(fake_environment({}));
  CHECK(values.job == "local");
  CHECK(values.step == "0");
  CHECK(values.task == "0");
  CHECK(values.node == this_host());
  CHECK_FALSE(values.user.empty());
}

TEST_CASE("empty Slurm variables count as unset", "[image-path]") {
  const auto values = placeholder_values_from_environment(
      fake_environment({{"SLURM_JOB_ID", ""}, {"SLURMD_NODENAME", ""}}));
  CHECK(values.job == "local");
  CHECK(values.node == this_host());
}

TEST_CASE("the user name is the effective user's", "[image-path]") {
  const auto values = placeholder_values_from_environment(fake_environment({{"USER", "not-me"}}));
  // The user database wins over $USER, which can be anything.
  if (geteuid() == 0) CHECK(values.user == "root");
  CHECK(values.user != "not-me");
}

TEST_CASE("every placeholder is expanded", "[image-path]") {
  Policy policy = policy_with_image("/scratch/{user}/{name}-{job}.{step}/{node}.task{task}.h5");
  policy.groups = {Group{"main", {App{"./bin/solver", {}, {}, std::nullopt}}}};
  const PlaceholderValues values{"4711", "1", "3", "node9", "alice"};
  CHECK(expand_image_path(policy, values) == "/scratch/alice/solver-4711.1/node9.task3.h5");

  policy.job.name = "cfd";
  CHECK(expand_image_path(policy, values) == "/scratch/alice/cfd-4711.1/node9.task3.h5");
}

TEST_CASE("the default image path outside Slurm", "[image-path]") {
  const PlaceholderValues local{"local", "0", "0", "host", "bob"};
  CHECK(expand_image_path(default_policy(), local) == "job.ckpt.h5");
  CHECK(expand_image_path(policy_with_image("{job}-{job}"), local) == "local-local");
  CHECK(expand_image_path(policy_with_image("plain.h5"), local) == "plain.h5");
}

TEST_CASE("bad image templates are refused with a reason", "[image-path]") {
  const auto problem = [](std::string_view image_template) {
    try {
      check_image_template(image_template);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("(accepted)");
  };
  CHECK(problem("{name}.h5") == "(accepted)");
  CHECK(problem("") == "the image path must not be empty");
  CHECK(problem("{jobid}.h5") ==
        "unknown placeholder '{jobid}' (known: {name} {job} {step} {task} {node} {user}); "
        "did you mean '{job}'?");
  CHECK(problem("{hostname}.h5") ==
        "unknown placeholder '{hostname}' (known: {name} {job} {step} {task} {node} {user})");
  CHECK(problem("{}.h5") ==
        "unknown placeholder '{}' (known: {name} {job} {step} {task} {node} {user})");
  CHECK(problem("a{name") == "unmatched '{' at character 2");
  CHECK(problem("a{{name}}") == "unmatched '{' at character 2");
  CHECK(problem("a}b") == "unmatched '}' at character 2");
  CHECK_THROWS_AS(expand_image_path(policy_with_image("{x}"), PlaceholderValues{}),
                  std::invalid_argument);
}
