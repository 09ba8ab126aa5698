#!/usr/bin/env bash
# Engine benchmark (issue 3): a process with SIZE MiB (default 1024) of live
# data. Measures in one run, after pre-warming:
#   raw write()+fsync and read() of the same amount  (baseline)
#   full checkpoint time (no compression), application stop time, image size
#   restart time
# and prints the ratios. Usage: bench/engine_memhog.sh [BUILD_DIR] [SIZE_MIB]
set -euo pipefail
build=${1:-build}
size=${2:-1024}
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckpt-bench-XXXXXX")
cleanup() {
  pkill -9 -f "ckpt-(launch|restart).*$work" 2>/dev/null || true
  pkill -9 -f "ckpt-restart memhog.h5" 2>/dev/null || true
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
printf 'version = 1\n[checkpoint]\ninterval = "off"\ncompression = "none"\n' >policy.toml

prewarm() { "$bin/ckpt-bench-raw-io" "$size" prewarm.tmp >/dev/null; rm -f prewarm.tmp; }

prewarm
"$bin/ckpt-bench-raw-io" "$size" raw.tmp >raw.txt
raw_write=$(awk '$1 == "write" { print $2 }' raw.txt)
raw_read=$(awk '$1 == "read" { print $2 }' raw.txt)
raw_read_fresh=$(awk '$1 == "read_fresh" { print $2 }' raw.txt)
rm -f raw.tmp

prewarm
"$bin/ckpt-launch" --policy policy.toml --image "$work/memhog.h5" -- "$bin/ckpt-bench-memhog" "$size" 60 \
  >/dev/null 2>launch.log &
launcher=$!
until grep -q ready launch.log; do sleep 0.2; done
"$bin/ckpt-ctl" --image "$work/memhog.h5" checkpoint >/dev/null
kill -9 "$launcher"
wait "$launcher" 2>/dev/null || true
line=$(grep "committed" launch.log)
checkpoint_seconds=$(sed -E 's/.*MiB, ([0-9.]+) s,.*/\1/' <<<"$line")
stopped_ms=$(sed -E 's/.*stopped ([0-9.]+) ms.*/\1/' <<<"$line")
image_mib=$(du -sm memhog.h5.d | cut -f1)

prewarm
"$bin/ckpt-restart" memhog.h5 >/dev/null 2>restart.log &
restarter=$!
until grep -q "restarted generation" restart.log; do sleep 0.1; done
kill -9 "$restarter"
wait "$restarter" 2>/dev/null || true
restart_seconds=$(sed -E 's/.* in ([0-9.]+) s/\1/' <<<"$(grep restarted restart.log)")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "# engine: ${size} MiB of live data, no compression, $(nproc) cores"
echo "| measure | seconds | ratio | target |"
echo "|---|---|---|---|"
echo "| raw write()+fsync ${size} MiB | $raw_write | 1.00 | |"
echo "| full checkpoint | $checkpoint_seconds | $(ratio "$checkpoint_seconds" "$raw_write") x raw write | <= 1.3 |"
echo "| raw read ${size} MiB into a touched buffer | $raw_read | 1.00 | |"
echo "| raw read ${size} MiB into fresh memory | $raw_read_fresh | 1.00 | |"
echo "| restart | $restart_seconds | $(ratio "$restart_seconds" "$raw_read_fresh") x raw read into fresh memory ($(ratio "$restart_seconds" "$raw_read") x into a touched buffer) | <= 1.5 |"
echo "| application stopped | $(awk -v m="$stopped_ms" 'BEGIN{printf "%.3f", m/1000}') | $(awk -v m="$stopped_ms" -v s="$size" 'BEGIN{printf "%.0f ms/GiB", m*1024/s}') | < 100 ms/GiB |"
echo "| image size | ${image_mib} MiB | | |"
