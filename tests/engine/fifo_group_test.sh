#!/usr/bin/env bash
# Two applications in one group (a policy with two [[group.app]]): a
# producer writes records into a FIFO, a consumer reads them and prints a
# summary at the end. Uninterrupted run vs a run checkpointed while the
# records flow, SIGKILLed and restarted: the summaries must be equal byte
# for byte, and nothing of the killed group may survive.
# usage: fifo_group_test.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: fifo_group_test.sh BIN_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-fifo-group.XXXXXX")
cleanup() {
  pkill -9 -f "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkfifo "$work/records"
cat >"$work/job.toml" <<TOML
version = 1
[checkpoint]
interval = "off"
[[group]]
name = "fifo"
[[group.app]]
command = "bash"
args = ["-c", "exec 3>$work/records; for i in \$(seq 1 250); do echo \"record \$i \$(( i * i % 9973 ))\" >&3; sleep 0.02; done"]
[[group.app]]
command = "bash"
args = ["-c", "n=0; s=0; while read -r _ i v; do n=\$((n + 1)); s=\$(( (s * 31 + v + i) % 1000003 )); echo \"progress consumer \$n\" >&2; done < $work/records; echo \"records \$n digest \$s\""]
TOML
"$bin/ckpt-launch" --check-policy --policy "$work/job.toml" >/dev/null
timeout 60 "$bin/ckpt-launch" --policy "$work/job.toml" --image "$work/ref/img.h5" >"$work/expected.out" 2>"$work/ref.err" ||
  fail "the uninterrupted run failed: $(tail -3 "$work/ref.err")"
grep -q '^records 250 digest' "$work/expected.out" || fail "unexpected summary: $(cat "$work/expected.out")"
image="$work/run/img.h5"
"$bin/ckpt-launch" --policy "$work/job.toml" --image "$image" >"$work/run.out" 2>"$work/run.err" &
runner=$!
for _ in $(seq 1 200); do grep -q '^progress consumer 60$' "$work/run.err" 2>/dev/null && break; sleep 0.05; done
grep -q '^progress consumer 60$' "$work/run.err" || fail "the consumer made no progress"
"$bin/ckpt-ctl" --image "$image" checkpoint >"$work/ctl.out" 2>&1 || fail "checkpoint: $(cat "$work/ctl.out")"
grep -q 'generation 1 committed' "$work/ctl.out" || fail "checkpoint: $(cat "$work/ctl.out")"
grep -qE 'committed \([2-9] processes' "$work/run.err" || fail "the checkpoint did not hold both applications: $(grep committed "$work/run.err")"
sleep 0.5
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
sleep 0.3
if pgrep -f "$work/records" >/dev/null; then fail "processes of the killed group survive"; fi
timeout 60 "$bin/ckpt-restart" "$image" >"$work/restart.out" 2>"$work/restart.err" ||
  fail "the restart failed: $(grep -v '^progress' "$work/restart.err" | tail -3)"
if ! cmp -s "$work/expected.out" "$work/restart.out"; then
  diff "$work/expected.out" "$work/restart.out" || true
  fail "the restarted group's output differs from the uninterrupted run"
fi
echo "summary: $(cat "$work/restart.out")"
echo PASS
