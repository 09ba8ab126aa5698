#!/usr/bin/env bash
# The ckpt demo on a fresh Debian 12 machine: installs missing packages,
# builds ckpt, then checkpoints a running multi-threaded application, kills
# it, restarts it and shows that it finishes exactly as if never interrupted:
#
#   1. build/examples/heat (a 4-thread heat solver, examples/heat/heat.c)
#      runs uninterrupted under ckpt-launch with the built-in default policy:
#      its stdout is the reference;
#   2. it runs again under ckpt-launch --image in the background;
#      ckpt-ctl checkpoint at 30 %, ckpt-ctl status, and at 45 % a SIGKILL
#      of ckpt-launch, which takes the whole group down with it;
#   3. ckpt-inspect shows the image;
#   4. ckpt-restart continues from the checkpoint; its stdout must be
#      byte-identical to the reference (cmp), or the demo fails;
#   5. ckpt-inspect --verify checks every chunk; ckpt-merge.
#
# Runs as root or as a normal user (with a build/ folder it can write), takes
# about half a minute after the build. Exit status 0 when the restarted
# result is the same, 1 otherwise.
set -euo pipefail
ckpt_source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ckpt_source_dir"
source tests/harness/packages.sh
ckpt_install_packages
ckpt_build "$ckpt_source_dir/build"
bin="$ckpt_source_dir/build/bin"
heat="$ckpt_source_dir/build/examples/heat"

# The commands below are shown as typed: ckpt's programs and the example
# are found through PATH, and everything runs in a scratch folder.
export PATH="$bin:$ckpt_source_dir/build/examples:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-demo-XXXXXX")
work=$(cd "$work" && pwd -P)
cd "$work"
launcher=""

# Processes of the demo's application: the example binary running in our
# scratch folder (a kill -9 of ckpt-launch must leave none).
app_processes() {
  local proc
  for proc in /proc/[0-9]*; do
    [[ $(readlink "$proc/exe" 2>/dev/null) == "$heat" &&
       $(readlink "$proc/cwd" 2>/dev/null) == "$work" ]] && echo "${proc#/proc/}"
  done
  return 0
}

cleanup() {
  local status=$?
  if [[ -n "$launcher" ]] && kill -0 "$launcher" 2>/dev/null; then
    kill -9 "$launcher" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
  fi
  cd /
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -t 1 ]]; then bold=$'\033[1m' dim=$'\033[2m' plain=$'\033[0m'; else bold="" dim="" plain=""; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$plain"; }  # the command about to run
fail() { printf '%sdemo failed: %s%s\n' "$bold" "$*" "$plain" >&2; exit 1; }

# Waits until the background run printed "heat: step N/M (PCT%)".
wait_for_progress() {
  local percent=$1 deadline=$((SECONDS + 120))
  until grep -qF "($percent%)" run.err 2>/dev/null; do
    kill -0 "$launcher" 2>/dev/null ||
      fail "ckpt-launch ended before the application reached $percent %: $(cat run.err)"
    ((SECONDS < deadline)) || fail "the application did not reach $percent % within 2 minutes"
    sleep 0.1
  done
}

started=$SECONDS

step "1. the reference: heat runs uninterrupted under ckpt-launch (default policy, 10-15 s)"
echo "heat (examples/heat/heat.c) diffuses heat over a 1024 x 1024 plate with 4 pthreads;"
echo "it prints progress on stderr and, at the end, 20 samples and a hash on stdout."
show "ckpt-launch -- heat > reference.out 2> reference.err"
begin=$SECONDS
status=0
ckpt-launch -- heat >reference.out 2>reference.err || status=$?
((status == 0)) || fail "the uninterrupted run exited with status $status: $(cat reference.err)"
echo "exit status 0 after $((SECONDS - begin)) s; the last lines of its stdout:"
tail -n 3 reference.out | sed 's/^/    /'

step "2. run it again in the background, checkpoint it at 30 %, kill -9 it at 45 %"
show "ckpt-launch --image run/heat.h5 -- heat > run.out 2> run.err &"
ckpt-launch --image run/heat.h5 -- heat >run.out 2>run.err &
launcher=$!
wait_for_progress 30
show "ckpt-ctl --image run/heat.h5 checkpoint      # blocks until committed"
ckpt-ctl --image run/heat.h5 checkpoint
show "ckpt-ctl --image run/heat.h5 status"
ckpt-ctl --image run/heat.h5 status
wait_for_progress 45
show "kill -9 $launcher     # SIGKILL to ckpt-launch: no chance to clean up"
kill -9 "$launcher"
status=0
wait "$launcher" 2>/dev/null || status=$?
launcher=""
echo "ckpt-launch ended with status $status (128 + SIGKILL)"
for _ in $(seq 50); do
  [[ -z "$(app_processes)" ]] && break
  sleep 0.1
done
survivors=$(app_processes)
[[ -z "$survivors" ]] || fail "processes of the group survived the kill: $survivors"
echo "no process of the application survived; what it printed before it died:"
sed 's/^/    /' run.err
echo "(its stdout, run.out, is empty: heat prints its results only at the end)"
[[ ! -s run.out ]] || fail "run.out is not empty"

step "3. the image the checkpoint left behind"
show "ls -l run run/heat.h5.d"
ls -l run run/heat.h5.d
show "ckpt-inspect run/heat.h5       # (the memory-region table is shortened here)"
ckpt-inspect run/heat.h5 | awk '
  /^ +regions \(/ { print; print "      ... (ckpt-inspect lists every region)"; skip = 1; next }
  /^ +descriptors \(/ { skip = 0 }
  !skip'

step "4. ckpt-restart continues from the checkpoint (the progress resumes after 30 %)"
show "ckpt-restart run/heat.h5 > restart.out"
begin=$SECONDS
status=0
ckpt-restart run/heat.h5 >restart.out || status=$?
((status == 0)) || fail "ckpt-restart exited with status $status"
echo "exit status 0 after $((SECONDS - begin)) s"
show "cmp reference.out restart.out"
if cmp reference.out restart.out; then
  echo "${bold}same result:${plain} the restarted run printed exactly the bytes of the" \
    "uninterrupted one ($(wc -l <restart.out) lines, $(tail -n 1 restart.out))"
else
  diff reference.out restart.out | head -20 || true
  fail "the restarted run printed something else than the uninterrupted one"
fi

step "5. the image tools: verify every checksum, fold the chain"
show "ckpt-inspect --verify run/heat.h5"
ckpt-inspect --verify run/heat.h5 | tail -n 1
show "ckpt-merge run/heat.h5"
ckpt-merge run/heat.h5

step "done in $((SECONDS - started)) s (scratch folder $work removed)"
