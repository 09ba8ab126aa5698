#!/usr/bin/env bash
# Storage checkpoint benchmark (issue 5). An application (storage_writer)
# writes SIZE MiB (default 1024) of random data to a file under ckpt-launch;
# a checkpoint is taken (the first: the whole file); then ROUNDS times
# (default 3) it appends APPEND MiB (default 10) and another checkpoint is
# taken. The policy asks for incremental generations after the first
# (incremental_depth = ROUNDS, compression "none"), so once written ranges
# are tracked (issue 6) the later generations hold only the appended bytes.
# For each checkpoint: the time (ckpt-ctl checkpoint, wall, and as ckpt-launch
# logs it), the application stop, the generation's kind and size and the
# file bytes it stores (ckpt-inspect --json), and the ratio of the time to a
# raw copy of the new bytes measured in the same run just before
# (`dd conv=fsync` of the whole file, resp. of its last APPEND MiB, from the
# page cache; one untimed warm-up copy, best of 2 resp. 3).
#
# Usage: bench/storage_checkpoint.sh [BUILD_DIR] [SIZE_MIB] [APPEND_MIB] [ROUNDS]
# Needs ckpt-launch, ckpt-ctl, ckpt-inspect and ckpt-bench-storage-writer
# (bench/storage_writer.c; compiled here with cc when it is not built), and
# python3. Prints a markdown table on stdout; progress and errors on stderr.
# Scratch space (TMPDIR, default /var/tmp): about (ROUNDS + 3) x SIZE MiB
# while every generation is full.
set -euo pipefail
build=${1:-build}
size=${2:-1024}
append=${3:-10}
rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "storage_checkpoint.sh: $*" >&2; exit 1; }
say() { echo "storage_checkpoint.sh: $*" >&2; }
for number in "$size" "$append" "$rounds"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB, APPEND_MIB and ROUNDS must be positive integers (got '$number')"
done
[[ -d "$build/bin" ]] || die "no $build/bin: build first (usage: bench/storage_checkpoint.sh [BUILD_DIR] [SIZE_MIB] [APPEND_MIB] [ROUNDS])"
bin=$(cd "$build/bin" && pwd)
for tool in ckpt-launch ckpt-ctl ckpt-inspect; do
  [[ -x "$bin/$tool" ]] || die "$bin/$tool is missing (cmake --build $build)"
