#!/usr/bin/env bash
# Incremental-chain driver for the dirty-page engine tests (issue 6; ctest
# engine.incremental.*, incremental_tests.cmake).
#
# usage: chain_test.sh --bin DIR --engine NAME [--expect-engine NAME]
#                      [--depth N] [--checkpoints K] [--last-progress P]
#                      [--min-incrementals M] [--max-incremental-fraction F]
#                      [--merge] [--after-chain-merge] [--stage-timeout SEC]
#                      -- PROGRAM [ARGS...]
#
#  1. Writes a policy from policies/incremental.toml: dirty_tracking = NAME,
#     incremental_depth = N (default 8), interval off.
#  2. Runs PROGRAM uninterrupted under ckpt-launch with that policy (the
#     expected stdout and status, which must be 0) and, at the same time,
#     once more for the chain: checkpoint k of K (default 6) is taken once
#     the program's last progress line on stderr is "progress ... NUMBER"
#     (one not ending in a number, e.g. a setup phase, counts as none) with
#     NUMBER >= round(k * P / K) (P default 10), plus 0-120 ms, so the
#     checkpoints fall between and inside the program's rounds. Each
#     `ckpt-ctl checkpoint` must print "generation N committed". If the
#     program ends with status 0 before its K checkpoints are committed
#     (slow checkpoints on a loaded machine), the chain run starts over (3
#     tries); any other status fails the test. 50-150 ms after the
#     last checkpoint ckpt-launch is SIGKILLed; no process of the group may
#     survive.
#  3. `ckpt-inspect --json`: the chain is one full generation followed by at
#     least M (default 5) incremental ones, every generation of it records
#     dirty_engine = the expected engine (--expect-engine, default NAME:
#     `auto` must name the engine it picked), and with F every incremental
#     is smaller than F times the full one (bytes of the generation files).
#  4. ckpt-restart of the unmerged chain; its stdout must equal the
#     uninterrupted run's byte for byte, and its status too. With --merge
#     the image is first copied and the copy folded by ckpt-merge (it must
#     then be one full generation); the chain and the merged copy are
#     restarted side by side and both must give the uninterrupted output.
#
# With --after-chain-merge the policy says after_chain = "merge": every
# checkpoint after the first must be incremental (the launcher's log) and
# at least one background merge must have folded a chain; the current chain
# then starts at a merged full generation.
#
# "@WORKDIR@" in ARGS is replaced by a folder of the run's own (the two
# runs of step 2 go side by side; the restart uses the chain run's folder,
# as do both restarts with --merge, so --merge is for programs that write no
# files: the second restart's rollback would rewrite them under the first).
# Environment: CKPT_TEST_SEED=N repeats the random delays; CKPT_TEST_KEEP=1
# keeps the scratch folder (CKPT_TEST_KEEP=failed: only when the test
# fails); TMPDIR is honoured. Exit status: 0 pass, 1 fail, 2 usage error.
set -euo pipefail

usage() {
  sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

bin=""
engine=""
expect_engine=""
depth=8
checkpoints=6
last_progress=10
min_incrementals=5
max_fraction=""
merge=0
after_chain_merge=0
stage_timeout=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=${2:?}; shift 2 ;;
    --engine) engine=${2:?}; shift 2 ;;
    --expect-engine) expect_engine=${2:?}; shift 2 ;;
    --depth) depth=${2:?}; shift 2 ;;
    --checkpoints) checkpoints=${2:?}; shift 2 ;;
    --last-progress) last_progress=${2:?}; shift 2 ;;
    --min-incrementals) min_incrementals=${2:?}; shift 2 ;;
    --max-incremental-fraction) max_fraction=${2:?}; shift 2 ;;
    --merge) merge=1; shift ;;
    --after-chain-merge) after_chain_merge=1; shift ;;
    --stage-timeout) stage_timeout=${2:?}; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "chain_test.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[[ -n "$bin" && -n "$engine" && $# -ge 1 ]] || usage
expect_engine=${expect_engine:-$engine}
for number in "$depth" "$checkpoints" "$last_progress" "$min_incrementals"; do
  [[ "$number" =~ ^[0-9]+$ ]] || { echo "chain_test.sh: '$number' is not a number" >&2; exit 2; }
done
(( checkpoints >= 1 )) || { echo "chain_test.sh: --checkpoints wants at least 1" >&2; exit 2; }
(( min_incrementals < checkpoints && min_incrementals <= depth )) || {
  echo "chain_test.sh: $checkpoints checkpoints with depth $depth cannot make $min_incrementals incrementals" >&2
  exit 2
}
for tool in ckpt-launch ckpt-ctl ckpt-restart ckpt-inspect ckpt-merge; do
  [[ -x "$bin/$tool" ]] || { echo "chain_test.sh: $bin/$tool is missing" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "chain_test.sh: python3 is needed to read ckpt-inspect --json" >&2; exit 2; }
