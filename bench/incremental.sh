#!/usr/bin/env bash
# Incremental checkpoint benchmark (issue 6). ckpt-bench-dirty-writer
# (bench/dirty_writer.c) maps SIZE MiB (default 1024) of anonymous memory,
# writes all of it, then runs rounds that each rewrite PERCENT % (default 5)
# of its pages, scattered at random, and read the whole buffer SWEEPS times
# (default 1: the computation between writes). For each engine of ENGINES
# (default "none hash uffd-wp mprotect"; `none` is the full baseline:
# incremental_depth 0, every checkpoint full), in one run:
#
#  (a) checkpoints: the writer runs under ckpt-launch (compression none,
#      dirty_tracking = ENGINE, incremental_depth = INCREMENTALS); one full
#      checkpoint, then INCREMENTALS times one round and one checkpoint.
#      Each checkpoint: ckpt-ctl wall time, the time and "application
#      stopped" ckpt-launch logs, and from ckpt-inspect --json the kind, the
#      size, the dirty engine recorded and the dirty pages. Targets:
#      incremental time <= 0.15 x the full one; incremental size <= 1.1 x
#      the bytes the round wrote (size includes all metadata).
#  (b) runtime overhead: TIMED_ROUNDS rounds back to back (the writer times
#      them itself), bare and under ckpt-launch after one full checkpoint
#      (so the engine is armed), alternating bare and every engine, REPEATS
#      times; best of each. Target for uffd-wp <= 1.03. The writer in (a)
#      also times each round that follows a checkpoint (the tracking has just
#      been re-armed: every page it writes is a first write).
#
# Memory is pre-warmed (SIZE MiB touched and freed) before every timed step:
# this VM hands freed memory back to the host (../shared/notes/machine-facts.md).
# An engine that is not built yet falls back to hash; the script then prints
# "engine X not used (got Y)" instead of its numbers.
#
# Usage: bench/incremental.sh [BUILD_DIR] [SIZE_MIB] [PERCENT] [INCREMENTALS]
#                             [TIMED_ROUNDS] [REPEATS] [SWEEPS]
#        ENGINES="hash uffd-wp" bench/incremental.sh build   # a subset
# Needs ckpt-launch, ckpt-ctl, ckpt-inspect and ckpt-bench-dirty-writer
# (compiled here with cc when it is not built), and python3. Prints markdown
# tables on stdout (results, then every raw measurement); progress on
# stderr. Scratch space (TMPDIR, default /var/tmp): about 2 x SIZE MiB.
set -euo pipefail
build=${1:-build}
size=${2:-1024}
percent=${3:-5}
incrementals=${4:-4}
timed_rounds=${5:-10}
repeats=${6:-3}
sweeps=${7:-1}
engines=${ENGINES:-none hash uffd-wp mprotect}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "incremental.sh: $*" >&2; exit 1; }
say() { echo "incremental.sh: $*" >&2; }
for number in "$size" "$incrementals" "$timed_rounds" "$repeats"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB, INCREMENTALS, TIMED_ROUNDS and REPEATS must be positive integers (got '$number')"
done
[[ "$sweeps" =~ ^[0-9]+$ ]] || die "SWEEPS must be an integer >= 0 (got '$sweeps')"
[[ "$percent" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "PERCENT must be a number (got '$percent')"
for engine in $engines; do
  case $engine in none | hash | uffd-wp | mprotect | soft-dirty | auto) ;; *) die "unknown engine '$engine'" ;; esac
done
[[ -d "$build/bin" ]] || die "no $build/bin: build first (usage: bench/incremental.sh [BUILD_DIR] ...)"
bin=$(cd "$build/bin" && pwd)
for tool in ckpt-launch ckpt-ctl ckpt-inspect; do
  [[ -x "$bin/$tool" ]] || die "$bin/$tool is missing (cmake --build $build)"
