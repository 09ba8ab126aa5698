#!/usr/bin/env bash
# Shielding applications from a batch scheduler's signals
# (CKPT_SHIELD_SIGNALS; used by ctest, one entry per scenario).
#
# usage: shield_test.sh --bin DIR --program PATH SCENARIO
#
# PATH is tests/engine/programs/shielded.c built. ckpt-launch runs with a
# policy where SIGTERM is a `checkpoint` signal (it checkpoints and goes
# on), so what happens to the application is the agent's doing. "Outside"
# signals are sent by this script, in the host PID namespace, to the
# application's host pid (and to ckpt-launch, as Slurm does).
#
# Scenarios:
#  outside        CKPT_SHIELD_SIGNALS=15, no SIGTERM handler: two outside
#                 SIGTERMs; the application runs to its end, stdout as
#                 without ckpt
#  empty_env      as outside, after the application exec'd itself with an
#                 environment without ckpt's variables (the agent re-adds
#                 the shield's)
#  handler        ... with its own SIGTERM handler and a SIGTERM it sends
#                 itself: the handler runs once (only for its own signal)
#  self_default   shielded, no handler, it kills itself with SIGTERM:
#                 ckpt-launch exits with 143
#  unshielded     no CKPT_SHIELD_SIGNALS: the outside SIGTERM kills the
#                 application (143), i.e. this test can fail
#  blocked        shielded, SIGTERM blocked when the outside one comes (to
#                 the application only): it is pending, but sigtimedwait()
#                 does not return it, and unblocking it does not kill
#  restart        shielded, SIGTERM blocked, an outside one pending at the
#                 checkpoint; ckpt-launch SIGKILLed, ckpt-restart (without
#                 the variable): the pending signal is gone and a new
#                 outside SIGTERM to the restored application is ignored
#
# CKPT_TEST_KEEP=1 keeps the scratch folder; TMPDIR is honoured.
# Exit status: 0 pass, 1 fail, 2 usage error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../harness/process_tree.sh"

usage() {
  sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

bin="" program=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=${2:?}; shift 2 ;;
    --program) program=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "shield_test.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[[ -n "$bin" && -n "$program" && $# -eq 1 ]] || usage
scenario=$1
for tool in ckpt-launch ckpt-ctl ckpt-restart; do
  [[ -x "$bin/$tool" ]] || { echo "shield_test.sh: $bin/$tool is missing" >&2; exit 2; }
done
[[ -x "$program" ]] || { echo "shield_test.sh: $program is missing" >&2; exit 2; }
bin=$(cd "$bin" && pwd -P)
program=$(cd "$(dirname "$program")" && pwd -P)/$(basename "$program")
name=$(basename "$program")

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-shield.XXXXXX")
work=$(cd "$work" && pwd -P)
image="$work/img/app.h5"
cd /

