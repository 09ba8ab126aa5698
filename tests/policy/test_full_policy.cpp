#include <catch2/catch.hpp>
#include <csignal>

#include "ckpt/policy/policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt::policy;
using namespace std::chrono_literals;

TEST_CASE("every key of a full policy is read", "[parse]") {
  const Policy policy = parse_policy(R"(
version = 1

[job]
name = "cfd"

[checkpoint]
interval = "1h30m"
timeout = "90s"
incremental_depth = 7
after_chain = "merge"
dirty_tracking = "uffd-wp"
compression = "zstd"
compression_level = 19

[signals]
checkpoint = ["USR2", "SIGRTMIN+3"]
checkpoint_and_stop = ["SIGTERM", "sigint"]
stop_timeout = "50s"

[storage]
image = "/scratch/{user}/{name}-{job}.{step}.{task}@{node}.h5"
keep_full = 3
include = ["output/", "log.txt"]
exclude = ["output/tmp/"]
on_external_change = "refuse"

[slurm]
batch = "steps"
on_failed_checkpoint = "end"

[[group]]
name = "solvers"

[[group.app]]
command = "/opt/cfd/bin/solver"
args = ["-n", "4", ""]
env = { OMP_NUM_THREADS = "2", "WITH SPACE" = "x y" }
cwd = "run/"

[[group.app]]
command = "monitor"

[[group]]
name = "post"

[[group.app]]
command = "./post"
[group.app.env]
MODE = "watch"
)",
                                     "full.toml");

  CHECK(policy.job.name == "cfd");

  CHECK(policy.checkpoint.interval == 90min);
  CHECK(policy.checkpoint.timeout == 90s);
  CHECK(policy.checkpoint.incremental_depth == 7);
  CHECK(policy.checkpoint.after_chain == AfterChain::merge);
  CHECK(policy.checkpoint.dirty_tracking == DirtyTracking::uffd_wp);
  CHECK(policy.checkpoint.compression == Compression::zstd);
  CHECK(policy.checkpoint.compression_level == 19);

  CHECK(policy.signals.checkpoint == std::vector<int>{SIGUSR2, SIGRTMIN + 3});
  CHECK(policy.signals.checkpoint_and_stop == std::vector<int>{SIGTERM, SIGINT});
  CHECK(policy.signals.stop_timeout == 50s);

  CHECK(policy.storage.image == "/scratch/{user}/{name}-{job}.{step}.{task}@{node}.h5");
  CHECK(policy.storage.keep_full == 3);
  CHECK(policy.storage.include == std::vector<std::string>{"output/", "log.txt"});
  CHECK(policy.storage.exclude == std::vector<std::string>{"output/tmp/"});
  CHECK(policy.storage.on_external_change == ExternalChangeAction::refuse);

  CHECK(policy.slurm.batch == BatchMode::steps);
  CHECK(policy.slurm.on_failed_checkpoint == FailedCheckpointAction::end);

  REQUIRE(policy.groups.size() == 2);
  const Group& solvers = policy.groups[0];
  CHECK(solvers.name == "solvers");
  REQUIRE(solvers.apps.size() == 2);
  CHECK(solvers.apps[0].command == "/opt/cfd/bin/solver");
  CHECK(solvers.apps[0].args == std::vector<std::string>{"-n", "4", ""});
  CHECK(solvers.apps[0].env ==
        std::map<std::string, std::string>{{"OMP_NUM_THREADS", "2"}, {"WITH SPACE", "x y"}});
  CHECK(solvers.apps[0].cwd == "run/");
  CHECK(solvers.apps[1] == App{"monitor", {}, {}, std::nullopt});

  const Group& post = policy.groups[1];
  CHECK(post.name == "post");
  REQUIRE(post.apps.size() == 1);
  CHECK(post.apps[0].command == "./post");
  CHECK(post.apps[0].env == std::map<std::string, std::string>{{"MODE", "watch"}});
}

