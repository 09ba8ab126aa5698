#include <catch2/catch.hpp>
#include <csignal>

#include "ckpt/policy/policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt::policy;
using namespace std::chrono_literals;

TEST_CASE("the built-in default policy", "[defaults]") {
  const Policy policy = default_policy();
  CHECK(policy.job.name == std::nullopt);
  CHECK(policy.checkpoint.interval == 30min);
  CHECK(policy.checkpoint.timeout == 10min);
  CHECK(policy.checkpoint.incremental_depth == 3);
  CHECK(policy.checkpoint.after_chain == AfterChain::full);
  CHECK(policy.checkpoint.dirty_tracking == DirtyTracking::automatic);
  CHECK(policy.checkpoint.compression == Compression::lz4);
  CHECK(policy.checkpoint.compression_level == 1);
  CHECK(policy.signals.checkpoint == std::vector<int>{SIGUSR1});
  CHECK(policy.signals.checkpoint_and_stop == std::vector<int>{SIGTERM});
  CHECK(policy.signals.stop_timeout == std::nullopt);
  CHECK(policy.storage.image == "{name}.ckpt.h5");
  CHECK(policy.storage.keep_full == 2);
  CHECK(policy.storage.include.empty());
  CHECK(policy.storage.exclude.empty());
  CHECK(policy.storage.on_external_change == ExternalChangeAction::rollback);
  CHECK(policy.slurm.batch == BatchMode::script);
  CHECK(policy.slurm.on_failed_checkpoint == FailedCheckpointAction::requeue);
  CHECK(policy.groups.empty());
}

TEST_CASE("a file with only the version is the default policy", "[defaults]") {
  CHECK(parse_policy("version = 1\n", "v.toml") == default_policy());
  CHECK(parse_policy("version = 1\n[job]\n[checkpoint]\n[signals]\n[storage]\n[slurm]\n",
                     "v.toml") == default_policy());
}

TEST_CASE("keys left out keep their defaults", "[defaults]") {
  const Policy policy = parse_policy("version = 1\n[checkpoint]\ninterval = \"5m\"\n", "p.toml");
  Policy expected = default_policy();
  expected.checkpoint.interval = 5min;
  CHECK(policy == expected);
}

TEST_CASE("the minimal example is the default plus one application", "[defaults][examples]") {
  const Policy policy = load_policy_file(test::examples_directory() / "minimal.toml");
  Policy expected = default_policy();
  expected.groups = {Group{"main", {App{"./solver", {}, {}, std::nullopt}}}};
  CHECK(policy == expected);
}

TEST_CASE("the job name defaults to the first command's file name", "[defaults]") {
  Policy policy = default_policy();
  CHECK(resolve_job_name(policy) == "job");
  policy.groups = {Group{"main", {App{"/opt/bin/solver", {"-n"}, {}, std::nullopt}}}};
  CHECK(resolve_job_name(policy) == "solver");
  policy.groups[0].apps[0].command = "solver/";
  CHECK(resolve_job_name(policy) == "job");
  policy.groups[0].apps.push_back(App{"./post", {}, {}, std::nullopt});
  CHECK(resolve_job_name(policy) == "post");
  policy.job.name = "named";
  CHECK(resolve_job_name(policy) == "named");
}
