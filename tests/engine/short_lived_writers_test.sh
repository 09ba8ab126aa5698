#!/usr/bin/env bash
# A file written only by processes that exit between checkpoints
# (files_short_lived.sh: /bin/echo >> log, then a sleep): checkpoint, let
# it run on 0.6 s (more lines), SIGKILL, restart. The file must roll back
# with the shell's memory, so the output equals an uninterrupted run's.
# usage: short_lived_writers_test.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: short_lived_writers_test.sh BIN_DIR}" && pwd)
script=$(cd "$(dirname "$0")" && pwd)/programs/files_short_lived.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-short-lived.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
timeout 60 "$bin/ckpt-launch" --image "$work/ref.h5" --interval off -- bash "$script" "$work/ref" >"$work/expected.out" 2>/dev/null ||
  fail "the uninterrupted run failed"
image="$work/img.h5"
"$bin/ckpt-launch" --image "$image" --interval off -- bash "$script" "$work/run" >"$work/run.out" 2>"$work/run.err" &
runner=$!
for _ in $(seq 1 200); do grep -q '^progress files_short_lived 20$' "$work/run.err" 2>/dev/null && break; sleep 0.05; done
"$bin/ckpt-ctl" --image "$image" checkpoint >"$work/ctl.out" 2>&1 || fail "checkpoint: $(cat "$work/ctl.out")"
sleep 0.6
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
lines_killed=$(wc -l <"$work/run/log.txt")
timeout 60 "$bin/ckpt-restart" "$image" >"$work/restart.out" 2>"$work/restart.err" ||
  fail "the restart failed: $(grep -v '^progress' "$work/restart.err" | tail -3)"
cmp -s "$work/expected.out" "$work/restart.out" ||
  { diff "$work/expected.out" "$work/restart.out" || true; fail "output differs (the killed run had written $lines_killed lines)"; }
echo "PASS (the killed run had written $lines_killed lines)"
