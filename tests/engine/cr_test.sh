#!/usr/bin/env bash
# Checkpoint/restart driver for the engine tests (used by ctest).
#
# usage: cr_test.sh --bin DIR [--checkpoints K] [--restart-twice | --side-by-side]
#                   [--progress REGEX] [--expect-status N] [--stage-timeout SEC]
#                   [--policy TEMPLATE.toml] -- PROGRAM [ARGS...]
#
#  1. Runs PROGRAM uninterrupted under ckpt-launch: the expected stdout and
#     exit status (which must be --expect-status, default 0).
#  2. Runs it again under ckpt-launch in the background, waits until its
#     stderr shows progress (REGEX, default '^progress'), takes K checkpoints
#     at random moments (each `ckpt-ctl checkpoint` must print "generation N
#     committed"), SIGKILLs ckpt-launch and checks that no process of the
#     group survives.
#  3. Restarts the newest generation with ckpt-restart. With --restart-twice
#     the restarted run is checkpointed, killed and restarted again. With
#     --side-by-side the image is copied to a second folder and both copies
#     are restarted at the same time.
#  4. The final stdout must equal the expected one byte for byte and the exit
#     status must be the same; on a mismatch a diff is printed.
#
# "@WORKDIR@" in ARGS is replaced by this run's scratch folder. With
# --policy, "@WORKDIR@" in the TOML template is replaced the same way; the
# result (WORKDIR/policy.toml) is passed as `--policy` to every ckpt-launch
# (ckpt-restart uses the policy stored in the image). --interval off and
# --image still override the policy's interval and image path.
# Environment: CKPT_TEST_SEED=N repeats the random moments of an earlier run;
# CKPT_TEST_KEEP=1 keeps the scratch folder; TMPDIR is honoured.
# Exit status: 0 pass, 1 fail, 2 usage error.
set -euo pipefail

usage() {
  sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

bin=""
checkpoints=1
restart_twice=0
side_by_side=0
progress_regex='^progress'
expect_status=0
stage_timeout=120
policy_template=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=${2:?}; shift 2 ;;
    --checkpoints) checkpoints=${2:?}; shift 2 ;;
    --restart-twice) restart_twice=1; shift ;;
    --side-by-side) side_by_side=1; shift ;;
    --progress) progress_regex=${2:?}; shift 2 ;;
    --expect-status) expect_status=${2:?}; shift 2 ;;
    --stage-timeout) stage_timeout=${2:?}; shift 2 ;;
    --policy) policy_template=${2:?}; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "cr_test.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[[ -n "$bin" && $# -ge 1 ]] || usage
[[ "$checkpoints" =~ ^[1-9][0-9]*$ ]] || { echo "cr_test.sh: --checkpoints wants a positive number" >&2; exit 2; }
if (( restart_twice && side_by_side )); then
  echo "cr_test.sh: --restart-twice and --side-by-side are separate variants" >&2
  exit 2
fi
for tool in ckpt-launch ckpt-ctl ckpt-restart; do
  [[ -x "$bin/$tool" ]] || { echo "cr_test.sh: $bin/$tool is missing" >&2; exit 2; }
done
if [[ -n "$policy_template" && ! -r "$policy_template" ]]; then
  echo "cr_test.sh: cannot read the policy template '$policy_template'" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-cr.XXXXXX")
program=("$@")
program=("${program[@]//@WORKDIR@/$work}")
name=$(basename "${program[0]}")
# Every engine process of this run carries this marker in its environment,
# so survivors can be found even if they left the process tree.
marker="CKPT_CR_MARKER=ckpt-cr-marker:$work"

# ckpt-launch's options common to every launch (the policy, if any).
launch_options=()
if [[ -n "$policy_template" ]]; then
  policy_file="$work/policy.toml"
  # bash replacement, not sed: WORKDIR may contain characters sed treats specially
  template_text=$(<"$policy_template")
  printf '%s\n' "${template_text//@WORKDIR@/$work}" >"$policy_file"
  launch_options=(--policy "$policy_file")
fi

seed=${CKPT_TEST_SEED:-$(( ($$ * 7919 + $(date +%s%N) / 1000) % 32768 ))}
RANDOM=$seed

