#!/usr/bin/env bash
# Engine benchmark for process trees (issue 4). Two measurements, each with
# its baseline taken in the same run, after pre-warming:
#
#  (a) checkpoint and restart of a tree of PROCS processes (default 16)
#      holding MIB MiB of random data each (default 64: 1 GiB in all;
#      tree_memhog) against one process holding the same total
#      (ckpt-bench-memhog), compression "none". Ratio tree / single for the
#      checkpoint time (as ckpt-launch reports it), the application stop
#      and the restart time (as ckpt-restart reports it). Target: <= 1.5.
#  (b) `make -j2` of the generated project of tests/engine/programs/
#      tree_make.sh (about 180 programs: hundreds of fork/exec), bare and
#      under ckpt-launch without checkpoints; best of ROUNDS (default 2)
#      alternating runs each, after one untimed warm-up build. Ratio
#      ckpt / bare. Target: <= 1.05.
#
# Usage: bench/engine_tree.sh [BUILD_DIR] [PROCS] [MIB] [ROUNDS]
# Needs the engine (ckpt-launch, ckpt-ctl, ckpt-restart), ckpt-bench-memhog
# and ckpt-bench-raw-io (bench/), tree_memhog (target ckpt_engine_tree_memhog)
# built, and cc, make, ar for (b). Prints a markdown table on stdout;
# progress and errors on stderr. Exit status 1 with a clear message when a
# step fails (the logs' last lines are shown).
set -euo pipefail
build=${1:-build}
procs=${2:-16}
mib=${3:-64}
rounds=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/.." && pwd)

die() { echo "engine_tree.sh: $*" >&2; exit 1; }
for number in "$procs" "$mib" "$rounds"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || die "PROCS, MIB and ROUNDS must be positive integers (got '$number')"
done
(( procs >= 2 )) || die "PROCS must be at least 2 (a tree)"
[[ -d "$build/bin" ]] || die "no $build/bin: build first (usage: bench/engine_tree.sh [BUILD_DIR] [PROCS] [MIB] [ROUNDS])"
bin=$(cd "$build/bin" && pwd)
programs=$(cd "$build" && pwd)/tests/engine/programs
for tool in ckpt-launch ckpt-ctl ckpt-restart ckpt-bench-memhog ckpt-bench-raw-io; do
  [[ -x "$bin/$tool" ]] || die "$bin/$tool is missing (cmake --build $build --target $tool)"
done
[[ -x "$programs/tree_memhog" ]] || die "$programs/tree_memhog is missing (cmake --build $build --target ckpt_engine_tree_memhog)"
make_script="$source_dir/tests/engine/programs/tree_make.sh"
[[ -f "$make_script" ]] || die "$make_script is missing"
for tool in cc make ar; do
  command -v "$tool" >/dev/null || die "$tool is not installed (needed for the make benchmark)"
done

