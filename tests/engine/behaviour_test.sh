#!/usr/bin/env bash
# User-visible behaviour of ckpt-launch, ckpt-ctl and ckpt-restart (used by
# ctest, one entry per scenario).
#
# usage: behaviour_test.sh --bin DIR --programs DIR [--tamper PATH] SCENARIO
#
# Scenarios:
#  interval                     --interval 1s: a generation about every second,
#                               ckpt-inspect lists them, the output is unchanged
#                               and the newest generation restarts
#  policy_signals               the default policy's signals: SIGUSR1 to
#                               ckpt-launch checkpoints and the group runs on,
#                               SIGTERM checkpoints and stops (status 143); the
#                               restart prints what an uninterrupted run prints
#  ctl_status_stop              ckpt-ctl status (image, process, threads, last
#                               and next checkpoint); ckpt-ctl stop --checkpoint
#                               and a restart from that final generation
#  exit_status                  the application's exit status, 128+N when it is
#                               killed by signal N, passes through ckpt-launch
#  exit_status.after_restart    ... and through ckpt-restart
#  concurrent_checkpoints       two ckpt-ctl checkpoint at the same moment both
#                               succeed with distinct generations
#  checkpoint_fails.disk_full   the image cannot be written (ulimit -f): ckpt-ctl
#                               fails with one line, the group runs to its normal
#                               end, the previous generation is the restart point
#  checkpoint_fails.unwritable_folder   the same with a read-only image folder
#                               (a read-only bind mount as root, chmod otherwise)
#  restart_refused.corrupt_chunk  one flipped byte in the last page chunk:
#                               ckpt-restart refuses with one line, no process
#  restart_refused.newer_format   format version 99: refused with one line
#  app_killed_during_checkpoint  SIGKILL to the application while a 1 GiB
#                               checkpoint is written: ckpt-launch exits 137, no
#                               process left; ckpt-ctl either fails with one
#                               line and nothing is committed, or (the twin
#                               outlives the application) commits a generation
#                               that verifies
#
# Every process started here runs in the scratch folder (its working
# directory) with a marker in its environment; survivors are looked for by
# both. CKPT_TEST_KEEP=1 (or failed) keeps the scratch folder; TMPDIR is
# honoured. Exit status: 0 pass, 1 fail, 2 usage error.
set -euo pipefail
ckpt_harness=$(cd "$(dirname "${BASH_SOURCE[0]}")/../harness" && pwd)
source "$ckpt_harness/process_tree.sh"

usage() {
  sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

bin="" programs="" tamper=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=${2:?}; shift 2 ;;
    --programs) programs=${2:?}; shift 2 ;;
    --tamper) tamper=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "behaviour_test.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[[ -n "$bin" && -n "$programs" && $# -eq 1 ]] || usage
scenario=$1
for tool in ckpt-launch ckpt-ctl ckpt-restart ckpt-inspect; do
  [[ -x "$bin/$tool" ]] || { echo "behaviour_test.sh: $bin/$tool is missing" >&2; exit 2; }
done
bin=$(cd "$bin" && pwd -P)
programs=$(cd "$programs" && pwd -P)
[[ -z "$tamper" ]] || tamper=$(cd "$(dirname "$tamper")" && pwd -P)/$(basename "$tamper")
command -v python3 >/dev/null || { echo "behaviour_test.sh: python3 is missing" >&2; exit 2; }

# A read-only bind mount needs a private mount namespace (so that nothing
# outlives the test even if it is killed): root re-runs itself in one.
if [[ $scenario == checkpoint_fails.unwritable_folder && $(id -u) -eq 0 &&
      -z "${CKPT_BEHAVIOUR_PRIVATE_MOUNTS:-}" ]]; then
  export CKPT_BEHAVIOUR_PRIVATE_MOUNTS=1
  exec unshare --mount --propagation private bash "$0" --bin "$bin" --programs "$programs" \
    ${tamper:+--tamper "$tamper"} "$scenario"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-behaviour.XXXXXX")
work=$(cd "$work" && pwd -P)
image="$work/img/app.h5"
lifecycle="$programs/lifecycle"
big_heap="$programs/big_heap"
marker="CKPT_BEHAVIOUR_MARKER=ckpt-behaviour:$work"
cd /