started_pids=()
expected_status="" status="" status_a="" status_b=""  # set by wait_exit (printf -v)
cleanup() {
  local status=$?
  set +e
  local pid
  for pid in "${started_pids[@]}"; do
    disown "$pid" 2>/dev/null  # no "Killed" job report
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  # anything left with our marker (should be nothing)
  for pid in $(marker_pids); do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [[ "${CKPT_TEST_KEEP:-0}" == 1 || ( $status -ne 0 && "${CKPT_TEST_KEEP:-0}" == failed ) ]]; then
    echo "cr_test.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s%N)
stamp() { printf '[%6.2f s]' "$(( ($(date +%s%N) - t0) / 1000000 ))e-3"; }
say() { echo "$(stamp) $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

show_stderr() {  # FILE: the non-progress lines of an application's stderr
  local file=$1
  [[ -s "$file" ]] || return 0
  echo "---- $file (without progress lines, last 30) ----"
  grep -Ev "$progress_regex" "$file" | tail -n 30 || true
  echo "---- last progress: $(grep -E "$progress_regex" "$file" | tail -n 1 || true)"
}

# For a hang: what every live thread of our processes is doing.
dump_live_processes() {
  local pid task
  for pid in $(marker_pids); do
    echo "---- live process $pid ($(cat "/proc/$pid/comm" 2>/dev/null)): $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    grep -E '^(SigIgn|SigCgt|ShdPnd)' "/proc/$pid/status" 2>/dev/null | tr '\n' ' '
    echo
    for task in /proc/"$pid"/task/*; do
      [[ -d $task ]] || continue
      echo "  thread ${task##*/} $(cat "$task/comm" 2>/dev/null):" \
        "$(grep -E '^(State|SigBlk|SigPnd)' "$task/status" 2>/dev/null | tr '\n' ' ')" \
        "wchan=$(cat "$task/wchan" 2>/dev/null) syscall=$(cut -d' ' -f1-3 "$task/syscall" 2>/dev/null)"
    done
  done
}

fail() {
  echo "$(stamp) FAIL: $*"
  dump_live_processes || true
  local file
  for file in "$work"/*.err; do [[ -e "$file" ]] && show_stderr "$file"; done
  echo "(seed $seed: CKPT_TEST_SEED=$seed repeats the same moments)"
  exit 1
}

# PIDs of live (non-zombie) processes whose environment has our marker.
marker_pids() {
  local environ pid state
  # shellcheck disable=SC2013  # /proc paths have no blanks
  for environ in $(grep -lzxF "$marker" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    state=$(stat_field "$pid" 0) || continue
    [[ $state == Z || $state == X ]] || echo "$pid"
  done
}

# Field N (0 = state, 1 = ppid, 19 = starttime) of /proc/PID/stat after the
# command name.
stat_field() {
  local line
  line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  local rest=${line##*) }
  local -a fields
  read -r -a fields <<<"$rest"
  echo "${fields[$2]}"
}

# "pid:starttime" of every descendant of PID.
descendants() {
  local root=$1 stat pid rest
  local -A parent_of=() start_of=()
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}
    pid=${pid%/stat}
    rest=$(cat "$stat" 2>/dev/null) || continue
    rest=${rest##*) }
    local -a fields
    read -r -a fields <<<"$rest"
    parent_of[$pid]=${fields[1]}
    start_of[$pid]=${fields[19]}
  done
  local -a queue=("$root")
  while [[ ${#queue[@]} -gt 0 ]]; do
    local current=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in "${!parent_of[@]}"; do
      if [[ ${parent_of[$pid]} == "$current" ]]; then
        echo "$pid:${start_of[$pid]}"
        queue+=("$pid")
      fi
    done
  done
}

# Waits until PID has exited; its status goes to the variable named by $2.
wait_exit() {
  local pid=$1 __var=$2 what=$3 limit=${4:-$stage_timeout}
  local deadline=$(( $(now_ms) + limit * 1000 ))
  while kill -0 "$pid" 2>/dev/null; do
    if (( $(now_ms) > deadline )); then
      fail "$what did not finish within $limit s"
    fi
    # a zombie child of ours counts as finished
    [[ $(stat_field "$pid" 0 2>/dev/null || echo gone) == Z ]] && break
    sleep 0.05
  done
  local __status=0
  { wait "$pid"; } 2>/dev/null || __status=$?
  printf -v "$__var" '%s' "$__status"
}

# Waits until FILE shows progress while PID is alive.
wait_progress() {
  local file=$1 pid=$2 what=$3
  local deadline=$(( $(now_ms) + stage_timeout * 1000 ))
  until grep -qE "$progress_regex" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [[ $(stat_field "$pid" 0 2>/dev/null || echo gone) == Z ]]; then
      local status=0
      { wait "$pid"; } 2>/dev/null || status=$?
      fail "$what exited (status $status) before showing progress"
    fi
    (( $(now_ms) <= deadline )) || fail "$what showed no progress within $stage_timeout s"
    sleep 0.02
  done
}

random_ms() {  # LOW HIGH: a random number of milliseconds in [LOW, HIGH]
  local low=$1 high=$2
  (( high > low )) || { echo "$low"; return; }
  echo $(( low + (RANDOM * 32768 + RANDOM) % (high - low + 1) ))
}

sleep_ms() { sleep "$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))"; }

last_generation=0
# Takes one checkpoint of the group of image $1 (whose runner is PID $2).
checkpoint() {
  local image=$1 pid=$2 label=$3
  kill -0 "$pid" 2>/dev/null || fail "$label: the application finished before the checkpoint (timing too tight?)"
  local output status=0 started
  started=$(now_ms)
  output=$(timeout "$stage_timeout" "$bin/ckpt-ctl" --image "$image" checkpoint 2>"$work/ctl.stderr") || status=$?
  local took=$(( $(now_ms) - started ))
  if [[ $status -ne 0 || ! "$output" =~ ^generation\ ([0-9]+)\ committed$ ]]; then
    echo "ckpt-ctl stdout: $output"
    echo "ckpt-ctl stderr: $(cat "$work/ctl.stderr")"
    fail "$label: ckpt-ctl checkpoint exited with status $status and did not print 'generation N committed'"
  fi
  local generation=${BASH_REMATCH[1]}
  (( generation > last_generation )) || fail "$label: generation $generation after generation $last_generation"
  last_generation=$generation
  say "$label: generation $generation committed (ckpt-ctl took $took ms)"
}

# SIGKILLs runner PID (ckpt-launch or ckpt-restart) and checks that nothing
# of its group survives.
kill_group() {  # PID LABEL [STDOUT-FILE of the runner]
  local pid=$1 label=$2 out=${3:-}
  local -a members
  mapfile -t members < <(descendants "$pid")
  local status=0
  kill -9 "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || status=$?
  if [[ $status -ne 137 ]]; then
    # The application runs on while its checkpoint is written (the engine
    # reads a copy-on-write twin), so a short program can finish before the
    # checkpoint is committed. Then there was nothing left to kill: its own
    # output must be right, and the committed image is restarted anyway.
    say "$label: the application finished (status $status) before the kill; restarting its image anyway"
    if [[ -n "$out" ]]; then compare "$label (finished by itself)" "$out" "$status"; fi
  fi
  local deadline=$(( $(now_ms) + 5000 )) survivors
  while :; do
    survivors=""
    local member member_pid member_start state
    for member in "${members[@]}"; do
      member_pid=${member%%:*}
      member_start=${member##*:}
      state=$(stat_field "$member_pid" 0 2>/dev/null) || continue
      [[ $state == Z || $state == X ]] && continue
      [[ $(stat_field "$member_pid" 19) == "$member_start" ]] || continue
      survivors+=" $member_pid($(cat "/proc/$member_pid/comm" 2>/dev/null))"
    done
    for member_pid in $(marker_pids); do
      survivors+=" $member_pid($(cat "/proc/$member_pid/comm" 2>/dev/null),marker)"
    done
    [[ -z "$survivors" ]] && break
    (( $(now_ms) <= deadline )) || fail "$label: processes survived the SIGKILL of their runner:$survivors"
    sleep 0.05
  done
  say "$label: runner killed, ${#members[@]} group processes gone"
}

compare() {  # LABEL OUT STATUS
  local label=$1 out=$2 status=$3
  if ! cmp -s "$work/expected.out" "$out"; then
    echo "---- stdout differs (expected vs $label) ----"
    diff -u "$work/expected.out" "$out" | head -n 100 || true
    local signal_note=""
    (( status > 128 )) && signal_note=" (killed by signal $(( status - 128 )): $(kill -l $(( status - 128 )) 2>/dev/null || echo '?'))"
    fail "$label: stdout differs from the uninterrupted run; exit status $status$signal_note, expected $expected_status"
  fi
  [[ $status == "$expected_status" ]] || fail "$label: exit status $status, the uninterrupted run exited with $expected_status"
  say "$label: stdout identical ($(wc -c <"$out") bytes), status $status"
}

start() {  # OUT ERR COMMAND...: starts COMMAND in the background; pid in $started
  local out=$1 err=$2
  shift 2
  env "$marker" "$@" >"$out" 2>"$err" </dev/null &
  started=$!
  started_pids+=("$started")
}

say "$name: ${program[*]} (checkpoints $checkpoints$( [[ -n "$policy_template" ]] && echo ", policy $policy_template")$( ((restart_twice)) && echo ', restart twice')$( ((side_by_side)) && echo ', side by side'); seed $seed)"
mkdir -p "$work/reference" "$work/run"

# 1. the uninterrupted run
begin=$(now_ms)
start "$work/expected.out" "$work/reference.err" \
  "$bin/ckpt-launch" "${launch_options[@]}" --image "$work/reference/app.h5" --interval off -- "${program[@]}"
wait_exit "$started" expected_status "the uninterrupted run"
duration=$(( $(now_ms) - begin ))
say "uninterrupted run: status $expected_status, $duration ms, $(wc -c <"$work/expected.out") bytes of stdout"
if [[ $expected_status != "$expect_status" ]]; then
  cat "$work/expected.out"
  fail "the uninterrupted run exited with status $expected_status, expected $expect_status"
fi
[[ -s "$work/expected.out" ]] || fail "the uninterrupted run printed nothing on stdout"
grep -qE "$progress_regex" "$work/reference.err" || fail "the uninterrupted run printed no progress matching '$progress_regex'"

# Random moments: the checkpoints of the first run fall in the first half of
# the uninterrupted run's duration (the first third when a second round of
# checkpoints follows the restart).
if (( restart_twice )); then window=$(( duration * 30 / 100 )); else window=$(( duration * 50 / 100 )); fi
per_checkpoint=$(( window / checkpoints ))

# 2. the interrupted run. A CPU-bound program may run faster now than in
# the reference run (other tests loaded the machine then): if it ends
# before its checkpoints, run it again with half the window (3 tries).
image="$work/run/app.h5"
for (( attempt = 1; ; attempt++ )); do
  rm -rf "$work/run" && mkdir -p "$work/run"
  last_generation=0
  start "$work/run.out" "$work/run.err" \
    "$bin/ckpt-launch" "${launch_options[@]}" --image "$image" --interval off -- "${program[@]}"
  runner=$started
  wait_progress "$work/run.err" "$runner" "the checkpointed run"
  ended_early=0
  for (( k = 1; k <= checkpoints; k++ )); do
    sleep_ms "$(random_ms 30 "$per_checkpoint")"
    if ! kill -0 "$runner" 2>/dev/null; then ended_early=1; break; fi
    checkpoint "$image" "$runner" "checkpoint $k"
  done
  (( ended_early )) || break
  { wait "$runner"; } 2>/dev/null || true
  (( attempt < 3 )) || fail "the application finished before checkpoint $k in $attempt tries (timing too tight?)"
  per_checkpoint=$(( per_checkpoint / 2 ))
  say "the application finished before checkpoint $k; again with checkpoints within $(( per_checkpoint * checkpoints )) ms"
done
kill_group "$runner" "first run" "$work/run.out"

# 3. restart(s)
if (( side_by_side )); then
  mkdir -p "$work/copy"
  cp -a "$image" "$image.d" "$work/copy/"
  start "$work/restart-a.out" "$work/restart-a.err" "$bin/ckpt-restart" "$image"
  restart_a=$started
  start "$work/restart-b.out" "$work/restart-b.err" "$bin/ckpt-restart" "$work/copy/app.h5"
  restart_b=$started
  say "restarting both copies side by side"
  wait_exit "$restart_a" status_a "restart of the original image"
  wait_exit "$restart_b" status_b "restart of the copied image"
  compare "restart of the original" "$work/restart-a.out" "$status_a"
  compare "restart of the copy" "$work/restart-b.out" "$status_b"
else
  start "$work/restart-1.out" "$work/restart-1.err" "$bin/ckpt-restart" "$image"
  restart=$started
  say "restarted"
  if (( restart_twice )); then
    wait_progress "$work/restart-1.err" "$restart" "the restarted run"
    sleep_ms "$(random_ms 30 $(( duration * 20 / 100 )))"
    checkpoint "$image" "$restart" "checkpoint of the restarted run"
    kill_group "$restart" "restarted run" "$work/restart-1.out"
    start "$work/restart-2.out" "$work/restart-2.err" "$bin/ckpt-restart" "$image"
    restart=$started
    say "restarted again"
    final=2
  else
    final=1
  fi
  wait_exit "$restart" status "the restarted run"
  compare "restart $final" "$work/restart-$final.out" "$status"
fi

# 4. nothing of ours may linger
deadline=$(( $(now_ms) + 5000 ))
while [[ -n "$(marker_pids)" ]]; do
  if (( $(now_ms) > deadline )); then
    fail "processes still running after the runners exited: $(marker_pids | tr '\n' ' ')"
  fi
  sleep 0.05
done
say "PASS"