done
command -v python3 >/dev/null || die "python3 is needed to read ckpt-inspect --json"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckpt-bench-storage-XXXXXX")
launcher=""
cleanup() {
  if [[ -n "$launcher" ]]; then kill -9 "$launcher" 2>/dev/null || true; wait "$launcher" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

writer="$bin/ckpt-bench-storage-writer"
if [[ ! -x "$writer" ]]; then
  command -v cc >/dev/null || die "$writer is missing and there is no cc to compile $here/storage_writer.c"
  writer="$work/storage_writer"
  cc -O2 -o "$writer" "$here/storage_writer.c" || die "cannot compile $here/storage_writer.c"
fi

cat >policy.toml <<EOF
version = 1
[checkpoint]
interval = "off"
compression = "none"
incremental_depth = $rounds
after_chain = "full"
[storage]
keep_full = $(( rounds + 2 ))
EOF

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
show_log() { echo "---- last lines of $1 ----" >&2; tail -n 15 "$1" >&2 || true; }

wait_ready() {  # ROUND
  local deadline=$(( $(date +%s) + 600 ))
  until grep -qx "ready $1" launch.log 2>/dev/null; do
    kill -0 "$launcher" 2>/dev/null || { show_log launch.log; die "the application ended before 'ready $1'"; }
    (( $(date +%s) <= deadline )) || { show_log launch.log; die "no 'ready $1' within 600 s"; }
    sleep 0.05
  done
}

# Best time of COPIES timed copies of COUNT MiB from SKIP MiB on (after an
# untimed warm-up copy), with fsync, like a checkpoint's generation file.
raw_copy() {  # SKIP_MIB COUNT_MIB COPIES
  local skip=$1 count=$2 copies=$3 best="" started k
  dd if=data.bin of=copy.tmp bs=1M skip="$skip" count="$count" conv=fsync status=none
  rm -f copy.tmp
  for (( k = 1; k <= copies; k++ )); do
    started=$(now_ns)
    dd if=data.bin of=copy.tmp bs=1M skip="$skip" count="$count" conv=fsync status=none
    best=$(min "$best" "$(seconds_since "$started")")
    rm -f copy.tmp
  done
  echo "$best"
}

checkpoint() {  # N: sets ckpt_wall, ckpt_s, stopped_ms
  local started output status=0 line
  started=$(now_ns)
  output=$("$bin/ckpt-ctl" --image "$work/app.h5" checkpoint 2>ctl.log) || status=$?
  ckpt_wall=$(seconds_since "$started")
  if [[ $status -ne 0 || ! "$output" =~ ^generation\ [0-9]+\ committed$ ]]; then
    echo "ckpt-ctl stdout: $output" >&2
    show_log ctl.log
    show_log launch.log
    die "checkpoint $1 failed (status $status)"
  fi
  for _ in $(seq 1 100); do grep -qE "checkpoint $1 committed" launch.log && break; sleep 0.02; done
  line=$(grep -E "checkpoint $1 committed" launch.log | tail -n 1) || { show_log launch.log; die "ckpt-launch logged no 'checkpoint $1 committed'"; }
  ckpt_s=$(sed -nE 's/.*, ([0-9.]+) s, application stopped.*/\1/p' <<<"$line")
  stopped_ms=$(sed -nE 's/.*application stopped ([0-9.]+) ms.*/\1/p' <<<"$line")
  [[ -n "$ckpt_s" && -n "$stopped_ms" ]] || die "cannot read the time in '$line'"
}

say "writing $size MiB under ckpt-launch"
"$bin/ckpt-launch" --policy policy.toml --image "$work/app.h5" -- \
  "$writer" "$work/data.bin" "$size" "$append" "$rounds" "$work/go" >/dev/null 2>launch.log &
launcher=$!
wait_ready 0
raw[1]=$(raw_copy 0 "$size" 2)
checkpoint 1
wall[1]=$ckpt_wall secs[1]=$ckpt_s stop[1]=$stopped_ms
say "checkpoint 1: $ckpt_wall s (ckpt-launch: $ckpt_s s, stopped $stopped_ms ms); raw copy of $size MiB ${raw[1]} s"
for (( round = 1; round <= rounds; round++ )); do
  touch "go.$round"
  wait_ready "$round"
  n=$(( round + 1 ))
  raw[n]=$(raw_copy $(( size + (round - 1) * append )) "$append" 3)
  checkpoint "$n"
  wall[n]=$ckpt_wall secs[n]=$ckpt_s stop[n]=$stopped_ms
  say "checkpoint $n: $ckpt_wall s (ckpt-launch: $ckpt_s s, stopped $stopped_ms ms); raw copy of $append MiB ${raw[n]} s"
done
kill -9 "$launcher"
wait "$launcher" 2>/dev/null || true
launcher=""

# kind, generation MiB, stored file MiB per generation
"$bin/ckpt-inspect" "$work/app.h5" --json >inspect.json || die "ckpt-inspect failed"
python3 - inspect.json >generations.txt <<'EOF'
import json, sys
image = json.load(open(sys.argv[1]))
for g in image["generations"]:
    stored = sum(r["length"] for f in g.get("files", []) for r in f.get("ranges", []))
    print(g["seq"], g["kind"], "%.1f" % (g["bytes"] / 2**20), "%.1f" % (stored / 2**20))
EOF
(( $(wc -l <generations.txt) == rounds + 1 )) || { cat generations.txt >&2; die "expected $(( rounds + 1 )) generations in the image"; }

echo "# storage checkpoint: a $size MiB file, then $rounds x $append MiB appended; compression none, incremental_depth $rounds; $(nproc) cores"
echo "| checkpoint | new bytes | kind | file data stored (MiB) | generation (MiB) | ckpt-ctl (s) | ckpt-launch (s) | stopped (ms) | raw copy (s) | ratio ckpt-ctl / raw |"
echo "|---|---|---|---|---|---|---|---|---|---|"
later_kinds=""
while read -r seq kind gen_mib file_mib; do
  if (( seq == 1 )); then new="$size MiB (whole file)"; else new="$append MiB appended"; later_kinds+=" $kind"; fi
  echo "| $seq | $new | $kind | $file_mib | $gen_mib | ${wall[seq]} | ${secs[seq]} | ${stop[seq]} | ${raw[seq]} | $(ratio "${wall[seq]}" "${raw[seq]}") |"
done <generations.txt
if [[ $later_kinds == *full* ]]; then
  echo
  echo "Later generations are full: incremental storage checkpoints are not done yet (issue 6)."
fi
