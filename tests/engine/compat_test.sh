#!/usr/bin/env bash
# A restart on a machine that differs from the checkpointed one (another
# kernel, a CPU without a feature the process may use) is refused with one
# clear line, and nothing is left running.
#
# usage: compat_test.sh BIN_DIR ERROR_TEST_SH FACTS_TAMPER PROGRAM
# PROGRAM is tests/engine/programs/lifecycle (runs STEPS of 10 ms).
set -euo pipefail
bin=$1 error_test=$2 tamper=$3 program=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-compat.XXXXXX")
launcher=""
cleanup() {
  [[ -n $launcher ]] && kill -9 "$launcher" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$work"
# A copy of the program with a path of its own, so that the check for
# leftovers below cannot see the same program run by another test.
cp "$program" "$work/app"
program=$work/app
"$bin/ckpt-launch" --image "$work/app.h5" -- "$program" 1000 >run.out 2>run.err &
launcher=$!
for _ in $(seq 100); do grep -q '^progress lifecycle 10$' run.err && break; sleep 0.1; done
grep -q '^progress lifecycle 10$' run.err || fail "the application did not start: $(cat run.err)"
"$bin/ckpt-ctl" --image "$work/app.h5" checkpoint >ctl.out || fail "checkpoint failed: $(cat ctl.out)"
kill -9 "$launcher"
wait "$launcher" 2>/dev/null || true
launcher=""

generation=$work/app.h5.d/gen-000001.h5
[[ -f $generation ]] || fail "no generation file $generation"
pid=$("$bin/ckpt-inspect" "$work/app.h5" | sed -n 's/^  process \([0-9]*\):.*/\1/p' | head -1)
[[ -n $pid ]] || fail "ckpt-inspect names no process"

expect_refusal() {
  local pattern=$1
  bash "$error_test" --status 1 --match "$pattern" -- "$bin/ckpt-restart" "$work/app.h5" ||
    fail "the restart was not refused as expected"
  if pgrep -f "^$program" >/dev/null; then fail "a restored process was left running"; fi
}

"$tamper" "$generation" "$pid" kernel-release 0.0.0-elsewhere
expect_refusal '^ckpt-restart: cannot restart here: the checkpoint was taken on kernel 0\.0\.0-elsewhere, this machine runs '

"$tamper" "$generation" "$pid" kernel-release "$(uname -r)"
"$tamper" "$generation" "$pid" cpu-flag ckpt_imaginary_feature
expect_refusal '^ckpt-restart: cannot restart here: this CPU lacks features the checkpointed process may use: ckpt_imaginary_feature$'
echo "compatibility checks passed"