done
command -v python3 >/dev/null || die "python3 is needed to read ckpt-inspect --json"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckpt-bench-incremental-XXXXXX")
launcher=""
cleanup() {
  if [[ -n "$launcher" ]]; then kill -9 "$launcher" 2>/dev/null || true; wait "$launcher" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

writer="$bin/ckpt-bench-dirty-writer"
if [[ ! -x "$writer" ]]; then
  command -v cc >/dev/null || die "$writer is missing and there is no cc to compile $here/dirty_writer.c"
  writer="$work/dirty_writer"
  cc -O2 -o "$writer" "$here/dirty_writer.c" || die "cannot compile $here/dirty_writer.c"
fi

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
show_log() { echo "---- last lines of $1 ----" >&2; tail -n 15 "$1" >&2 || true; }
prewarm() { "$writer" prewarm "$size"; }

write_policy() {  # ENGINE FILE
  local depth=$incrementals
  [[ $1 == none ]] && depth=0
  cat >"$2" <<EOF
version = 1
[checkpoint]
interval = "off"
compression = "none"
incremental_depth = $depth
after_chain = "full"
dirty_tracking = "$1"
[storage]
keep_full = 1
EOF
}

# The helpers below return 1 with the reason in $why (an engine that fails
# is reported as failed; the others are still measured).
wait_line() {  # LOG REGEX: waits until LOG has a line matching REGEX
  local deadline=$(( $(date +%s) + 600 ))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      show_log "$1"
      why="the application ended before '$2'"
      return 1
    fi
    if (( $(date +%s) > deadline )); then
      show_log "$1"
      why="no '$2' within 600 s"
      return 1
    fi
    sleep 0.01
  done
}

# checkpoint IMAGE N LOG: sets ckpt_wall, ckpt_s, stopped_ms, ckpt_line
checkpoint() {
  local started output status=0
  started=$(now_ns)
  output=$("$bin/ckpt-ctl" --image "$1" checkpoint 2>ctl.log) || status=$?
  ckpt_wall=$(seconds_since "$started")
  if [[ $status -ne 0 || ! "$output" =~ ^generation\ [0-9]+\ committed$ ]]; then
    echo "ckpt-ctl stdout: $output" >&2
    show_log ctl.log
    show_log "$3"
    why="checkpoint $2 failed (ckpt-ctl status $status: $(tail -n 1 ctl.log))"
    return 1
  fi
  for _ in $(seq 1 100); do grep -qE "checkpoint $2 committed" "$3" && break; sleep 0.02; done
  ckpt_line=$(grep -E "checkpoint $2 committed" "$3" | tail -n 1) || { why="ckpt-launch logged no 'checkpoint $2 committed'"; return 1; }
  ckpt_s=$(sed -nE 's/.*, ([0-9.]+) s, application stopped.*/\1/p' <<<"$ckpt_line")
  stopped_ms=$(sed -nE 's/.*application stopped ([0-9.]+) ms.*/\1/p' <<<"$ckpt_line")
  [[ -n "$ckpt_s" && -n "$stopped_ms" ]] || { why="cannot read the time in '$ckpt_line'"; return 1; }
}

stop_launcher() {
  if [[ -n "$launcher" ]]; then kill -9 "$launcher" 2>/dev/null || true; wait "$launcher" 2>/dev/null || true; fi
  launcher=""
}
failed() {  # ENGINE: records $why
  say "$1 FAILED: $why"
  echo "$1 ${why//$'\n'/ }" >>failed.txt
  stop_launcher
}
is_failed() { grep -q "^$1 " failed.txt; }

# generation IMAGE N: "kind bytes dirty_engine dirty_pages stored_pages" of generation N
generation() {
  "$bin/ckpt-inspect" "$1" --generation "$2" --json >inspect.json || die "ckpt-inspect $1 --generation $2 failed"
  python3 - inspect.json <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))["generations"][0]
dirty = g.get("dirty_pages")
print(g["kind"], g["bytes"], g.get("dirty_engine", "?") or "?", "-" if dirty is None else dirty, g["stored_pages"])
EOF
}

