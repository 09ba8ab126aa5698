#!/usr/bin/env bash
# Incremental storage checkpoint: after a full generation, incremental ones
# hold only the ranges written since (files_appender: 32 MiB, then 256 KiB
# appends, pwrites, a header patched through lseek, a stdio log), not the
# whole file; and a restart from the chain gives the uninterrupted run's
# files, byte for byte.
# usage: storage_ranges_test.sh BIN_DIR FILES_APPENDER
set -euo pipefail
bin=$(cd "${1:?usage: storage_ranges_test.sh BIN_DIR PROGRAM}" && pwd)
program=${2:?usage: storage_ranges_test.sh BIN_DIR PROGRAM}
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-ranges.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/ref" "$work/run"
timeout 120 "$bin/ckpt-launch" --image "$work/ref.h5" --interval off -- "$program" "$work/ref" 60 \
  >"$work/expected.out" 2>/dev/null || fail "the uninterrupted run failed"
image="$work/img.h5"
"$bin/ckpt-launch" --image "$image" --interval off -- "$program" "$work/run" 60 >"$work/run.out" 2>"$work/run.err" &
runner=$!
for _ in $(seq 1 400); do grep -q '^progress files_appender 5$' "$work/run.err" 2>/dev/null && break; sleep 0.05; done
for k in 1 2 3; do
  "$bin/ckpt-ctl" --image "$image" checkpoint >"$work/ctl.out" 2>&1 || fail "checkpoint $k: $(cat "$work/ctl.out")"
  sleep 0.3
done
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
# Generation 1 is full (data.bin whole); 2 and 3 are incremental, with
# data.bin as ranges and far smaller than the full one.
"$bin/ckpt-inspect" --json "$image" >"$work/inspect.json"
python3 - "$work/inspect.json" "$work/run/data.bin" <<'PY' || fail "ckpt-inspect does not show incremental ranges"
import json, sys
image = json.load(open(sys.argv[1]))
data = sys.argv[2]
generations = image["generations"]
assert [g["kind"] for g in generations] == ["full", "incremental", "incremental"], [g["kind"] for g in generations]
def kind_of(g):
    return {f["path"]: f["kind"] for f in g["files"]}.get(data)
assert kind_of(generations[0]) == "whole", kind_of(generations[0])
for g in generations[1:]:
    assert kind_of(g) == "ranges", (g["seq"], kind_of(g))
    assert g["bytes"] * 4 < generations[0]["bytes"], (g["seq"], g["bytes"], generations[0]["bytes"])
print("generation sizes:", [g["bytes"] for g in generations])
PY
timeout 120 "$bin/ckpt-restart" "$image" >"$work/restart.out" 2>"$work/restart.err" ||
  fail "the restart failed: $(grep -v '^progress' "$work/restart.err" | tail -3)"
cmp -s "$work/expected.out" "$work/restart.out" ||
  { diff "$work/expected.out" "$work/restart.out" || true; fail "the files differ from the uninterrupted run's"; }
echo PASS