started_pids=()
mounted=""
cleanup() {
  local status=$?
  set +e
  local pid
  for pid in "${started_pids[@]}"; do
    disown "$pid" 2>/dev/null
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  local -a left
  for _ in 1 2 3; do
    mapfile -t left < <(our_pids)
    [[ ${#left[@]} -gt 0 ]] || break
    kill -9 "${left[@]}" 2>/dev/null
    sleep 0.1
  done
  wait 2>/dev/null
  [[ -n "$mounted" ]] && umount "$mounted" 2>/dev/null
  chmod -R u+rwX "$work" 2>/dev/null
  if [[ "${CKPT_TEST_KEEP:-0}" == 1 || ( $status -ne 0 && "${CKPT_TEST_KEEP:-0}" == failed ) ]]; then
    echo "behaviour_test.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s%N)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
stamp() { printf '[%6.2f s]' "$(( ($(date +%s%N) - t0) / 1000000 ))e-3"; }
say() { echo "$(stamp) $*"; }

# A file without the applications' progress lines. The applications write
# each progress line with one write(); the tools' messages may be split
# around them, so whole progress lines are cut out wherever they are.
clean() { sed -zE 's/progress [^\n]*\n//g' "$1" 2>/dev/null || true; }

fail() {
  echo "$(stamp) FAIL ($scenario): $*"
  local file
  for file in "$work"/*.err "$work"/*.out; do
    [[ -s "$file" ]] || continue
    echo "---- $file (without progress lines, last 20) ----"
    clean "$file" | tail -n 20
  done
  local -a pids
  mapfile -t pids < <(our_pids)
  [[ ${#pids[@]} -eq 0 ]] || echo "---- live processes of this test: $(describe_pids "${pids[@]}")"
  exit 1
}

# Field N (0 = state, 1 = ppid) of /proc/PID/stat after the command name.
stat_field() {
  local line
  line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  local rest=${line##*) }
  local -a fields
  read -r -a fields <<<"$rest"
  echo "${fields[$2]}"
}

# Live (non-zombie) processes of this test: our marker in the environment
# or the scratch folder (or a folder below it) as working directory.
our_pids() {
  local path pid state
  local -A seen=()
  # shellcheck disable=SC2044  # /proc paths have no blanks
  for path in $({
      grep -lzxF "$marker" /proc/[0-9]*/environ
      find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$work" -o -lname "$work/*" \) -print
    } 2>/dev/null); do
    pid=${path#/proc/}
    pid=${pid%%/*}
    [[ $pid == "$$" || -n ${seen[$pid]:-} ]] && continue
    seen[$pid]=1
    state=$(stat_field "$pid" 0) || continue
    [[ $state == Z || $state == X ]] || echo "$pid"
  done
}

describe_pids() {
  local pid
  for pid in "$@"; do
    printf '%s(%s: %s) ' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)" \
      "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)"
  done
}

expect_no_processes() {  # LABEL: within 5 s nothing of this test runs any more
  local label=$1 deadline=$(( $(now_ms) + 5000 ))
  local -a pids
  while :; do
    mapfile -t pids < <(our_pids)
    [[ ${#pids[@]} -eq 0 ]] && break
    (( $(now_ms) <= deadline )) || fail "$label: processes left behind: $(describe_pids "${pids[@]}")"
    sleep 0.05
  done
  say "$label: no process left"
}

# start OUT ERR COMMAND...: runs COMMAND in the background in the scratch
# folder; its pid goes to $started. With limit_fsize set (KiB), under
# `ulimit -f`.
limit_fsize=""
start() {
  local out=$1 err=$2
  shift 2
  (
    cd "$work"
    [[ -z "$limit_fsize" ]] || ulimit -f "$limit_fsize"
    exec env "$marker" "$@"
  ) >"$out" 2>"$err" </dev/null &
  started=$!
  started_pids+=("$started")
}

alive() { kill -0 "$1" 2>/dev/null && [[ $(stat_field "$1" 0 2>/dev/null || echo gone) != Z ]]; }

wait_exit() {  # PID VAR WHAT [LIMIT s]: waits for PID, its exit status goes to VAR
  local pid=$1 __var=$2 what=$3 limit=${4:-30}
  local deadline=$(( $(now_ms) + limit * 1000 ))
  while alive "$pid"; do
    (( $(now_ms) <= deadline )) || fail "$what did not finish within $limit s"
    sleep 0.05
  done
  local __status=0
  { wait "$pid"; } 2>/dev/null || __status=$?
  printf -v "$__var" '%s' "$__status"
}

wait_line() {  # FILE REGEX PID WHAT [LIMIT s]: until FILE has a line matching REGEX
  local file=$1 regex=$2 pid=$3 what=$4 limit=${5:-20}
  local deadline=$(( $(now_ms) + limit * 1000 ))
  until grep -qE "$regex" "$file" 2>/dev/null || clean "$file" | grep -qE "$regex"; do
    if ! alive "$pid"; then
      local status=0
      { wait "$pid"; } 2>/dev/null || status=$?
      fail "$what: exited (status $status) before printing /$regex/"
    fi
    (( $(now_ms) <= deadline )) || fail "$what: no line /$regex/ within $limit s"
    sleep 0.02
  done
}

# run NAME COMMAND...: runs a tool in the foreground (60 s at most);
# stdout in $work/NAME.out, stderr in $work/NAME.err, status in $ran.
run() {
  local name=$1
  shift
  ran=0
  # (the braces keep bash's "Killed" notice for a program killed by a signal out of the log)
  { (cd "$work" && exec env "$marker" timeout 60 "$@") >"$work/$name.out" 2>"$work/$name.err" </dev/null; } 2>/dev/null ||
    ran=$?
  [[ $ran -ne 124 ]] || fail "$name: '$*' hung (killed after 60 s)"
}

# native NAME PROGRAM ARGS...: the program without ckpt, the reference.
native() {
  local name=$1
  shift
  run "$name" "$@"
  [[ -s "$work/$name.out" ]] || fail "$name: the program printed nothing without ckpt (status $ran)"
  say "$name (without ckpt): status $ran, $(wc -c <"$work/$name.out") bytes of stdout"
}

signal_note() {  # STATUS: " (killed by SIGNAME)" for 129..159
  (( $1 > 128 && $1 < 160 )) && echo " (killed by SIG$(kill -l $(( $1 - 128 )) 2>/dev/null || echo '?'))"
  return 0
}

expect_status() {  # WHAT GOT WANTED
  [[ $2 == "$3" ]] || fail "$1: exit status $2$(signal_note "$2"), expected $3"
}

expect_same_output() {  # WHAT EXPECTED-FILE ACTUAL-FILE
  if ! cmp -s "$2" "$3"; then
    echo "---- stdout differs ($2 vs $3) ----"
    diff -u "$2" "$3" | head -n 40 || true
    fail "$1: stdout differs from the run without ckpt"
  fi
}

# ctl NAME ARGS...: ckpt-ctl --image IMAGE ARGS...
ctl() {
  local name=$1
  shift
  run "$name" "$bin/ckpt-ctl" --image "$image" "$@"
}

expect_committed() {  # NAME WANTED-GENERATION ("" = any): after ctl NAME checkpoint
  local name=$1 wanted=$2 out
  out=$(cat "$work/$name.out")
  if [[ $ran -ne 0 || ! $out =~ ^generation\ ([0-9]+)\ committed$ || -s "$work/$name.err" ]]; then
    fail "$name: ckpt-ctl exited with $ran, stdout '$out', stderr '$(cat "$work/$name.err")'; expected 'generation ${wanted:-N} committed' and nothing else"
  fi
  committed=${BASH_REMATCH[1]}
  [[ -z "$wanted" || $committed == "$wanted" ]] || fail "$name: generation $committed committed, expected $wanted"
  say "$name: generation $committed committed"
}

# One clear line: exactly one non-empty line in stdout and stderr together,
# on stderr, matching REGEX.
expect_one_line() {  # WHAT NAME REGEX
  local what=$1 name=$2 regex=$3 lines line
  lines=$(cat "$work/$name.out" "$work/$name.err" | grep -c '') || true
  [[ $lines -eq 1 ]] ||
    fail "$what: $lines lines of output, expected exactly one: $(cat "$work/$name.out" "$work/$name.err")"
  [[ ! -s "$work/$name.out" ]] || fail "$what: the message went to stdout: $(cat "$work/$name.out")"
  line=$(cat "$work/$name.err")
  [[ $line =~ $regex ]] || fail "$what: the line '$line' does not match /$regex/"
  say "$what: '$line'"
}

# Refusals and failures must not look like a crash or a hang.
expect_failure_status() {  # WHAT STATUS
  [[ $2 -ne 0 ]] || fail "$1: exit status 0, expected a failure"
  (( $2 < 124 )) || fail "$1: exit status $2 (a crash or a signal), expected a clean failure status"
}

# inspect NAME PYTHON-EXPRESSION: evaluates the expression on d, the JSON of
# ckpt-inspect IMAGE --json; the result goes to $inspected.
inspect() {
  local name=$1 expression=$2
  run "$name" "$bin/ckpt-inspect" "$image" --json
  [[ $ran -eq 0 ]] || fail "$name: ckpt-inspect exited with $ran: $(cat "$work/$name.err")"
  inspected=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$work/$name.out" "$expression") || fail "$name: cannot evaluate $expression on the JSON of ckpt-inspect"
}


launch() {  # OUT ERR INTERVAL PROGRAM ARGS...: ckpt-launch in the background
  local out=$1 err=$2 interval=$3
  shift 3
  start "$out" "$err" "$bin/ckpt-launch" --image "$image" --interval "$interval" -- "$@"
}

# -------------------------------------------------------------- scenarios

scenario_interval() {
  local keep_full depth
  keep_full=$("$bin/ckpt-launch" --print-policy | sed -n 's/^keep_full = \([0-9]*\)$/\1/p')
  [[ $keep_full =~ ^[0-9]+$ ]] || fail "no keep_full in ckpt-launch --print-policy"
  depth=$("$bin/ckpt-launch" --print-policy | sed -n 's/^incremental_depth = \([0-9]*\)$/\1/p')
  [[ $depth =~ ^[0-9]+$ ]] || fail "no incremental_depth in ckpt-launch --print-policy"
  native reference "$lifecycle" 350
  expect_status "the program without ckpt" "$ran" 0
  local begin status
  begin=$(now_ms)
  launch "$work/run.out" "$work/run.err" 1s "$lifecycle" 350
  wait_exit "$started" status "ckpt-launch --interval 1s"
  local duration=$(( $(now_ms) - begin ))
  expect_status "ckpt-launch --interval 1s" "$status" 0
  expect_same_output "ckpt-launch --interval 1s" "$work/reference.out" "$work/run.out"
  expect_no_processes "after the run"
  local -a generations
  mapfile -t generations < <(clean "$work/run.err" |
    sed -nE 's/^ckpt-launch: checkpoint ([0-9]+) committed \(.*$/\1/p')
  local count=${#generations[@]} expected=$(( duration / 1000 ))
  say "run of $duration ms: ${count} periodic checkpoints (generations ${generations[*]:-none})"
  (( count >= 2 )) || fail "only $count periodic checkpoints in $duration ms with --interval 1s"
  # (a slow commit can swallow a tick; the run cannot hold more ticks than seconds)
  (( count >= expected - 2 && count <= expected + 1 )) ||
    fail "$count periodic checkpoints in $duration ms with --interval 1s, expected about $expected"
  local k
  for (( k = 0; k < count; k++ )); do
    [[ ${generations[k]} == $(( k + 1 )) ]] ||
      fail "periodic checkpoints committed generations ${generations[*]}, expected 1..$count in order"
  done
  local listed
  inspect inspect '[g["seq"] for g in d["generations"]], d["chain"]["generations"]'
  listed=$inspected
  # Chains: a full generation, then `depth` incrementals; the newest
  # keep_full chains are kept.
  local -a fulls=()
  local seq
  for (( seq = 1; seq <= count; seq++ )); do (( (seq - 1) % (depth + 1) == 0 )) && fulls+=("$seq"); done
  local kept_from=1 chain_from=${fulls[-1]}
  (( ${#fulls[@]} > keep_full )) && kept_from=${fulls[${#fulls[@]} - keep_full]}
  local want_listed="" want_chain=""
  for (( seq = kept_from; seq <= count; seq++ )); do want_listed+="${want_listed:+, }$seq"; done
  for (( seq = chain_from; seq <= count; seq++ )); do want_chain+="${want_chain:+, }$seq"; done
  local retained=$(( count - kept_from + 1 ))
  [[ $listed == "([$want_listed], [$want_chain])" ]] ||
    fail "ckpt-inspect lists (generations, chain) $listed, expected ([$want_listed], [$want_chain]) (keep_full $keep_full, incremental_depth $depth)"
  say "ckpt-inspect lists generations [$want_listed], chain [$want_chain]"
  (( retained >= 2 )) || { say "keep_full $keep_full: no spacing to check"; return 0; }
  local spacing
  inspect inspect-times '(d["generations"][-1]["time_ns"] - d["generations"][-2]["time_ns"]) // 1000000'
  spacing=$inspected
  (( spacing >= 500 && spacing <= 2500 )) ||
    fail "generations $((count - 1)) and $count were committed $spacing ms apart with --interval 1s"
  say "the last two generations were committed $spacing ms apart"
  start "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  wait_exit "$started" status "ckpt-restart"
  expect_status "ckpt-restart of generation $count" "$status" 0
  clean "$work/restart.err" | grep -qE "^ckpt-restart: restarted generation $count " ||
    fail "ckpt-restart did not say 'restarted generation $count'"
  expect_same_output "ckpt-restart of generation $count" "$work/reference.out" "$work/restart.out"
  expect_no_processes "after the restart"
}

scenario_policy_signals() {
  "$bin/ckpt-launch" --print-policy >"$work/policy.toml"
  local signals
  signals=$(sed -n '/^\[signals\]$/,/^\[/p' "$work/policy.toml" | grep -E '^checkpoint' || true)
  [[ $signals == $'checkpoint = ["SIGUSR1"]\ncheckpoint_and_stop = ["SIGTERM"]' ]] ||
    fail "the default policy's [signals] are '$signals', expected checkpoint = [\"SIGUSR1\"], checkpoint_and_stop = [\"SIGTERM\"]"
  native reference "$lifecycle" 300
  expect_status "the program without ckpt" "$ran" 0
  launch "$work/run.out" "$work/run.err" off "$lifecycle" 300
  local runner=$started status
  wait_line "$work/run.err" '^progress lifecycle 20$' "$runner" "ckpt-launch"
  kill -USR1 "$runner"
  wait_line "$work/run.err" '^ckpt-launch: checkpoint 1 committed ' "$runner" "ckpt-launch after SIGUSR1" 10
  say "SIGUSR1: generation 1 committed"
  alive "$runner" || fail "ckpt-launch ended after SIGUSR1"
  ctl status status
  expect_status "ckpt-ctl status" "$ran" 0
  grep -qE '^last-checkpoint generation 1, [0-9]+ s ago$' "$work/status.out" ||
    fail "ckpt-ctl status after SIGUSR1: no 'last-checkpoint generation 1, N s ago': $(cat "$work/status.out")"
  grep -qx 'next-checkpoint on request only' "$work/status.out" ||
    fail "ckpt-ctl status with --interval off: no 'next-checkpoint on request only': $(cat "$work/status.out")"
  sleep 0.3
  alive "$runner" || fail "ckpt-launch ended before SIGTERM"
  kill -TERM "$runner"
  wait_exit "$runner" status "ckpt-launch after SIGTERM"
  expect_status "ckpt-launch stopped by SIGTERM" "$status" 143
  clean "$work/run.err" | grep -qE '^ckpt-launch: checkpoint 2 committed ' ||
    fail "SIGTERM: no 'checkpoint 2 committed' before ckpt-launch stopped"
  [[ ! -s "$work/run.out" ]] || fail "the application printed its results although SIGTERM stopped it first"
  say "SIGTERM: generation 2 committed, ckpt-launch exited with 143"
  expect_no_processes "after SIGTERM"
  start "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  wait_exit "$started" status "ckpt-restart"
  expect_status "ckpt-restart" "$status" 0
  clean "$work/restart.err" | grep -qE '^ckpt-restart: restarted generation 2 ' ||
    fail "ckpt-restart did not say 'restarted generation 2'"
  expect_same_output "ckpt-restart after SIGTERM" "$work/reference.out" "$work/restart.out"
  say "the restart printed the same stdout as the run without ckpt"
  expect_no_processes "after the restart"
}

scenario_ctl_status_stop() {
  native reference "$lifecycle" 300
  expect_status "the program without ckpt" "$ran" 0
  launch "$work/run.out" "$work/run.err" 30s "$lifecycle" 300
  local runner=$started status
  wait_line "$work/run.err" '^progress lifecycle 20$' "$runner" "ckpt-launch"
  local app inner threads
  ckpt_app_pid "$runner" lifecycle
  inner=$(sed -n 's/^NSpid:.*[[:space:]]\([0-9]*\)$/\1/p' "/proc/$app/status")
  threads=$(find "/proc/$app/task" -mindepth 1 -maxdepth 1 | wc -l)
  ctl status status
  expect_status "ckpt-ctl status" "$ran" 0
  [[ ! -s "$work/status.err" ]] || fail "ckpt-ctl status wrote to stderr: $(cat "$work/status.err")"
  local -a lines
  mapfile -t lines <"$work/status.out"
  [[ ${#lines[@]} -eq 5 ]] || fail "ckpt-ctl status printed ${#lines[@]} lines, expected 5: $(cat "$work/status.out")"
  [[ ${lines[0]} == "image $image" ]] || fail "status line 1 is '${lines[0]}', expected 'image $image'"
  [[ ${lines[1]} == "process $inner threads $threads exe $lifecycle" ]] ||
    fail "status line 2 is '${lines[1]}', expected 'process $inner threads $threads exe $lifecycle'"
  [[ ${lines[2]} == "last-checkpoint none" ]] || fail "status line 3 is '${lines[2]}', expected 'last-checkpoint none'"
  [[ ${lines[3]} =~ ^next-checkpoint\ in\ ([0-9]+)\ s$ ]] ||
    fail "status line 4 is '${lines[3]}', expected 'next-checkpoint in N s'"
  (( BASH_REMATCH[1] >= 25 && BASH_REMATCH[1] <= 30 )) ||
    fail "--interval 30s, about 0.3 s after the start: '${lines[3]}'"
  # the default policy: incremental_depth 3, dirty_tracking auto
  [[ ${lines[4]} =~ ^next-kind\ full,\ dirty\ tracking\ (uffd-wp|hash)$ ]] ||
    fail "status line 5 is '${lines[4]}', expected 'next-kind full, dirty tracking uffd-wp|hash'"
  say "status: ${lines[*]}"
  ctl checkpoint checkpoint
  expect_committed checkpoint 1
  ctl status2 status
  expect_status "ckpt-ctl status" "$ran" 0
  mapfile -t lines <"$work/status2.out"
  [[ ${#lines[@]} -eq 5 && ${lines[4]} =~ ^next-kind\ incremental\ 1\ of\ 3,\ dirty\ tracking\ (uffd-wp|hash)$ ]] ||
    fail "ckpt-ctl status after generation 1 (line 5 'next-kind incremental 1 of 3, ...'): $(cat "$work/status2.out")"
  [[ ${lines[2]} =~ ^last-checkpoint\ generation\ 1,\ ([0-9]+)\ s\ ago$ ]] ||
    fail "ckpt-ctl status after generation 1: $(cat "$work/status2.out")"
  (( BASH_REMATCH[1] <= 2 )) || fail "generation 1 was committed just now, status says '${lines[2]}'"
  say "status after the checkpoint: ${lines[2]}"
  ctl stop stop --checkpoint
  expect_committed stop 2
  wait_exit "$runner" status "ckpt-launch after ckpt-ctl stop --checkpoint"
  expect_status "ckpt-launch stopped by ckpt-ctl stop --checkpoint" "$status" 0
  [[ ! -s "$work/run.out" ]] || fail "the application printed its results although it was stopped first"
  expect_no_processes "after ckpt-ctl stop --checkpoint"
  start "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  wait_exit "$started" status "ckpt-restart"
  expect_status "ckpt-restart" "$status" 0
  clean "$work/restart.err" | grep -qE '^ckpt-restart: restarted generation 2 ' ||
    fail "ckpt-restart did not say 'restarted generation 2'"
  expect_same_output "ckpt-restart after stop --checkpoint" "$work/reference.out" "$work/restart.out"
  say "the restart printed the same stdout as the run without ckpt"
  expect_no_processes "after the restart"
}

scenario_exit_status() {
  local -a cases=("--exit 7" "--signal 12" "--signal 9")
  local case status n=0
  for case in "${cases[@]}"; do
    n=$(( n + 1 ))
    # shellcheck disable=SC2086  # the case is two words
    native "reference-$n" "$lifecycle" 50 $case
    local wanted=$ran
    case $case in
      --exit*) [[ $wanted == "${case#--exit }" ]] || fail "lifecycle $case exited with $wanted without ckpt" ;;
      --signal*) [[ $wanted == $(( 128 + ${case#--signal } )) ]] || fail "lifecycle $case exited with $wanted without ckpt" ;;
    esac
    rm -rf "$work/img"
    # shellcheck disable=SC2086
    launch "$work/run-$n.out" "$work/run-$n.err" off "$lifecycle" 50 $case
    wait_exit "$started" status "ckpt-launch -- lifecycle $case"
    expect_status "ckpt-launch -- lifecycle $case" "$status" "$wanted"
    expect_same_output "ckpt-launch -- lifecycle $case" "$work/reference-$n.out" "$work/run-$n.out"
    say "lifecycle $case: ckpt-launch exited with $status like the program alone"
    expect_no_processes "after lifecycle $case"
  done
}

scenario_exit_status_after_restart() {
  local -a cases=("--exit 7" "--signal 12")
  local case status n=0
  for case in "${cases[@]}"; do
    n=$(( n + 1 ))
    # shellcheck disable=SC2086
    native "reference-$n" "$lifecycle" 150 $case
    local wanted=$ran
    (( wanted != 0 )) || fail "lifecycle $case exited with 0 without ckpt"
    rm -rf "$work/img"
    # shellcheck disable=SC2086
    launch "$work/run-$n.out" "$work/run-$n.err" off "$lifecycle" 150 $case
    local runner=$started
    wait_line "$work/run-$n.err" '^progress lifecycle 20$' "$runner" "ckpt-launch -- lifecycle $case"
    ctl "checkpoint-$n" checkpoint
    expect_committed "checkpoint-$n" 1
    kill -9 "$runner"
    wait_exit "$runner" status "ckpt-launch after SIGKILL"
    expect_status "ckpt-launch killed by SIGKILL" "$status" 137
    expect_no_processes "after the SIGKILL of ckpt-launch"
    start "$work/restart-$n.out" "$work/restart-$n.err" "$bin/ckpt-restart" "$image"
    wait_exit "$started" status "ckpt-restart of lifecycle $case"
    expect_status "ckpt-restart of lifecycle $case" "$status" "$wanted"
    expect_same_output "ckpt-restart of lifecycle $case" "$work/reference-$n.out" "$work/restart-$n.out"
    say "lifecycle $case: ckpt-restart exited with $status like the program alone"
    expect_no_processes "after the restart of lifecycle $case"
  done
}

scenario_concurrent_checkpoints() {
  native reference "$lifecycle" 300 --grow 64
  expect_status "the program without ckpt" "$ran" 0
  launch "$work/run.out" "$work/run.err" off "$lifecycle" 300 --grow 64
  local runner=$started status a b status_a status_b
  wait_line "$work/run.err" '^progress lifecycle grown$' "$runner" "ckpt-launch"
  start "$work/ctl-a.out" "$work/ctl-a.err" "$bin/ckpt-ctl" --image "$image" checkpoint
  a=$started
  start "$work/ctl-b.out" "$work/ctl-b.err" "$bin/ckpt-ctl" --image "$image" checkpoint
  b=$started
  wait_exit "$a" status_a "the first ckpt-ctl checkpoint"
  wait_exit "$b" status_b "the second ckpt-ctl checkpoint"
  ran=$status_a
  expect_committed ctl-a ""
  local first=$committed
  ran=$status_b
  expect_committed ctl-b ""
  local second=$committed
  [[ $first != "$second" ]] || fail "both checkpoints report generation $first"
  [[ $(( first + second )) -eq 3 ]] || fail "the checkpoints committed generations $first and $second, expected 1 and 2"
  say "simultaneous requests committed generations $first and $second"
  wait_exit "$runner" status "ckpt-launch"
  expect_status "ckpt-launch" "$status" 0
  expect_same_output "ckpt-launch with two simultaneous checkpoints" "$work/reference.out" "$work/run.out"
  local listed
  inspect inspect '[g["seq"] for g in d["generations"]]'
  listed=$inspected
  [[ $listed == "[1, 2]" ]] || fail "ckpt-inspect lists generations $listed, expected [1, 2]"
  expect_no_processes "after the run"
}

# The second checkpoint of a run cannot be written: HOW is disk_full
# (ulimit -f, the second generation is larger than the limit) or
# unwritable_folder (after the first generation).
checkpoint_fails() {
  local how=$1
  native reference "$lifecycle" 300 --grow 32
  expect_status "the program without ckpt" "$ran" 0
  if [[ $how == disk_full ]]; then
    limit_fsize=16384  # KiB: generation 1 has ~2.5 MiB, generation 2 more than 32 MiB
  fi
  launch "$work/run.out" "$work/run.err" off "$lifecycle" 300 --grow 32
  limit_fsize=""
  local runner=$started status
  wait_line "$work/run.err" '^progress lifecycle 10$' "$runner" "ckpt-launch"
  ctl checkpoint-1 checkpoint
  expect_committed checkpoint-1 1
  wait_line "$work/run.err" '^progress lifecycle grown$' "$runner" "ckpt-launch"
  if [[ $how == unwritable_folder ]]; then
    if [[ $(id -u) -eq 0 ]]; then
      mount --bind "$work/img" "$work/img" || fail "cannot bind-mount the image folder"
      mounted="$work/img"
      mount -o remount,bind,ro "$work/img" || fail "cannot make the image folder read-only"
      say "the image folder is now a read-only bind mount"
    else
      chmod a-w "$work/img" "$image.d"
      say "the image folder and $image.d are now mode $(stat -c %a "$work/img")/$(stat -c %a "$image.d")"
    fi
  fi
  alive "$runner" || fail "the application finished before the second checkpoint"
  ctl checkpoint-2 checkpoint
  if ! alive "$runner"; then
    wait_exit "$runner" status "ckpt-launch"
    fail "the group did not survive the failed checkpoint: ckpt-launch exited with status $status$(signal_note "$status"); ckpt-ctl exited with $ran and said '$(cat "$work/checkpoint-2.out" "$work/checkpoint-2.err")'"
  fi
  expect_status "ckpt-ctl checkpoint of an unwritable image" "$ran" 1
  expect_one_line "ckpt-ctl checkpoint of an unwritable image" checkpoint-2 '^ckpt-ctl: .*(app\.h5|generation 2)'
  alive "$runner" || fail "the group did not survive the failed checkpoint"
  ctl status status
  expect_status "ckpt-ctl status after the failed checkpoint" "$ran" 0
  grep -qE '^last-checkpoint generation 1, ' "$work/status.out" ||
    fail "ckpt-ctl status after the failed checkpoint: $(cat "$work/status.out")"
  wait_exit "$runner" status "ckpt-launch"
  expect_status "ckpt-launch after a failed checkpoint" "$status" 0
  expect_same_output "ckpt-launch after a failed checkpoint" "$work/reference.out" "$work/run.out"
  say "the group ran to its normal end with the normal output"
  expect_no_processes "after the run"
  if [[ -n "$mounted" ]]; then
    umount "$mounted" || fail "cannot unmount the image folder"
    mounted=""
  fi
  chmod u+w "$work/img" "$image.d"
  local listed
  inspect inspect '[g["seq"] for g in d["generations"]], d["chain"]["generations"]'
  listed=$inspected
  [[ $listed == "([1], [1])" ]] || fail "ckpt-inspect lists (generations, chain) $listed, expected ([1], [1])"
  start "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  wait_exit "$started" status "ckpt-restart"
  expect_status "ckpt-restart" "$status" 0
  clean "$work/restart.err" | grep -qE '^ckpt-restart: restarted generation 1 ' ||
    fail "ckpt-restart did not say 'restarted generation 1'"
  expect_same_output "ckpt-restart of generation 1" "$work/reference.out" "$work/restart.out"
  say "generation 1 restarted and printed the normal output"
  expect_no_processes "after the restart"
}

# An image of lifecycle with one committed generation, its group stopped.
make_image() {
  launch "$work/run.out" "$work/run.err" off "$lifecycle" 200
  local runner=$started status
  wait_line "$work/run.err" '^progress lifecycle 10$' "$runner" "ckpt-launch"
  ctl checkpoint checkpoint
  expect_committed checkpoint 1
  ctl stop stop
  expect_status "ckpt-ctl stop" "$ran" 0
  wait_exit "$runner" status "ckpt-launch after ckpt-ctl stop"
  expect_no_processes "after ckpt-ctl stop"
}

expect_restart_refused() {  # WHAT REGEX
  local what=$1 regex=$2 status begin
  begin=$(now_ms)
  start "$work/restart.out" "$work/restart.err" "$bin/ckpt-restart" "$image"
  wait_exit "$started" status "ckpt-restart of $what"
  cp "$work/restart.out" "$work/refused.out"
  cp "$work/restart.err" "$work/refused.err"
  expect_failure_status "ckpt-restart of $what" "$status"
  expect_one_line "ckpt-restart of $what (status $status, $(( $(now_ms) - begin )) ms)" refused "$regex"
  expect_no_processes "after the refused restart"
}

scenario_restart_refused_corrupt_chunk() {
  [[ -x "$tamper" ]] || fail "--tamper (ckpt-test-image-tamper) is needed"
  make_image
  local pid chunks generation_file="$image.d/gen-000001.h5"
  inspect inspect 'd["generations"][0]["processes"][0]["pid"]'
  pid=$inspected
  inspect inspect 'd["generations"][0]["processes"][0]["chunks"]'
  chunks=$inspected
  [[ $chunks =~ ^[1-9][0-9]*$ ]] || fail "generation 1 has '$chunks' page chunks"
  local last=$(( chunks - 1 )) location offset size
  location=$("$tamper" chunk-location "$generation_file" "/processes/$pid/pages" "$last") ||
    fail "chunk-location of chunk $last failed"
  read -r offset size <<<"$location"
  python3 "$ckpt_harness/flip_byte.py" "$generation_file" $(( offset + size / 2 ))
  say "flipped the byte at $(( offset + size / 2 )) in page chunk $last of $chunks (process $pid)"
  run verify "$bin/ckpt-inspect" "$image" --verify
  [[ $ran -eq 1 ]] || fail "setup: ckpt-inspect --verify exited with $ran on the damaged image, expected 1"
  expect_restart_refused "an image with a damaged chunk" \
    "^ckpt-restart: .*generation 1, process $pid, chunk $last: .*(checksum|corrupt|damaged)"
}

scenario_restart_refused_newer_format() {
  [[ -x "$tamper" ]] || fail "--tamper (ckpt-test-image-tamper) is needed"
  make_image
  "$tamper" set-format-version "$image" 99 || fail "set-format-version failed"
  expect_restart_refused "an image of format version 99" '^ckpt-restart: .*format version 99 is newer'
}

scenario_app_killed_during_checkpoint() {
  launch "$work/run.out" "$work/run.err" off "$big_heap" 1024
  local runner=$started status ctl_pid ctl_status app
  wait_line "$work/run.err" '^progress big_heap pass ' "$runner" "ckpt-launch -- big_heap 1024" 30
  ckpt_app_pid "$runner" big_heap
  say "big_heap runs as pid $app"
  start "$work/ctl.out" "$work/ctl.err" "$bin/ckpt-ctl" --image "$image" checkpoint
  ctl_pid=$started
  # Wait until the generation file is being written (phase 2).
  local deadline=$(( $(now_ms) + 20000 )) written=0 file
  while (( written < 4 * 1024 * 1024 )); do
    alive "$ctl_pid" || fail "the checkpoint ended before the kill (status of ckpt-ctl follows): $(cat "$work/ctl.out" "$work/ctl.err")"
    (( $(now_ms) <= deadline )) || fail "no generation file grew to 4 MiB within 20 s"
    written=0
    for file in "$image.d"/gen-*; do
      [[ -f $file ]] && written=$(stat -c %s "$file" 2>/dev/null || echo 0)
    done
    sleep 0.01
  done
  kill -9 "$app"
  say "SIGKILL to the application after $written bytes of the generation were written"
  wait_exit "$ctl_pid" ctl_status "ckpt-ctl checkpoint"
  wait_exit "$runner" status "ckpt-launch"
  expect_status "ckpt-launch whose application was killed" "$status" 137
  expect_no_processes "after the application was killed"
  ran=$ctl_status
  if [[ $ran -eq 0 ]]; then
    # The twin froze the memory before the kill and outlives the
    # application (init waits for it): a complete generation is fine, if
    # it is whole.
    run verify "$bin/ckpt-inspect" "$image" --verify
    [[ $ran -eq 0 ]] || fail "ckpt-ctl checkpoint succeeded ($(cat "$work/ctl.out")) but ckpt-inspect --verify of the image fails: status $ran, $(cat "$work/verify.err")"
    grep -q '^generation 1 committed' "$work/ctl.out" || fail "ckpt-ctl said: $(cat "$work/ctl.out")"
    say "the checkpoint completed from the twin (memory frozen before the kill) and verifies"
    return
  fi
  expect_status "ckpt-ctl checkpoint of a killed application" "$ran" 1
  expect_one_line "ckpt-ctl checkpoint of a killed application" ctl '^ckpt-ctl: '
  if grep -q 'without an answer' "$work/ctl.err"; then
    fail "ckpt-ctl says only '$(cat "$work/ctl.err")': the coordinator did not report why the checkpoint failed"
  fi
  if [[ -e $image ]]; then
    local count
    inspect inspect 'd["generation_count"]'
    count=$inspected
    [[ $count == 0 ]] || fail "the image has $count committed generation(s) from the interrupted checkpoint"
  fi
  say "nothing was committed"
}

say "$scenario (scratch $work)"
case $scenario in
  interval) scenario_interval ;;
  policy_signals) scenario_policy_signals ;;
  ctl_status_stop) scenario_ctl_status_stop ;;
  exit_status) scenario_exit_status ;;
  exit_status.after_restart) scenario_exit_status_after_restart ;;
  concurrent_checkpoints) scenario_concurrent_checkpoints ;;
  checkpoint_fails.disk_full) checkpoint_fails disk_full ;;
  checkpoint_fails.unwritable_folder) checkpoint_fails unwritable_folder ;;
  restart_refused.corrupt_chunk) scenario_restart_refused_corrupt_chunk ;;
  restart_refused.newer_format) scenario_restart_refused_newer_format ;;
  app_killed_during_checkpoint) scenario_app_killed_during_checkpoint ;;
  *) echo "behaviour_test.sh: unknown scenario '$scenario'" >&2; usage ;;
esac
say "PASS"
