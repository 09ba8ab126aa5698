#!/usr/bin/env bash
# Files under a checkpoint storm (issue 5): files_pressure (4 threads in
# tight loops of write/pwrite/fprintf+fflush/ftruncate/fsync+rename on their
# own files, checking them against their memory every 100 operations) runs
# under ckpt-launch while `ckpt-ctl checkpoint` is requested every 20 ms for
# SECONDS (default 2.5), and on until at least 20 have committed (at most
# 20 s); every request must commit. Then ckpt-launch is SIGKILLed and the
# newest generation restarted with ckpt-restart: files and memory roll back
# together, so the program's own checks pass (status 0) and its stdout
# equals an uninterrupted run's byte for byte.
# usage: files_pressure_test.sh BIN_DIR PROGRAM [OPS [SECONDS]]
# Environment: CKPT_TEST_KEEP=1 (or "failed") keeps the scratch folder;
# TMPDIR is honoured. Exit status: 0 pass, 1 fail, 2 usage error.
set -euo pipefail
usage="usage: files_pressure_test.sh BIN_DIR PROGRAM [OPS [SECONDS]]"
bin=$(cd "${1:?$usage}" && pwd)
program=${2:?$usage}
ops=${3:-40000}
storm_seconds=${4:-2.5}
for tool in ckpt-launch ckpt-ctl ckpt-restart; do
  [[ -x "$bin/$tool" ]] || { echo "files_pressure_test.sh: $bin/$tool is missing" >&2; exit 2; }
done
[[ -x "$program" ]] || { echo "files_pressure_test.sh: $program is missing" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-files-storm.XXXXXX")
runner=""
cleanup() {
  local status=$?
  set +e
  if [[ -n "$runner" ]] && kill -0 "$runner" 2>/dev/null; then kill -9 "$runner"; wait "$runner" 2>/dev/null; fi
  if [[ "${CKPT_TEST_KEEP:-0}" == 1 || ( $status -ne 0 && "${CKPT_TEST_KEEP:-0}" == failed ) ]]; then
    echo "files_pressure_test.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
t0=$(date +%s%N)
say() { printf '[%6.2f s] %s\n' "$(( ($(date +%s%N) - t0) / 1000000 ))e-3" "$*"; }
show_stderr() {  # FILE: what the program said besides progress
  [[ -s "$1" ]] || return 0
  echo "---- $1 (without progress lines, last 20) ----"
  grep -v '^progress' "$1" | tail -n 20 || true
}
fail() {
  say "FAIL: $*"
  local file
  for file in "$work"/*.err; do show_stderr "$file"; done
  exit 1
}

# 1. the uninterrupted run. It must outlast the storm (under which it runs
# about half as fast): on fast storage (tmpfs: fsync costs nothing) OPS is
# doubled until it takes at least the storm plus 1.5 s (the output depends
# on OPS only).
storm_ms=$(awk -v s="$storm_seconds" 'BEGIN { printf "%d", s * 1000 }')
(( storm_ms > 0 )) || { echo "files_pressure_test.sh: SECONDS must be positive" >&2; exit 2; }
for (( attempt = 1; ; attempt++ )); do
  rm -rf "$work/ref" "$work/ref-files"
  started=$(date +%s%N)
  status=0
  timeout 300 "$bin/ckpt-launch" --image "$work/ref/img.h5" --interval off -- "$program" "$work/ref-files" "$ops" \
    >"$work/expected.out" 2>"$work/reference.err" || status=$?
  duration_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  [[ $status -eq 0 ]] || { cat "$work/expected.out"; fail "the uninterrupted run exited with status $status"; }
  say "uninterrupted run: $ops operations per thread in $duration_ms ms, $(wc -c <"$work/expected.out") bytes of stdout"
  (( duration_ms >= storm_ms + 1500 || attempt >= 5 )) && break
  ops=$(( ops * 2 ))
done

# 2. the storm
image="$work/run/img.h5"
"$bin/ckpt-launch" --image "$image" --interval off -- "$program" "$work/files" "$ops" \
  >"$work/run.out" 2>"$work/run.err" &
runner=$!
for _ in $(seq 1 200); do
  grep -q '^progress' "$work/run.err" 2>/dev/null && break
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.02
done
grep -q '^progress' "$work/run.err" || fail "the checkpointed run showed no progress"
committed=0
storm_start=$(date +%s%N)
end=$(( storm_start + storm_ms * 1000000 ))
# Past SECONDS the storm goes on until 20 have committed (a checkpoint of
# this group takes about 0.1 s on a VM disk), but at most 20 s.
limit=$(( storm_start + 20000000000 ))
while (( $(date +%s%N) < end || (committed < 20 && $(date +%s%N) < limit) )); do
  kill -0 "$runner" 2>/dev/null || break
  status=0
  timeout 60 "$bin/ckpt-ctl" --image "$image" checkpoint >"$work/ctl.out" 2>&1 || status=$?
  if [[ $status -ne 0 ]] || ! grep -qE '^generation [0-9]+ committed$' "$work/ctl.out"; then
    # the program may have ended during the request: not a failed checkpoint
    kill -0 "$runner" 2>/dev/null || break
    fail "checkpoint $((committed + 1)) failed (status $status): $(cat "$work/ctl.out")"
  fi
  committed=$((committed + 1))
  sleep 0.02
done
say "committed $committed checkpoints in $(( ($(date +%s%N) - storm_start) / 1000000 )) ms; last progress: $(grep '^progress' "$work/run.err" | tail -n 1)"
kill -0 "$runner" 2>/dev/null || fail "the program ended during the storm (after $committed checkpoints): give it more OPS"
(( committed >= 20 )) || fail "only $committed checkpoints committed (at least 20 wanted)"
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
runner=""

# 3. the restart
status=0
timeout 120 "$bin/ckpt-restart" "$image" >"$work/restart.out" 2>"$work/restart.err" || status=$?
say "restarted run: status $status"
if ! cmp -s "$work/expected.out" "$work/restart.out"; then
  diff "$work/expected.out" "$work/restart.out" || true
  fail "the restarted run's stdout differs from the uninterrupted run's (status $status)"
fi
[[ $status -eq 0 ]] || fail "the restarted run exited with status $status"
say "PASS: stdout identical ($(wc -c <"$work/restart.out") bytes) after $committed checkpoints"