TEST_CASE("every enumerator is accepted by its key", "[parse]") {
  const auto with_checkpoint = [](std::string_view keys) {
    return parse_policy("version = 1\n[checkpoint]\n" + std::string(keys), "enum.toml").checkpoint;
  };
  CHECK(with_checkpoint("after_chain = \"full\"").after_chain == AfterChain::full);
  CHECK(with_checkpoint("dirty_tracking = \"auto\"").dirty_tracking == DirtyTracking::automatic);
  CHECK(with_checkpoint("dirty_tracking = \"mprotect\"").dirty_tracking == DirtyTracking::mprotect);
  CHECK(with_checkpoint("dirty_tracking = \"soft-dirty\"").dirty_tracking ==
        DirtyTracking::soft_dirty);
  CHECK(with_checkpoint("dirty_tracking = \"hash\"").dirty_tracking == DirtyTracking::hash);
  CHECK(with_checkpoint("incremental_depth = 0\ndirty_tracking = \"none\"").dirty_tracking ==
        DirtyTracking::none);
  CHECK(with_checkpoint("compression = \"none\"").compression == Compression::none);
  CHECK(with_checkpoint("compression = \"lz4\"").compression == Compression::lz4);
  CHECK(with_checkpoint("interval = \"off\"").interval == std::nullopt);

  const auto keep = parse_policy("version = 1\n[storage]\non_external_change = \"keep\"", "e.toml");
  CHECK(keep.storage.on_external_change == ExternalChangeAction::keep);
}

TEST_CASE("empty signal lists switch the signals off", "[parse]") {
  const Policy policy =
      parse_policy("version = 1\n[signals]\ncheckpoint = []\ncheckpoint_and_stop = []", "s.toml");
  CHECK(policy.signals.checkpoint.empty());
  CHECK(policy.signals.checkpoint_and_stop.empty());
}

TEST_CASE("the solver example sets every key", "[parse][examples]") {
  const Policy policy = load_policy_file(test::examples_directory() / "solver.toml");
  CHECK(policy.job.name == "solver");
  CHECK(policy.checkpoint.interval == 15min);
  CHECK(policy.checkpoint.timeout == 5min);
  CHECK(policy.checkpoint.incremental_depth == 4);
  CHECK(policy.checkpoint.after_chain == AfterChain::merge);
  CHECK(policy.checkpoint.dirty_tracking == DirtyTracking::automatic);
  CHECK(policy.checkpoint.compression == Compression::zstd);
  CHECK(policy.checkpoint.compression_level == 3);
  CHECK(policy.signals.checkpoint == std::vector<int>{SIGUSR1});
  CHECK(policy.signals.checkpoint_and_stop == std::vector<int>{SIGTERM});
  CHECK(policy.storage.image == "{name}.ckpt.h5");
  CHECK(policy.storage.keep_full == 2);
  CHECK(policy.storage.include == std::vector<std::string>{"output/"});
  CHECK(policy.storage.exclude == std::vector<std::string>{"output/scratch/"});
  CHECK(policy.storage.on_external_change == ExternalChangeAction::rollback);
  REQUIRE(policy.groups.size() == 1);
  CHECK(policy.groups[0].name == "main");
  REQUIRE(policy.groups[0].apps.size() == 1);
  const App& solver = policy.groups[0].apps[0];
  CHECK(solver.command == "./solver");
  CHECK(solver.args == std::vector<std::string>{"-n", "4", "--input", "input/mesh.dat"});
  CHECK(solver.env == std::map<std::string, std::string>{{"OMP_NUM_THREADS", "2"}});
  CHECK(solver.cwd == "run/");
}

TEST_CASE("the workflow example has two apps in one group", "[parse][examples]") {
  const Policy policy = load_policy_file(test::examples_directory() / "workflow.toml");
  REQUIRE(policy.groups.size() == 1);
  CHECK(policy.groups[0].name == "pipeline");
  REQUIRE(policy.groups[0].apps.size() == 2);
  CHECK(policy.groups[0].apps[0].command == "./simulate");
  CHECK(policy.groups[0].apps[1].command == "python3");
  CHECK(policy.checkpoint.incremental_depth == 5);
}

TEST_CASE("the slurm example puts job, task and node into the image path", "[parse][examples]") {
  const Policy policy = load_policy_file(test::examples_directory() / "slurm.toml");
  const std::string& image = policy.storage.image;
  CHECK(image.find("{job}") != std::string::npos);
  CHECK(image.find("{task}") != std::string::npos);
  CHECK(image.find("{node}") != std::string::npos);
  CHECK(policy.groups.empty());
}