# (a) checkpoints. raw.txt rows: engine seq kind wall ckpt_s stopped_ms bytes
# recorded_engine dirty_pages stored_pages round_seconds pages_written fallback
steps_run() {  # ENGINE
  local engine=$1 image="$work/$1.h5" log="$work/$1.steps.log" n round_s=- pages=- fallback
  local kind bytes recorded dirty stored
  say "$engine: $size MiB under ckpt-launch, a full checkpoint, then $incrementals x ($percent % of the pages, checkpoint)"
  prewarm
  "$bin/ckpt-launch" --policy "$engine.toml" --image "$image" -- \
    "$writer" steps "$size" "$percent" "$sweeps" "$incrementals" "$work/$engine.go" >/dev/null 2>"$log" &
  launcher=$!
  wait_line "$log" '^ready 0$' || return 1
  for (( n = 1; n <= incrementals + 1; n++ )); do
    if (( n > 1 )); then
      touch "$work/$engine.go.$(( n - 1 ))"
      wait_line "$log" "^ready $(( n - 1 )) " || return 1
      read -r round_s pages < <(sed -nE "s/^ready $(( n - 1 )) pages ([0-9]+) seconds ([0-9.]+)$/\2 \1/p" "$log")
    fi
    prewarm
    checkpoint "$image" "$n" "$log" || return 1
    fallback=-
    [[ $ckpt_line =~ ([0-9]+\ process(es)?\ compared\ by\ hash) ]] && fallback=${BASH_REMATCH[1]// /_}
    read -r kind bytes recorded dirty stored < <(generation "$image" "$n")
    echo "$engine $n $kind $ckpt_wall $ckpt_s $stopped_ms $bytes $recorded $dirty $stored $round_s $pages $fallback" >>raw.txt
    say "$engine checkpoint $n: $kind, $ckpt_wall s (ckpt-launch $ckpt_s s, stopped $stopped_ms ms), $bytes bytes, engine $recorded, dirty pages $dirty, round before it $round_s s"
  done
  stop_launcher
  rm -rf "$image" "$image.d"
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
: >raw.txt
: >failed.txt
for engine in $engines; do
  write_policy "$engine" "$engine.toml"
  steps_run "$engine" || failed "$engine"
done

# (b) runtime overhead. timed.txt rows: engine repeat seconds
: >timed.txt
timed_run() {  # ENGINE REPEAT
  local engine=$1 log="$work/$1.timed.log" seconds
  rm -f "$work/timed.go."*
  prewarm
  if [[ $engine == bare ]]; then
    touch "$work/timed.go.1"
    "$writer" timed "$size" "$percent" "$sweeps" "$timed_rounds" "$work/timed.go" 2>"$log" ||
      { show_log "$log"; die "the bare writer failed"; }
  else
    "$bin/ckpt-launch" --policy "$engine.toml" --image "$work/timed.h5" -- \
      "$writer" timed "$size" "$percent" "$sweeps" "$timed_rounds" "$work/timed.go" >/dev/null 2>"$log" &
    launcher=$!
    wait_line "$log" '^ready 0$' || return 1
    prewarm
    checkpoint "$work/timed.h5" 1 "$log" || return 1
    prewarm
    touch "$work/timed.go.1"
    if ! wait "$launcher"; then
      show_log "$log"
      launcher=""
      why="the timed writer under ckpt-launch failed"
      return 1
    fi
    launcher=""
    rm -rf "$work/timed.h5" "$work/timed.h5.d"
  fi
  seconds=$(sed -nE 's/^timed [0-9]+ rounds pages [0-9]+ seconds ([0-9.]+) .*/\1/p' "$log")
  [[ -n $seconds ]] || { show_log "$log"; why="no 'timed' line from the writer"; return 1; }
  echo "$engine $2 $seconds" >>timed.txt
  say "timed $timed_rounds rounds, $engine: $seconds s"
}
say "runtime overhead: $timed_rounds rounds back to back, bare and per engine (armed by a full checkpoint), $repeats x alternating"
for (( r = 1; r <= repeats; r++ )); do
  timed_run bare "$r"
  for engine in $engines; do
    is_failed "$engine" && continue
    timed_run "$engine" "$r" || failed "$engine"
  done
done

python3 - raw.txt timed.txt failed.txt "$size" "$percent" "$incrementals" "$timed_rounds" "$repeats" "$sweeps" "$(nproc)" "$load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" <<'EOF'
import statistics, sys
raw_file, timed_file, failed_file, size, percent, incrementals, rounds, repeats, sweeps, cores, load = sys.argv[1:]
rows = [line.split() for line in open(raw_file) if line.strip()]
timed = [line.split() for line in open(timed_file) if line.strip()]
failures = dict(line.rstrip("\n").split(" ", 1) for line in open(failed_file) if line.strip())
engines = list(dict.fromkeys([r[0] for r in rows] + list(failures)))
best = {}
for engine, _, seconds in timed:
    best[engine] = min(best.get(engine, float("inf")), float(seconds))
bare = best["bare"]
median = lambda xs: statistics.median(xs) if xs else float("nan")
fmt = lambda x, d=3: "n/a" if x != x else f"{x:.{d}f}"
none_full = median([float(r[3]) for r in rows if r[0] == "none" and r[0] not in failures])

print(f"# incremental checkpoints: {size} MiB written whole, then rounds of {percent} % of its pages "
      f"(scattered, {sweeps} read sweep(s) per round); compression none; {cores} cores")
print()
print("| engine | recorded | full (s) | incremental (s), median | ratio incr./full | ratio incr./full of none "
      "| pages written per round | dirty pages recorded | incremental size (MiB) | size / bytes written "
      f"| {rounds} rounds (s), best of {repeats} | runtime overhead | overhead against none "
      "| µs per written page | round after a checkpoint (s) |")
print("|" + "---|" * 15)
for engine in engines:
    if engine in failures:
        print(f"| {engine} | FAILED: {failures[engine]} |" + " |" * 13)
        continue
    mine = [r for r in rows if r[0] == engine]
    full = [r for r in mine if r[2] == "full"]
    incr = [r for r in mine if r[2] == "incremental"]
    recorded = sorted(set(r[7] for r in incr)) or sorted(set(r[7] for r in full))
    fallback = [r[12] for r in incr if r[12] != "-"]
    pages = [int(r[11]) for r in mine if r[11] != "-"]
    written = pages[0] if pages else 0
    round_after = median([float(r[10]) for r in mine if r[10] != "-"])
    overhead = best[engine] / bare if engine in best else float("nan")
    against_none = best[engine] / best["none"] if engine in best and "none" in best else float("nan")
    per_page = (best[engine] - bare) / (written * int(rounds)) * 1e6 if written and engine in best else float("nan")
    # "auto" is whatever engine it picked; any other must be the one recorded.
    if engine != "none" and ((recorded != [engine] and engine != "auto") or fallback):
        got = "/".join(recorded) + (", " + ", ".join(sorted(set(f.replace("_", " ") for f in fallback))) if fallback else "")
        print(f"| {engine} | engine {engine} not used (got {got}) |" + " |" * 13)
        continue
    full_s = float(full[0][3]) if full else float("nan")
    incr_s = median([float(r[3]) for r in incr])
    incr_bytes = median([int(r[6]) for r in incr])
    dirty = median([int(r[8]) for r in incr if r[8] != "-"])
    print(f"| {engine} | {'/'.join(recorded)} | {fmt(full_s)} | {fmt(incr_s)} | {fmt(incr_s / full_s, 2)} "
          f"| {fmt(incr_s / none_full, 2)} | {written} | {fmt(dirty, 0)} | {fmt(incr_bytes / 2**20, 1)} "
          f"| {fmt(incr_bytes / (written * 4096), 2) if incr and written else 'n/a'} | {fmt(best.get(engine, float('nan')))} "
          f"| {fmt(overhead, 3)} | {fmt(against_none, 3)} | {fmt(per_page, 2)} | {fmt(round_after, 4)} |")
print(f"| bare | - | | | | | | | | | {fmt(bare)} | 1.000 | | | {fmt(bare / int(rounds), 4)} (mean) |")
print()
print("Targets: incremental / full <= 0.15 and size / bytes written <= 1.1 (hash, uffd-wp); "
      "runtime overhead <= 1.03 (uffd-wp). `none` takes only full checkpoints (its incremental columns are empty); "
      "its runtime overhead is what any checkpoint costs the program afterwards (the twin's copy-on-write), "
      "'against none' is the engine's own share. µs per written page: (rounds under the engine - bare) / pages "
      "written in them.")
print()
print(f"Load average: {load}")
print()
print("Raw checkpoints:")
print()
print("| engine | # | kind | ckpt-ctl (s) | ckpt-launch (s) | stopped (ms) | bytes | engine recorded "
      "| dirty pages | stored pages | round before (s) | pages written | fallback |")
print("|" + "---|" * 13)
for r in rows:
    print("| " + " | ".join(x.replace("_", " ") for x in r) + " |")
print()
print(f"Raw timed runs ({rounds} rounds each, in the order run):")
print()
print("| run | repeat | seconds |")
print("|---|---|---|")
for r in timed:
    print("| " + " | ".join(r) + " |")
EOF