total=$(( procs * mib ))
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckpt-bench-tree-XXXXXX")
running=()  # PIDs of ckpt-launch / ckpt-restart we started
cleanup() {
  local pid
  for pid in "${running[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${running[@]}"; do wait "$pid" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"
printf 'version = 1\n[checkpoint]\ninterval = "off"\ncompression = "none"\n' >policy.toml

say() { echo "engine_tree.sh: $*" >&2; }
now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
prewarm() { "$bin/ckpt-bench-raw-io" "$total" prewarm.tmp >/dev/null; rm -f prewarm.tmp; }
show_log() { echo "---- last lines of $1 ----" >&2; tail -n 15 "$1" >&2 || true; }

# Waits (at most LIMIT s) until FILE has a line matching REGEX while PID runs.
wait_for_line() {  # FILE REGEX PID LIMIT WHAT
  local file=$1 regex=$2 pid=$3 limit=$4 what=$5
  local deadline=$(( $(date +%s) + limit ))
  until grep -qE "$regex" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local status=0
      wait "$pid" 2>/dev/null || status=$?
      show_log "$file"
      die "$what: the process ended (status $status) before '$regex'"
    fi
    (( $(date +%s) <= deadline )) || { show_log "$file"; die "$what: no '$regex' within $limit s"; }
    sleep 0.1
  done
}

stop() {  # PID: SIGKILL a runner we started (the kernel ends its whole group)
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() pid
  for pid in "${running[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  running=("${kept[@]}")
}

# One checkpoint + restart of COMMAND; sets ckpt_s, stopped_ms, ckpt_wall_s,
# restart_s, restart_wall_s, image_mib.
measure_cr() {  # LABEL COMMAND...
  local label=$1
  shift
  local image="$work/$label.h5"
  rm -rf "$image" "$image.d"
  prewarm
  "$bin/ckpt-launch" --policy policy.toml --image "$image" -- "$@" >/dev/null 2>"$label.launch.log" &
  local launcher=$!
  running+=("$launcher")
  wait_for_line "$label.launch.log" '^ready' "$launcher" 300 "$label: filling memory under ckpt-launch"
  sleep 1  # let the fill's dirty pages settle
  local started output status=0
  started=$(now_ns)
  output=$("$bin/ckpt-ctl" --image "$image" checkpoint 2>"$label.ctl.log") || status=$?
  ckpt_wall_s=$(seconds_since "$started")
  if [[ $status -ne 0 || ! "$output" =~ ^generation\ [0-9]+\ committed$ ]]; then
    echo "ckpt-ctl stdout: $output" >&2
    show_log "$label.ctl.log"
    show_log "$label.launch.log"
    die "$label: ckpt-ctl checkpoint failed (status $status)"
  fi
  stop "$launcher"
  # "checkpoint N committed ([P processes, ]S MiB, T s, application stopped M ms)"
  local line
  line=$(grep -E 'checkpoint [0-9]+ committed' "$label.launch.log" | tail -n 1) ||
    { show_log "$label.launch.log"; die "$label: ckpt-launch logged no 'checkpoint N committed'"; }
  ckpt_s=$(sed -nE 's/.*, ([0-9.]+) s, application stopped.*/\1/p' <<<"$line")
  stopped_ms=$(sed -nE 's/.*application stopped ([0-9.]+) ms.*/\1/p' <<<"$line")
  [[ -n "$ckpt_s" && -n "$stopped_ms" ]] || die "$label: cannot read the time in '$line'"
  if [[ $label == tree ]] && ! grep -q "$procs processes" <<<"$line"; then
    die "$label: the checkpoint did not cover $procs processes: '$line'"
  fi
  image_mib=$(du -sm "$image.d" | cut -f1)

  prewarm
  started=$(now_ns)
  "$bin/ckpt-restart" "$image" >/dev/null 2>"$label.restart.log" &
  local restarter=$!
  running+=("$restarter")
  wait_for_line "$label.restart.log" 'restarted generation' "$restarter" 300 "$label: ckpt-restart"
  restart_wall_s=$(seconds_since "$started")
  stop "$restarter"
  # "restarted generation N (WHO, S MiB) in T s"
  restart_s=$(grep -E 'restarted generation' "$label.restart.log" | tail -n 1 | sed -nE 's/.* in ([0-9.]+) s$/\1/p')
  [[ -n "$restart_s" ]] || { show_log "$label.restart.log"; die "$label: cannot read the restart time"; }
  say "$label: checkpoint $ckpt_s s (ckpt-ctl ${ckpt_wall_s} s), stopped $stopped_ms ms, restart $restart_s s (wall ${restart_wall_s} s), image $image_mib MiB"
}

# (a) tree vs single process, same total
say "(a) $procs processes x $mib MiB vs 1 process x $total MiB"
measure_cr single "$bin/ckpt-bench-memhog" "$total" 600
single_ckpt=$ckpt_s single_stopped=$stopped_ms single_restart=$restart_s single_image=$image_mib
single_ckpt_wall=$ckpt_wall_s single_restart_wall=$restart_wall_s
measure_cr tree "$programs/tree_memhog" "$procs" "$mib" 600
tree_ckpt=$ckpt_s tree_stopped=$stopped_ms tree_restart=$restart_s tree_image=$image_mib
tree_ckpt_wall=$ckpt_wall_s tree_restart_wall=$restart_wall_s

# (b) make -j2, bare vs under ckpt-launch (no checkpoints)
run_make() {  # MODE OUT: prints the seconds
  local mode=$1 out=$2 started status=0
  rm -rf "$work/make-$mode" && mkdir -p "$work/make-$mode"
  started=$(now_ns)
  if [[ $mode == bare ]]; then
    bash "$make_script" "$work/make-$mode" >"$out" 2>"$out.err" || status=$?
  else
    rm -rf "$work/make.h5" "$work/make.h5.d"
    "$bin/ckpt-launch" --policy policy.toml --image "$work/make.h5" -- \
      bash "$make_script" "$work/make-$mode" >"$out" 2>"$out.err" || status=$?
  fi
  local seconds
  seconds=$(seconds_since "$started")
  if [[ $status -ne 0 ]]; then
    grep -v '^progress' "$out.err" | tail -n 15 >&2 || true
    die "make ($mode) failed with status $status"
  fi
  echo "$seconds"
}
say "(b) make -j2: one warm-up build, then $rounds alternating rounds"
run_make bare warmup.out >/dev/null
best_bare="" best_ckpt=""
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
for (( round = 1; round <= rounds; round++ )); do
  seconds=$(run_make bare bare.out)
  say "make bare, round $round: $seconds s"
  best_bare=$(min "$best_bare" "$seconds")
  seconds=$(run_make ckpt ckpt.out)
  say "make under ckpt-launch, round $round: $seconds s"
  best_ckpt=$(min "$best_ckpt" "$seconds")
  cmp -s bare.out ckpt.out || { diff bare.out ckpt.out >&2 || true; die "make printed different results bare and under ckpt-launch"; }
done

echo "# engine, process trees: $procs x $mib MiB vs 1 x $total MiB (no compression); make -j2; $(nproc) cores"
echo "| measure | single process | tree | ratio tree/single | target |"
echo "|---|---|---|---|---|"
echo "| full checkpoint (s) | $single_ckpt | $tree_ckpt | $(ratio "$tree_ckpt" "$single_ckpt") | <= 1.5 |"
echo "| ckpt-ctl checkpoint, wall (s) | $single_ckpt_wall | $tree_ckpt_wall | $(ratio "$tree_ckpt_wall" "$single_ckpt_wall") | |"
echo "| application stopped (ms) | $single_stopped | $tree_stopped | $(ratio "$tree_stopped" "$single_stopped") | |"
echo "| restart (s) | $single_restart | $tree_restart | $(ratio "$tree_restart" "$single_restart") | <= 1.5 |"
echo "| ckpt-restart until running, wall (s) | $single_restart_wall | $tree_restart_wall | $(ratio "$tree_restart_wall" "$single_restart_wall") | |"
echo "| image size (MiB) | $single_image | $tree_image | | |"
echo
echo "| make -j2 ($(grep -oE '[0-9]+ of [0-9]+' bare.out | head -n 1) programs), best of $rounds | seconds | ratio | target |"
echo "|---|---|---|---|"
echo "| bare | $best_bare | 1.00 | |"
echo "| under ckpt-launch, no checkpoint | $best_ckpt | $(ratio "$best_ckpt" "$best_bare") | <= 1.05 |"
