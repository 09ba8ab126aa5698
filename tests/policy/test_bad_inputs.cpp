// Every way a policy file can be wrong, with the exact one-line message.

#include <catch2/catch.hpp>

#include "ckpt/policy/policy.hpp"

using namespace ckpt::policy;

namespace {

struct BadInput {
  const char* toml;
  const char* message;
};

// Shorthands for the parts most rows share.
#define V1 "version = 1\n"
#define ONE_APP "[[group]]\nname = \"main\"\n[[group.app]]\n"

const BadInput kBadInputs[] = {
    // TOML syntax
    {V1 "[checkpoint\n",
     "bad.toml:2:12: invalid TOML: error while parsing table header: expected ']', saw '\\n'"},
    {V1 "version = 1\n",
     "bad.toml:2:11: invalid TOML: error while parsing key-value pair: cannot redefine existing "
     "integer 'version'"},
    {V1 "[job]\nname = \"unterminated\n",
     "bad.toml:3:21: invalid TOML: error while parsing string: unescaped control characters "
     "other than TAB (U+0009) are explicitly prohibited"},

    // version
    {"",
     "bad.toml:1:1: missing required key 'version' at the top level (start the file with "
     "\"version = 1\")"},
    {"[job]\nname = \"x\"\n",
     "bad.toml:1:1: missing required key 'version' at the top level (start the file with "
     "\"version = 1\")"},
    {"version = 2\n[new_table]\n",
     "bad.toml:1:11: version: this policy needs schema version 2, but this ckpt reads only "
     "version 1; use a newer ckpt or write a version 1 policy"},
    {"version = 0\n", "bad.toml:1:11: version: there is no schema version 0; write version = 1"},
    {"version = \"1\"\n", "bad.toml:1:11: version: expected an integer, got string"},

    // unknown keys, at every level
    {V1 "[chekpoint]\n",
     "bad.toml:2:2: unknown key 'chekpoint' at the top level; did you mean 'checkpoint'?"},
    {V1 "colour = 1\n", "bad.toml:2:1: unknown key 'colour' at the top level"},
    {V1 "[job]\nnmae = \"x\"\n", "bad.toml:3:1: unknown key 'nmae' in [job]; did you mean 'name'?"},
    {V1 "[checkpoint]\nintervall = \"15m\"\n",
     "bad.toml:3:1: unknown key 'intervall' in [checkpoint]; did you mean 'interval'?"},
    {V1 "[checkpoint]\ntimeout = \"1m\"\nzzz = 1\nyyy = 2\n",
     "bad.toml:4:1: unknown key 'zzz' in [checkpoint]"},
    {V1 "[signals]\ncheckpiont = []\n",
     "bad.toml:3:1: unknown key 'checkpiont' in [signals]; did you mean 'checkpoint'?"},
    {V1 "[storage]\nkeep = 1\n", "bad.toml:3:1: unknown key 'keep' in [storage]"},
    {V1 ONE_APP "comand = \"x\"\n",
     "bad.toml:5:1: unknown key 'comand' in [[group.app]]; did you mean 'command'?"},
    {V1 "[[group]]\nname = \"main\"\napps = []\n",
     "bad.toml:4:1: unknown key 'apps' in [[group]]; did you mean 'app'?"},

    // wrong types
    {V1 "job = \"x\"\n", "bad.toml:2:7: job: expected a table, got string"},
    {V1 "[job]\nname = 3\n", "bad.toml:3:8: job.name: expected a string, got integer"},
    {V1 "[checkpoint]\ninterval = 15\n",
     "bad.toml:3:12: checkpoint.interval: expected a string (duration like \"15m\"), got integer"},
    {V1 "[checkpoint]\nincremental_depth = \"3\"\n",
     "bad.toml:3:21: checkpoint.incremental_depth: expected an integer, got string"},
    {V1 "[checkpoint]\nincremental_depth = 2.5\n",
     "bad.toml:3:21: checkpoint.incremental_depth: expected an integer, got float"},
    {V1 "[signals]\ncheckpoint = \"SIGUSR1\"\n",
     "bad.toml:3:14: signals.checkpoint: expected an array of signal names, got string"},
    {V1 "[signals]\ncheckpoint = [15]\n",
     "bad.toml:3:15: signals.checkpoint[0]: expected a signal name like \"SIGTERM\", got integer"},
    {V1 "[storage]\ninclude = \"output/\"\n",
     "bad.toml:3:11: storage.include: expected an array of paths, got string"},
    {V1 "[group]\nname = \"main\"\n",
     "bad.toml:2:1: group: expected an array of tables ([[group]]), got table"},
    {V1 "group = [1]\n", "bad.toml:2:10: group[0]: expected a table, got integer"},
    {V1 ONE_APP "command = \"a\"\nargs = [\"-n\", 4]\n",
     "bad.toml:6:15: group[0].app[0].args[1]: expected a string, got integer"},
    {V1 ONE_APP "command = \"a\"\nenv = \"X=1\"\n",
     "bad.toml:6:7: group[0].app[0].env: expected a table, got string"},
    {V1 ONE_APP "command = \"a\"\nenv = { X = 1 }\n",
     "bad.toml:6:13: group[0].app[0].env.X: expected a string, got integer"},
    {V1 ONE_APP "command = [\"a\"]\n",
     "bad.toml:5:11: group[0].app[0].command: expected a string, got array"},

    // durations
    {V1 "[checkpoint]\ninterval = \"15x\"\n",
     "bad.toml:3:12: checkpoint.interval: bad duration \"15x\": unknown unit 'x' (use ms, s, m, "
     "h)"},
    {V1 "[checkpoint]\ninterval = \"15\"\n",
     "bad.toml:3:12: checkpoint.interval: bad duration \"15\": missing unit after 15 (use ms, s, "
     "m, "
     "h)"},
    {V1 "[checkpoint]\ninterval = \"-5m\"\n",
     "bad.toml:3:12: checkpoint.interval: bad duration \"-5m\": a duration cannot be negative"},
    {V1 "[checkpoint]\ninterval = \"0s\"\n",
     "bad.toml:3:12: checkpoint.interval: an interval of 0s is too short; use at least 1s, or "
     "\"off\""},
    {V1 "[checkpoint]\ninterval = \"500ms\"\n",
     "bad.toml:3:12: checkpoint.interval: an interval of 500ms is too short; use at least 1s, or "
     "\"off\""},
    {V1 "[checkpoint]\ntimeout = \"999ms\"\n",
     "bad.toml:3:11: checkpoint.timeout: a timeout of 999ms is too short; use at least 1s"},
    {V1 "[checkpoint]\ntimeout = \"off\"\n",
     "bad.toml:3:11: checkpoint.timeout: a timeout cannot be \"off\"; give a duration like "
     "\"10m\""},

    // numbers out of range
    {V1 "[checkpoint]\nincremental_depth = -1\n",
     "bad.toml:3:21: checkpoint.incremental_depth: must be from 0 to 1000, got -1"},
    {V1 "[checkpoint]\nincremental_depth = 1001\n",
     "bad.toml:3:21: checkpoint.incremental_depth: must be from 0 to 1000, got 1001"},
    {V1 "[checkpoint]\ncompression = \"zstd\"\ncompression_level = 20\n",
     "bad.toml:4:21: checkpoint.compression_level: must be from 1 to 19, got 20"},
    {V1 "[checkpoint]\ncompression = \"zstd\"\ncompression_level = 0\n",
     "bad.toml:4:21: checkpoint.compression_level: must be from 1 to 19, got 0"},
    {V1 "[storage]\nkeep_full = 0\n",
     "bad.toml:3:13: storage.keep_full: must be from 1 to 1000, got 0"},

    // values that are not one of the choices, or contradict another key
    {V1 "[checkpoint]\nafter_chain = \"merged\"\n",
     "bad.toml:3:15: checkpoint.after_chain: \"merged\" is not one of \"full\", \"merge\"; did you "
     "mean \"merge\"?"},
    {V1 "[checkpoint]\ndirty_tracking = \"uffdwp\"\n",
     "bad.toml:3:18: checkpoint.dirty_tracking: \"uffdwp\" is not one of \"auto\", \"uffd-wp\", "
     "\"mprotect\", \"soft-dirty\", \"hash\", \"none\"; did you mean \"uffd-wp\"?"},
    {V1 "[checkpoint]\ndirty_tracking = \"none\"\n",
     "bad.toml:3:18: checkpoint.dirty_tracking: \"none\" finds no changed pages, so every "
     "checkpoint is full; set incremental_depth = 0 as well"},
    {V1 "[checkpoint]\ncompression = \"lz5\"\n",
     "bad.toml:3:15: checkpoint.compression: \"lz5\" is not one of \"lz4\", \"zstd\", \"none\"; "
     "did you mean \"lz4\"?"},
    {V1 "[checkpoint]\ncompression_level = 3\n",
     "bad.toml:3:21: checkpoint.compression_level: only zstd has levels, but compression = "
     "\"lz4\""},
    {V1 "[storage]\non_external_change = \"ignore\"\n",
     "bad.toml:3:22: storage.on_external_change: \"ignore\" is not one of \"rollback\", \"keep\", "
     "\"refuse\""},

    // signals
    {V1 "[signals]\ncheckpoint = [\"SIGFOO\"]\n",
     "bad.toml:3:15: signals.checkpoint[0]: unknown signal \"SIGFOO\" (write e.g. \"SIGTERM\", "
     "\"USR1\", \"SIGRTMIN+3\")"},
    {V1 "[signals]\ncheckpoint_and_stop = [\"SIGTERM\", \"SIGKILL\"]\n",
     "bad.toml:3:35: signals.checkpoint_and_stop[1]: SIGKILL cannot be caught"},
    {V1 "[signals]\ncheckpoint = [\"STOP\"]\n",
     "bad.toml:3:15: signals.checkpoint[0]: SIGSTOP cannot be caught"},
    {V1 "[signals]\ncheckpoint = [\"SIGSEGV\"]\n",
     "bad.toml:3:15: signals.checkpoint[0]: SIGSEGV reports a fault in a program, not a request"},
    {V1 "[signals]\ncheckpoint = [\"USR1\", \"SIGUSR1\"]\n",
     "bad.toml:3:23: signals.checkpoint[1]: SIGUSR1 is listed twice"},
    {V1 "[signals]\ncheckpoint = [\"SIGUSR1\"]\ncheckpoint_and_stop = [\"USR1\"]\n",
     "bad.toml:4:24: signals.checkpoint_and_stop[0]: SIGUSR1 is also in signals.checkpoint; a "
     "signal can do only one thing"},
    {V1 "[signals]\ncheckpoint_and_stop = [\"SIGUSR1\"]\n",
     "bad.toml:3:24: signals.checkpoint_and_stop[0]: SIGUSR1 is also in signals.checkpoint; a "
     "signal can do only one thing"},

    // storage
    {V1 "[storage]\nimage = \"{name}-{jobid}.h5\"\n",
     "bad.toml:3:9: storage.image: unknown placeholder '{jobid}' (known: {name} {job} {step} "
     "{task} {node} {user}); did you mean '{job}'?"},
    {V1 "[storage]\nimage = \"{name.h5\"\n",
     "bad.toml:3:9: storage.image: unmatched '{' at character 1"},
    {V1 "[storage]\nimage = \"\"\n",
     "bad.toml:3:9: storage.image: the image path must not be empty"},
    {V1 "[storage]\ninclude = [\"a\", \"\"]\n",
     "bad.toml:3:17: storage.include[1]: a path must not be empty"},
    {V1 "[storage]\ninclude = [\"out/\", \"log\", \"out/\"]\n",
     "bad.toml:3:27: storage.include[2]: \"out/\" is listed twice"},
    {V1 "[storage]\ninclude = [\"out/\"]\nexclude = [\"out/\"]\n",
     "bad.toml:4:12: storage.exclude[0]: \"out/\" is also in storage.include"},

    // names
    {V1 "[job]\nname = \"\"\n", "bad.toml:3:8: job.name: the name must not be empty"},
    {V1 "[job]\nname = \"a/b\"\n", "bad.toml:3:8: job.name: the name 'a/b' must not contain '/'"},
    {V1 "[job]\nname = \"a\\tb\"\n",
     "bad.toml:3:8: job.name: the name must not contain control characters"},
    {V1 "[[group]]\nname = \"..\"\n", "bad.toml:3:8: group[0].name: '..' is not a usable name"},

    // [signals] stop_timeout
    {V1 "[signals]\nstop_timout = \"50s\"\n",
     "bad.toml:3:1: unknown key 'stop_timout' in [signals]; did you mean 'stop_timeout'?"},
    {V1 "[signals]\nstop_timeout = 50\n",
     "bad.toml:3:16: signals.stop_timeout: expected a string (duration like \"15m\"), got "
     "integer"},
    {V1 "[signals]\nstop_timeout = \"50\"\n",
     "bad.toml:3:16: signals.stop_timeout: bad duration \"50\": missing unit after 50 (use ms, "
     "s, m, h)"},
    {V1 "[signals]\nstop_timeout = \"0s\"\n",
     "bad.toml:3:16: signals.stop_timeout: a stop timeout of 0s is too short; use at least 1s, "
     "or \"off\" to use checkpoint.timeout"},
    {V1 "[signals]\nstop_timeout = \"999ms\"\n",
     "bad.toml:3:16: signals.stop_timeout: a stop timeout of 999ms is too short; use at least "
     "1s, or \"off\" to use checkpoint.timeout"},

    // [slurm]
    {V1 "[slurn]\n", "bad.toml:2:2: unknown key 'slurn' at the top level; did you mean 'slurm'?"},
    {V1 "slurm = \"steps\"\n", "bad.toml:2:9: slurm: expected a table, got string"},
    {V1 "[slurm]\nbach = \"steps\"\n",
     "bad.toml:3:1: unknown key 'bach' in [slurm]; did you mean 'batch'?"},
    {V1 "[slurm]\nbatch = \"steps\"\non_failed = \"end\"\n",
     "bad.toml:4:1: unknown key 'on_failed' in [slurm]"},
    {V1 "[slurm]\nbatch = true\n", "bad.toml:3:9: slurm.batch: expected a string, got boolean"},
    {V1 "[slurm]\nbatch = \"step\"\n",
     "bad.toml:3:9: slurm.batch: \"step\" is not one of \"script\", \"steps\"; did you mean "
     "\"steps\"?"},
    {V1 "[slurm]\nbatch = \"job\"\n",
     "bad.toml:3:9: slurm.batch: \"job\" is not one of \"script\", \"steps\""},
    {V1 "[slurm]\non_failed_checkpoint = [\"end\"]\n",
     "bad.toml:3:24: slurm.on_failed_checkpoint: expected a string, got array"},
    {V1 "[slurm]\non_failed_checkpoint = \"requeu\"\n",
     "bad.toml:3:24: slurm.on_failed_checkpoint: \"requeu\" is not one of \"requeue\", \"end\"; "
     "did you mean \"requeue\"?"},
    {V1 "[slurm]\non_failed_checkpoint = \"fail\"\n",
     "bad.toml:3:24: slurm.on_failed_checkpoint: \"fail\" is not one of \"requeue\", \"end\""},

    // groups and apps
    {V1 "[[group]]\n[[group.app]]\ncommand = \"a\"\n",
     "bad.toml:2:1: missing required key 'name' in [[group]]"},
    {V1 "[[group]]\nname = \"main\"\n",
     "bad.toml:2:1: group[0]: group \"main\" has no [[group.app]]; add at least one"},
    {V1 "[[group]]\nname = \"main\"\napp = []\n",
     "bad.toml:4:7: group[0].app: group \"main\" needs at least one app"},
    {V1 ONE_APP "command = \"a\"\n" ONE_APP "command = \"b\"\n",
     "bad.toml:6:1: group[1]: the group name \"main\" is already used by group[0]"},
    {V1 ONE_APP "args = [\"x\"]\n",
     "bad.toml:4:1: missing required key 'command' in [[group.app]]"},
    {V1 ONE_APP "command = \"\"\n",
     "bad.toml:5:11: group[0].app[0].command: the command must not be empty"},
    {V1 ONE_APP "command = \"a\\u0000b\"\n",
     "bad.toml:5:11: group[0].app[0].command: must not contain a NUL character"},
    {V1 ONE_APP "command = \"a\"\nenv = { \"A=B\" = \"1\" }\n",
     "bad.toml:6:9: group[0].app[0].env: \"A=B\" is not a usable environment variable name"},
    {V1 ONE_APP "command = \"a\"\ncwd = \"\"\n",
     "bad.toml:6:7: group[0].app[0].cwd: must not be empty; leave cwd out to use the launch "
     "directory"},
};

#undef V1
#undef ONE_APP

}  // namespace

TEST_CASE("every bad input gives exactly its one-line message", "[bad-inputs]") {
  STATIC_REQUIRE(std::size(kBadInputs) >= 25);
  for (const BadInput& bad : kBadInputs) {
    CAPTURE(bad.toml);
    std::string message = "(accepted)";
    try {
      parse_policy(bad.toml, "bad.toml");
    } catch (const PolicyError& error) {
      message = error.what();
    }
    CHECK(message == bad.message);
    CHECK(message.find('\n') == std::string::npos);
  }
}