template="$(cd "$(dirname "$0")" && pwd)/policies/incremental.toml"
[[ -r "$template" ]] || { echo "chain_test.sh: cannot read $template" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-chain.XXXXXX")
program=("$@")
reference_program=("${program[@]//@WORKDIR@/$work/reference}")
program=("${program[@]//@WORKDIR@/$work/run}")
name=$(basename "${program[0]}")
# Every process of a run carries its marker in its environment, so
# survivors are found even if they left the process tree.
marker_base="CKPT_CHAIN_MARKER=ckpt-chain-marker:$work"
policy="$work/policy.toml"
template_text=$(<"$template")
template_text=${template_text//@ENGINE@/$engine}
printf '%s\n' "${template_text//@DEPTH@/$depth}" >"$policy"
if ((after_chain_merge)); then
  sed -i 's/^\[checkpoint\]$/[checkpoint]\nafter_chain = "merge"/' "$policy"
  grep -q '^after_chain = "merge"$' "$policy" || { echo "chain_test.sh: no [checkpoint] table in $template" >&2; exit 2; }
fi
image="$work/run/app.h5"
mkdir -p "$work/reference" "$work/run"

seed=${CKPT_TEST_SEED:-$(( ($$ * 7919 + $(date +%s%N) / 1000) % 32768 ))}
RANDOM=$seed

started_pids=()
cleanup() {
  local status=$?
  set +e
  local pid
  for pid in "${started_pids[@]}"; do
    disown "$pid" 2>/dev/null
    kill -9 "$pid" 2>/dev/null
  done
  for pid in $(marker_pids reference) $(marker_pids chain) $(marker_pids restart); do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [[ "${CKPT_TEST_KEEP:-0}" == 1 || ( $status -ne 0 && "${CKPT_TEST_KEEP:-0}" == failed ) ]]; then
    echo "chain_test.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(now_ms)
say() { printf '[%6.2f s] %s\n' "$(( $(now_ms) - t0 ))e-3" "$*"; }
fail() {
  say "FAIL: $*"
  local file
  for file in "$work"/*.err; do
    [[ -s "$file" ]] || continue
    echo "---- $file (without progress lines, last 20) ----"
    grep -v '^progress' "$file" | tail -n 20 || true
    echo "---- last progress: $(grep '^progress' "$file" | tail -n 1 || true)"
  done
  echo "(seed $seed: CKPT_TEST_SEED=$seed repeats the same delays)"
  exit 1
}

# live processes carrying the marker of run $1 (reference, chain, restart)
marker_pids() {
  local environ pid state
  # shellcheck disable=SC2013  # /proc paths have no blanks
  for environ in $(grep -lzxF "$marker_base:$1" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || continue
    [[ -z $state || $state == Z || $state == X ]] || echo "$pid"
  done
}

start() {  # RUN OUT ERR COMMAND...: background; its PID in $started
  local run=$1 out=$2 err=$3
  shift 3
  env "$marker_base:$run" "$@" >"$out" 2>"$err" </dev/null &
  started=$!
  started_pids+=("$started")
}

finished() { ! kill -0 "$1" 2>/dev/null || [[ $(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) == Z ]]; }

wait_exit() {  # PID VARIABLE WHAT: waits (stage timeout), status into VARIABLE
  local pid=$1 __var=$2 what=$3
  local deadline=$(( $(now_ms) + stage_timeout * 1000 ))
  until finished "$pid"; do
    (( $(now_ms) <= deadline )) || fail "$what did not finish within $stage_timeout s"
    sleep 0.05
  done
  local __status=0
  { wait "$pid"; } 2>/dev/null || __status=$?
  printf -v "$__var" '%s' "$__status"
}

latest_progress() {  # FILE: the number at the end of the last progress line, or -1
  local line
  line=$(grep -a '^progress' "$1" 2>/dev/null | tail -n 1) || true
  [[ $line =~ ([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}" || echo -1
}

say "$name: ${program[*]} (dirty_tracking $engine, expecting $expect_engine; depth $depth, $checkpoints checkpoints up to progress $last_progress$( ((merge)) && echo ', merge'); seed $seed)"

# 2. the uninterrupted run and the run for the chain, side by side
start reference "$work/expected.out" "$work/reference.err" \
  "$bin/ckpt-launch" --policy "$policy" --image "$work/reference/app.h5" -- "${reference_program[@]}"
reference=$started
expected_status="" status="" status_merged=""  # set by wait_exit (printf -v)

# The chain run ended before checkpoint $1 was committed: a timing problem
# (returns 1, the run is started over) when the program exited with 0 (a
# checkpoint slowed down by a loaded machine); a failure otherwise.
ended_early() {
  local k=$1 what=$2 status=0
  { wait "$runner"; } 2>/dev/null || status=$?
  [[ $status -eq 0 ]] || fail "the chain run exited with status $status $what checkpoint $k: $(grep -v '^progress' "$work/run.out" "$work/run.err" | tail -n 5)"
  say "the program ended (status 0) $what checkpoint $k"
  return 1
}

# Takes the K checkpoints of the chain run; returns 1 when the program ended
# before them.
take_checkpoints() {
  local k step deadline began output status generation=0
  for (( k = 1; k <= checkpoints; k++ )); do
    step=$(( (k * last_progress + checkpoints / 2) / checkpoints ))
    deadline=$(( $(now_ms) + stage_timeout * 1000 ))
    while (( $(latest_progress "$work/run.err") < step )); do
      finished "$runner" && { ended_early "$k" before; return 1; }
      (( $(now_ms) <= deadline )) || fail "no progress $step within $stage_timeout s (for checkpoint $k)"
      sleep 0.01
    done
    sleep "0.$(printf '%03d' $(( RANDOM % 121 )))"
    finished "$runner" && { ended_early "$k" before; return 1; }
    began=$(now_ms)
    status=0
    output=$(timeout "$stage_timeout" "$bin/ckpt-ctl" --image "$image" checkpoint 2>"$work/ctl.stderr") || status=$?
    if [[ $status -ne 0 || ! "$output" =~ ^generation\ ([0-9]+)\ committed$ ]]; then
      # "no running group" (3) or "process N ended while its memory was
      # being read" (1): the program finished meanwhile
      sleep 0.3
      finished "$runner" && { ended_early "$k" during; return 1; }
      fail "checkpoint $k: ckpt-ctl exited with $status: $output $(cat "$work/ctl.stderr")"
    fi
    (( BASH_REMATCH[1] > generation )) || fail "checkpoint $k: generation ${BASH_REMATCH[1]} after $generation"
    generation=${BASH_REMATCH[1]}
    say "checkpoint $k at progress $(latest_progress "$work/run.err"): generation $generation committed ($(( $(now_ms) - began )) ms)"
  done
}

for (( attempt = 1; ; attempt++ )); do
  rm -rf "$work/run" && mkdir -p "$work/run"
  start chain "$work/run.out" "$work/run.err" "$bin/ckpt-launch" --policy "$policy" --image "$image" -- "${program[@]}"
  runner=$started
  take_checkpoints && break
  (( attempt < 3 )) || fail "the program ended before its checkpoints in $attempt tries (checkpoints too slow?)"
  say "again (try $(( attempt + 1 )) of 3)"
done

# SIGKILL a little after the last checkpoint; nothing may survive
sleep "0.$(printf '%03d' $(( 50 + RANDOM % 101 )))"
kill_status=0
kill -9 "$runner" 2>/dev/null || true
{ wait "$runner"; } 2>/dev/null || kill_status=$?
if [[ $kill_status -ne 137 ]]; then
  say "note: the program finished (status $kill_status) before the SIGKILL; its chain is restarted anyway"
fi
deadline=$(( $(now_ms) + 5000 ))
while [[ -n "$(marker_pids chain)" ]]; do
  (( $(now_ms) <= deadline )) || fail "processes survived the SIGKILL of their ckpt-launch: $(marker_pids chain | tr '\n' ' ')"
  sleep 0.05
done

say "killed run: nothing survived"

if ((after_chain_merge)); then
  fulls=$(grep -cE 'checkpoint [0-9]+ committed \((\w+ processes, )?[0-9]' "$work/run.err" || true)
  incrementals=$(grep -cE 'checkpoint [0-9]+ committed \(incremental' "$work/run.err" || true)
  merged=$(grep -c 'chain merged into a full generation' "$work/run.err" || true)
  [[ $fulls -eq 1 && $incrementals -eq $(( checkpoints - 1 )) ]] ||
    fail "after_chain = merge: $fulls full and $incrementals incremental checkpoints, wanted 1 and $(( checkpoints - 1 )): $(grep committed "$work/run.err")"
  (( merged >= 1 )) || fail "after_chain = merge: no background merge in the log: $(grep -v '^progress' "$work/run.err" | tail -n 8)"
  say "after_chain = merge: 1 full, $incrementals incremental checkpoints, $merged background merges"
fi

# 3. the chain
check_chain() {  # IMAGE KIND(chain|merged) ...
  "$bin/ckpt-inspect" --json "$1" >"$work/inspect-$2.json" 2>"$work/inspect-$2.err" ||
    fail "ckpt-inspect --json $1: $(cat "$work/inspect-$2.err")"
  python3 - "$work/inspect-$2.json" "$2" "$expect_engine" "$min_incrementals" "${max_fraction:-0}" <<'PY'
import json, sys
path, what, engine, min_incrementals, max_fraction = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
report = json.load(open(path))
problems = []
chain = report.get("chain")
if not chain or chain.get("error"):
    print(f"no restorable chain: {chain and chain.get('error')}; problems: {report.get('problems')}")
    sys.exit(1)
by_seq = {g["seq"]: g for g in report["generations"]}
links = [by_seq[seq] for seq in chain["generations"]]
for g in links:
    if g.get("error"):
        problems.append(f"generation {g['seq']}: {g['error']}")
kinds = [g["kind"] for g in links]
engines = [g.get("dirty_engine") for g in links]
sizes = [g["bytes"] for g in links]
mib = lambda b: f"{b / 1048576:.1f}"
print(f"{what}: generations {[g['seq'] for g in links]}, kinds {kinds}, dirty_engine {engines}, "
      f"MiB {[mib(b) for b in sizes]}")
if what == "merged":
    if kinds != ["full"]:
        problems.append(f"the merged image's chain is {kinds}, not one full generation")
else:
    incrementals = kinds[1:]
    if kinds[:1] != ["full"] or any(k != "incremental" for k in incrementals):
        problems.append(f"the chain is {kinds}, not one full generation followed by incrementals")
    if len(incrementals) < min_incrementals:
        problems.append(f"{len(incrementals)} incremental generations, wanted at least {min_incrementals}")
    if max_fraction > 0 and len(links) > 1:
        full = links[0]["bytes"]
        for g in links[1:]:
            if g["bytes"] >= max_fraction * full:
                problems.append(f"incremental generation {g['seq']} has {mib(g['bytes'])} MiB, not less than "
                                f"{max_fraction} x the full one's {mib(full)} MiB")
for g in links:
    if g.get("dirty_engine") != engine:
        problems.append(f"generation {g['seq']} ({g['kind']}) records dirty_engine "
                        f"{g.get('dirty_engine')!r}, expected {engine!r}")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
}
check_chain "$image" chain || fail "the chain is not what dirty_tracking = \"$engine\" must make"

# 4. restart(s)
if (( merge )); then
  mkdir -p "$work/copy"
  cp -a "$image" "$image.d" "$work/copy/"
  "$bin/ckpt-merge" "$work/copy/app.h5" >"$work/merge.out" 2>&1 || fail "ckpt-merge of the copy: $(cat "$work/merge.out")"
  check_chain "$work/copy/app.h5" merged || fail "the merged copy is not one full generation of engine $expect_engine"
  start restart "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  restart=$started
  start restart "$work/restart-merged.out" "$work/restart-merged.err" "$bin/ckpt-restart" "$work/copy/app.h5"
  restart_merged=$started
  say "restarting the chain and the merged copy side by side"
  wait_exit "$restart" status "the restart of the chain"
  wait_exit "$restart_merged" status_merged "the restart of the merged copy"
  outputs=("restart.out:$status:the restart of the chain" "restart-merged.out:$status_merged:the restart of the merged copy")
else
  start restart "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  restart=$started
  say "restarting the chain"
  wait_exit "$restart" status "the restart of the chain"
  outputs=("restart.out:$status:the restart of the chain")
fi
# (the uninterrupted run may still be running until here)
wait_exit "$reference" expected_status "the uninterrupted run"
[[ $expected_status == 0 ]] || { cat "$work/expected.out"; fail "the uninterrupted run exited with status $expected_status"; }
[[ -s "$work/expected.out" ]] || fail "the uninterrupted run printed nothing on stdout"
say "uninterrupted run: $(wc -c <"$work/expected.out") bytes of stdout, status 0"
for entry in "${outputs[@]}"; do
  file=${entry%%:*}
  rest=${entry#*:}
  code=${rest%%:*}
  label=${rest#*:}
  if ! cmp -s "$work/expected.out" "$work/$file"; then
    echo "---- stdout differs (uninterrupted run vs $label) ----"
    diff -u "$work/expected.out" "$work/$file" | head -n 60 || true
    fail "$label: stdout differs from the uninterrupted run's (status $code)"
  fi
  [[ $code == 0 ]] || fail "$label: exit status $code, the uninterrupted run exited with 0"
  say "$label: stdout identical ($(wc -c <"$work/$file") bytes), status 0"
done

deadline=$(( $(now_ms) + 5000 ))
# (restored processes carry the chain run's environment, so its marker)
while [[ -n "$(marker_pids reference)$(marker_pids chain)$(marker_pids restart)" ]]; do
  (( $(now_ms) <= deadline )) ||
    fail "processes still running after the runners exited: $(marker_pids reference) $(marker_pids chain) $(marker_pids restart)"
  sleep 0.05
done
say "PASS"
