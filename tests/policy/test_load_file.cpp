#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include "ckpt/policy/policy.hpp"
#include "policy_test_support.hpp"

using namespace ckpt::policy;

namespace {

std::string load_error(const std::filesystem::path& file) {
  try {
    load_policy_file(file);
  } catch (const PolicyError& error) {
    return error.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_CASE("a policy file is read and named in errors", "[load-file]") {
  const test::TemporaryDirectory directory;
  const auto good = test::write_file(directory, "good.toml", "version = 1\n[job]\nname = \"x\"\n");
  CHECK(load_policy_file(good).job.name == "x");

  const auto bad = test::write_file(directory, "bad.toml", "version = 1\n[job]\nname = 3\n");
  CHECK(load_error(bad) == bad.string() + ":3:8: job.name: expected a string, got integer");
}

TEST_CASE("a missing policy file is one clear line", "[load-file]") {
  const test::TemporaryDirectory directory;
  const auto missing = std::filesystem::path(directory.file("missing.toml"));
  CHECK(load_error(missing) ==
        missing.string() + ": cannot read policy: No such file or directory");
}

TEST_CASE("a directory is not a policy file", "[load-file]") {
  const test::TemporaryDirectory directory;
  CHECK(load_error(directory.path()) == directory.path() + ": cannot read policy: Is a directory");
}

TEST_CASE("an unreadable policy file is one clear line", "[load-file]") {
  if (geteuid() == 0) {
    SUCCEED("root reads files whatever their mode; checked when run as a normal user");
    return;
  }
  const test::TemporaryDirectory directory;
  const auto secret = test::write_file(directory, "secret.toml", "version = 1\n");
  REQUIRE(chmod(secret.c_str(), 0) == 0);
  CHECK(load_error(secret) == secret.string() + ": cannot read policy: Permission denied");
}
