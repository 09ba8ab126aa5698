#!/bin/sh
# ckpt-launch end to end: usage: ckpt_launch_cli_test.sh CKPT_LAUNCH EXAMPLES_DIR
# Fails (exit 1) on the first output or exit status that is not the expected one.
set -u
launch=$1
examples=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-launch-cli.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect STATUS STDOUT_FILE STDERR_FILE -- COMMAND...: runs COMMAND, checks the status and
# that stdout and stderr equal the given files (/dev/null for nothing).
expect() {
  status=$1 out=$2 err=$3
  shift 4
  "$@" >"$work/got-stdout" 2>"$work/got-stderr"
  got=$?
  [ "$got" -eq "$status" ] || fail "$*: exit status $got, expected $status"
  cmp -s "$work/got-stdout" "$out" || fail "$*: stdout was: $(cat "$work/got-stdout")"
  cmp -s "$work/got-stderr" "$err" || fail "$*: stderr was: $(cat "$work/got-stderr")"
}

line() { printf '%s\n' "$1" >"$work/$2"; }

# The default policy, printed, is a valid policy file.
"$launch" --print-policy >"$work/default.toml" || fail "--print-policy exited $?"
grep -q '^version = 1$' "$work/default.toml" || fail "--print-policy printed no version"
grep -q '^stop_timeout = "off"$' "$work/default.toml" || fail "--print-policy printed no stop_timeout"
sed -n '/^\[slurm\]$/,/^$/p' "$work/default.toml" >"$work/slurm-table"
printf '[slurm]\nbatch = "script"\non_failed_checkpoint = "requeue"\n\n' >"$work/slurm-expected"
cmp -s "$work/slurm-table" "$work/slurm-expected" || fail "--print-policy [slurm] was: $(cat "$work/slurm-table")"
line "$work/default.toml: ok" ok
expect 0 "$work/ok" /dev/null -- "$launch" --check-policy --policy "$work/default.toml"
# ... and prints back identically.
"$launch" --print-policy --policy "$work/default.toml" >"$work/again.toml"
cmp -s "$work/default.toml" "$work/again.toml" || fail "the default policy does not print back the same"

line "built-in default policy: ok" ok
expect 0 "$work/ok" /dev/null -- "$launch" --check-policy

for example in "$examples"/*.toml; do
  line "$example: ok" ok
  expect 0 "$work/ok" /dev/null -- "$launch" --check-policy --policy "$example"
done

# A bad policy: exit 2 and one line naming file:line:column.
printf 'version = 1\n[checkpoint]\nintervall = "15m"\n' >"$work/bad.toml"
line "ckpt-launch: $work/bad.toml:3:1: unknown key 'intervall' in [checkpoint]; did you mean 'interval'?" err
expect 2 /dev/null "$work/err" -- "$launch" --check-policy --policy "$work/bad.toml"
expect 2 /dev/null "$work/err" -- "$launch" --print-policy --policy "$work/bad.toml"
expect 2 /dev/null "$work/err" -- "$launch" --policy "$work/bad.toml" -- ./solver

printf 'version = 1\n[slurm]\nbatch = "step"\n' >"$work/bad-slurm.toml"
line "ckpt-launch: $work/bad-slurm.toml:3:9: slurm.batch: \"step\" is not one of \"script\", \"steps\"; did you mean \"steps\"?" err
expect 2 /dev/null "$work/err" -- "$launch" --check-policy --policy "$work/bad-slurm.toml"

line "ckpt-launch: $work/missing.toml: cannot read policy: No such file or directory" err
expect 2 /dev/null "$work/err" -- "$launch" --check-policy --policy "$work/missing.toml"

# Overrides are validated and named.
line "ckpt-launch: --interval: bad duration \"15x\": unknown unit 'x' (use ms, s, m, h)" err
expect 2 /dev/null "$work/err" -- "$launch" --interval 15x --print-policy
"$launch" --interval 1h30m --image 'ckpt/{name}.{job}.h5' --print-policy -- ./solver -n 4 >"$work/effective.toml" ||
  fail "--print-policy with overrides exited $?"
grep -q '^interval = "1h30m"$' "$work/effective.toml" || fail "--interval was not applied"
grep -q '^image = "ckpt/{name}.{job}.h5"$' "$work/effective.toml" || fail "--image was not applied"
grep -q '^args = \["-n", "4"\]$' "$work/effective.toml" || fail "the command is not in the effective policy"

# Bad usage.
line "ckpt-launch: unknown option '--polcy'; did you mean '--policy'? (see ckpt-launch --help)" err
expect 2 /dev/null "$work/err" -- "$launch" --polcy x
line "ckpt-launch: no command given and the policy has no [[group]]; usage: ckpt-launch [options] -- CMD ARGS..." err
expect 2 /dev/null "$work/err" -- "$launch"

# (Running commands is the engine's part: tests/engine.)
# One ckpt-launch runs one group (of any number of applications).
cat >"$work/two-groups.toml" <<'TOML'
version = 1
[[group]]
name = "a"
[[group.app]]
command = "true"
[[group]]
name = "b"
[[group.app]]
command = "true"
TOML
line "ckpt-launch: the policy has 2 groups; one ckpt-launch runs one group (start one per group)" err
expect 3 /dev/null "$work/err" -- "$launch" --policy "$work/two-groups.toml"

# --help and --version.
"$launch" --help >"$work/out" || fail "--help exited $?"
grep -q '^Usage: ckpt-launch' "$work/out" || fail "--help printed no usage"
"$launch" --version >"$work/out" || fail "--version exited $?"
grep -q '^ckpt-launch (ckpt) [0-9]' "$work/out" || fail "--version printed: $(cat "$work/out")"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "all ckpt-launch checks passed"
