#!/usr/bin/env bash
# File-operation interposition benchmark (issue 5). small_writes does COUNT
# (default 1 000 000) operations of 64 bytes on one file, three ways:
# write() (one system call each), fwrite() and fprintf() (stdio buffered);
# bare and under ckpt-launch (the LD_PRELOAD agent, no checkpoint). For each
# way: one untimed warm-up run of each, then ROUNDS (default 5) alternating
# rounds; the best time of each. The time is what the program measures
# itself, from opening to closing the file (so the launch of the group is
# not counted); the best wall time of the whole command is shown too.
# Ratio under ckpt / bare; target <= 1.05.
#
# Usage: bench/file_interposition.sh [BUILD_DIR] [COUNT] [ROUNDS]
# Needs ckpt-launch and ckpt-bench-small-writes (bench/small_writes.c;
# compiled here with cc when it is not built). Prints a markdown table on
# stdout; progress and errors on stderr. Scratch files go to TMPDIR
# (default /var/tmp).
set -euo pipefail
build=${1:-build}
count=${2:-1000000}
rounds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "file_interposition.sh: $*" >&2; exit 1; }
say() { echo "file_interposition.sh: $*" >&2; }
for number in "$count" "$rounds"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || die "COUNT and ROUNDS must be positive integers (got '$number')"
done
[[ -d "$build/bin" ]] || die "no $build/bin: build first (usage: bench/file_interposition.sh [BUILD_DIR] [COUNT] [ROUNDS])"
bin=$(cd "$build/bin" && pwd)
[[ -x "$bin/ckpt-launch" ]] || die "$bin/ckpt-launch is missing (cmake --build $build)"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckpt-bench-files-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

program="$bin/ckpt-bench-small-writes"
if [[ ! -x "$program" ]]; then
  command -v cc >/dev/null || die "$program is missing and there is no cc to compile $here/small_writes.c"
  program="$work/small_writes"
  cc -O2 -o "$program" "$here/small_writes.c" || die "cannot compile $here/small_writes.c"
fi
printf 'version = 1\n[checkpoint]\ninterval = "off"\n' >policy.toml

now_ns() { date +%s%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }

# One run; sets loop_s (the program's own time) and wall_s.
run() {  # bare|ckpt MODE
  local how=$1 mode=$2 started status=0
  rm -f out.dat
  rm -rf app.h5 app.h5.d
  started=$(now_ns)
  if [[ $how == bare ]]; then
    "$program" "$mode" out.dat "$count" >run.out 2>run.err || status=$?
  else
    "$bin/ckpt-launch" --policy policy.toml --image "$work/app.h5" -- "$program" "$mode" out.dat "$count" \
      >run.out 2>run.err || status=$?
  fi
  wall_s=$(awk -v a="$started" -v b="$(now_ns)" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  if [[ $status -ne 0 ]]; then
    tail -n 5 run.err >&2
    die "$mode ($how) failed with status $status"
  fi
  loop_s=$(awk '$1 == "seconds" { print $2 }' run.out)
  [[ -n "$loop_s" ]] || die "$mode ($how) printed no time"
  grep -qx "bytes $(( count * 64 ))" run.out || die "$mode ($how) did not write $(( count * 64 )) bytes: $(cat run.out)"
}

declare -A best_loop best_wall
modes=(write fwrite fprintf)
for mode in "${modes[@]}"; do
  run bare "$mode"
  run ckpt "$mode"
  for how in bare ckpt; do best_loop[$how.$mode]="" best_wall[$how.$mode]=""; done
  for (( round = 1; round <= rounds; round++ )); do
    for how in bare ckpt; do
      run "$how" "$mode"
      best_loop[$how.$mode]=$(min "${best_loop[$how.$mode]}" "$loop_s")
      best_wall[$how.$mode]=$(min "${best_wall[$how.$mode]}" "$wall_s")
    done
  done
  say "$mode: bare ${best_loop[bare.$mode]} s, under ckpt-launch ${best_loop[ckpt.$mode]} s (best of $rounds)"
done

echo "# file-operation interposition: $count operations of 64 bytes, best of $rounds; $(nproc) cores"
echo "| operation | bare (s) | under ckpt-launch (s) | ratio | target | wall bare (s) | wall under ckpt-launch (s) |"
echo "|---|---|---|---|---|---|---|"
for mode in "${modes[@]}"; do
  case $mode in
    write) label="write() 64 B" ;;
    fwrite) label="fwrite() 64 B" ;;
    fprintf) label="fprintf() 64 B line" ;;
  esac
  echo "| $label | ${best_loop[bare.$mode]} | ${best_loop[ckpt.$mode]} | $(ratio "${best_loop[ckpt.$mode]}" "${best_loop[bare.$mode]}") | <= 1.05 | ${best_wall[bare.$mode]} | ${best_wall[ckpt.$mode]} |"
done