started_pids=()
cleanup() {
  local status=$?
  set +e
  local pid
  for pid in "${started_pids[@]}"; do
    disown "$pid" 2>/dev/null
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  if [[ "${CKPT_TEST_KEEP:-0}" == 1 ]]; then
    echo "shield_test.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

t0=$(date +%s%N)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
say() { printf '[%6.2f s] %s\n' "$(( ($(date +%s%N) - t0) / 1000000 ))e-3" "$*"; }
clean() { sed -zE 's/progress [^\n]*\n//g' "$1" 2>/dev/null || true; }

fail() {
  say "FAIL ($scenario): $*"
  local file
  for file in "$work"/*.err "$work"/*.out; do
    [[ -s "$file" ]] || continue
    echo "---- $file (without progress lines, last 20) ----"
    clean "$file" | tail -n 20
  done
  exit 1
}

cat >"$work/policy.toml" <<'EOF'
version = 1

[checkpoint]
interval = "off"

[signals]
checkpoint = ["SIGUSR1", "SIGTERM"]
checkpoint_and_stop = []
EOF

# start OUT ERR COMMAND...: in the background, in the scratch folder; pid in $started
start() {
  local out=$1 err=$2
  shift 2
  (cd "$work" && exec "$@") >"$out" 2>"$err" </dev/null &
  started=$!
  started_pids+=("$started")
}

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

wait_exit() {  # PID VAR WHAT [LIMIT s]
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

wait_line() {  # FILE REGEX PID WHAT [LIMIT s]
  local file=$1 regex=$2 pid=$3 what=$4 limit=${5:-20}
  local deadline=$(( $(now_ms) + limit * 1000 ))
  until grep -qE "$regex" "$file" 2>/dev/null; do
    alive "$pid" || fail "$what: exited before printing /$regex/"
    (( $(now_ms) <= deadline )) || fail "$what: no line /$regex/ within $limit s"
    sleep 0.02
  done
}


# reference ARGS...: the program without ckpt; stdout in $work/reference.out
reference() {
  (cd "$work" && exec timeout 60 "$program" "$@") >"$work/reference.out" 2>"$work/reference.err" </dev/null ||
    fail "the program without ckpt failed (status $?)"
  [[ -s "$work/reference.out" ]] || fail "the program without ckpt printed nothing"
}

# launch SHIELD ARGS...: ckpt-launch in the background (SHIELD: the value of
# CKPT_SHIELD_SIGNALS, "" = unset); runner pid in $runner
launch() {
  local shield=$1
  shift
  if [[ -n "$shield" ]]; then
    start "$work/run.out" "$work/run.err" env CKPT_SHIELD_SIGNALS="$shield" \
      "$bin/ckpt-launch" --policy "$work/policy.toml" --image "$image" -- "$program" "$@"
  else
    start "$work/run.out" "$work/run.err" env -u CKPT_SHIELD_SIGNALS \
      "$bin/ckpt-launch" --policy "$work/policy.toml" --image "$image" -- "$program" "$@"
  fi
  runner=$started
}

# outside_term RUNNER STEP [FILE]: once the application printed progress
# STEP, SIGTERM from the host PID namespace to it and to RUNNER (as Slurm
# does; only to the application with runner_too=0)
runner_too=1
outside_term() {
  local runner=$1 step=$2 file=${3:-$work/run.err}
  wait_line "$file" "^progress $name $step\$" "$runner" "the application"
  ckpt_app_pid "$runner" "$name"
  if [[ $runner_too == 1 ]]; then
    kill -TERM "$app" "$runner"
    say "outside SIGTERM to the application (host pid $app) and its runner after step $step"
  else
    kill -TERM "$app"
    say "outside SIGTERM to the application (host pid $app) after step $step"
  fi
}

expect_same_output() {  # WHAT FILE
  if ! cmp -s "$work/reference.out" "$2"; then
    echo "---- stdout differs (reference vs $2) ----"
    diff -u "$work/reference.out" "$2" | head -n 40 || true
    fail "$1: stdout differs from the run without ckpt"
  fi
}

expect_status() {  # WHAT GOT WANTED
  [[ $2 == "$3" ]] || fail "$1: exit status $2, expected $3"
}

case $scenario in
  outside)
    reference 300
    launch 15 300
    outside_term "$runner" 30
    outside_term "$runner" 120
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch" "$status" 0
    expect_same_output "shielded run" "$work/run.out"
    grep -qE '^ckpt-launch: checkpoint [0-9]+ committed' "$work/run.err" ||
      fail "ckpt-launch did not checkpoint on SIGTERM"
    say "the application ignored both outside SIGTERMs; ckpt-launch checkpointed"
    ;;
  empty_env)
    # The application execs itself with an environment without ckpt's
    # variables: the agent puts them back, the shield's too.
    reference 300 --empty-env
    launch 15 300 --empty-env
    outside_term "$runner" 30
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch" "$status" 0
    expect_same_output "shielded run after exec with an empty environment" "$work/run.out"
    say "the application, exec'd with an empty environment, ignored the outside SIGTERM"
    ;;
  handler)
    reference 300 --handler --self-at 150
    grep -qx 'handled 1 from-inside 1' "$work/reference.out" || fail "reference: handler not run once"
    launch 15 300 --handler --self-at 150
    outside_term "$runner" 30
    outside_term "$runner" 200
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch" "$status" 0
    expect_same_output "shielded run with a handler" "$work/run.out"
    say "the handler ran for the application's own SIGTERM only"
    ;;
  self_default)
    # (it signals itself at step 250 before printing that step's progress)
    launch 15 400 --self-at 250
    outside_term "$runner" 30
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch (the application killed itself with SIGTERM)" "$status" 143
    [[ ! -s "$work/run.out" ]] || fail "the application printed its results although it killed itself"
    grep -q "^progress $name 249\$" "$work/run.err" || fail "the application died before step 250"
    ! grep -q "^progress $name 250\$" "$work/run.err" || fail "the application lived on after its own SIGTERM"
    say "its own SIGTERM killed it (143); the outside one did not"
    ;;
  unshielded)
    launch "" 300
    outside_term "$runner" 30
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch without CKPT_SHIELD_SIGNALS" "$status" 143
    [[ ! -s "$work/run.out" ]] || fail "the application survived an outside SIGTERM without the shield"
    say "without the shield the outside SIGTERM killed it (143)"
    ;;
  blocked)
    # (only to the application: a checkpoint would drop the pending signal)
    reference 300 --block-until 150
    launch 15 300 --block-until 150
    runner_too=0
    outside_term "$runner" 30
    wait_exit "$runner" status "ckpt-launch"
    expect_status "ckpt-launch" "$status" 0
    grep -qx 'pending-term 1' "$work/run.err" || fail "the outside SIGTERM was not pending while blocked"
    expect_same_output "shielded run, SIGTERM blocked" "$work/run.out"
    say "pending while blocked, not returned by sigtimedwait, ignored once unblocked"
    ;;
  restart)
    reference 400 --block-until 250
    launch 15 400 --block-until 250
    outside_term "$runner" 30
    sleep 0.2
    ctl=0
    timeout 60 "$bin/ckpt-ctl" --image "$image" checkpoint >"$work/ctl.out" 2>"$work/ctl.err" || ctl=$?
    [[ $ctl -eq 0 ]] || fail "ckpt-ctl checkpoint failed ($ctl): $(cat "$work/ctl.err")"
    grep -q "^progress $name 250\$" "$work/run.err" && fail "the checkpoint came too late (after step 250)"
    say "checkpoint: $(cat "$work/ctl.out")"
    kill -9 "$runner"
    wait_exit "$runner" status "ckpt-launch after SIGKILL"
    deadline=$(( $(now_ms) + 5000 ))
    while alive "$app"; do
      (( $(now_ms) <= deadline )) || fail "the application outlived its ckpt-launch"
      sleep 0.05
    done
    start "$work/restart.out" "$work/restart.err" env -u CKPT_SHIELD_SIGNALS "$bin/ckpt-restart" "$image"
    restarter=$started
    wait_line "$work/restart.err" '^pending-term ' "$restarter" "the restored application" 30
    grep -qx 'pending-term 0' "$work/restart.err" ||
      fail "the outside SIGTERM pending at the checkpoint came back after the restart"
    outside_term "$restarter" 300 "$work/restart.err"
    wait_exit "$restarter" status "ckpt-restart"
    expect_status "ckpt-restart" "$status" 0
    expect_same_output "restarted shielded run" "$work/restart.out"
    say "restored: the pending outside SIGTERM was dropped, a new one ignored"
    ;;
  *) echo "shield_test.sh: unknown scenario '$scenario'" >&2; usage ;;
esac
say "PASS ($scenario)"
