#!/usr/bin/env bash
# Slurm benchmark (issue 7), against a real one-node cluster (started here
# with tests/harness/slurm_cluster.sh when SLURM_CONF is not set; needs root
# then). Two measurements, each with its baseline from the same run:
#
#  (a) task start and end: `srun -n1 step_counter 1 0 ...` (a program that
#      does almost nothing) plain and with --ckpt-policy (periodic
#      checkpoints off), alternating, best of ROUNDS (default 10) each after
#      one untimed warm-up of each. Ratio ckpt / plain: what the plugin, the
#      submission-time policy check and ckpt-launch add to a step.
#  (b) one preemption cycle of a batch job (the test's step_counter, 8 MiB of
#      state): the checkpoint on SIGTERM as ckpt-launch reports it (and the
#      time the application was stopped), the restart as ckpt-restart
#      reports it, and the whole cycle from the high job's submission to the
#      restarted job's first new step; against the same cycle's Slurm-only
#      part (the requeued job waits cred_expire + 1 = 6 s in the test cluster).
#
# Usage: bench/slurm_overhead.sh [BUILD_DIR] [ROUNDS]
# Prints a markdown table on stdout, progress on stderr.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
rounds=${2:-10}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
counter=$build/tests/slurm/programs/step_counter
die() { echo "slurm_overhead.sh: $*" >&2; exit 1; }
[[ -x $counter && -x $build/bin/ckpt-slurm-task && -f $build/lib/ckpt_spank.so ]] ||
  die "build $build first (targets ckpt_spank ckpt-slurm-task ckpt_slurm_step_counter and the engine)"

work=$(mktemp -d /tmp/ckpt-bench-slurm.XXXXXX)
chmod 0755 "$work"
own_cluster=0
cleanup() {
  ((own_cluster == 0)) || "$source_dir/tests/harness/slurm_cluster.sh" stop "$work/cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -z ${SLURM_CONF:-} ]]; then
  eval "$("$source_dir/tests/harness/slurm_cluster.sh" start "$work/cluster" "$build/lib/ckpt_spank.so" "$build/bin")"
  export SLURM_CONF
  own_cluster=1
fi
cd "$work"
cat >job.toml <<TOML
version = 1
[checkpoint]
interval = "off"
[storage]
image = "$work/images/{name}-{job}.task{task}.h5"
exclude = ["$work/steps.log"]
TOML

seconds() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }  # calc EXPRESSION (no bc on a fresh machine)
best_plain=999 best_ckpt=999
run_once() {  # run_once plain|ckpt: prints seconds
  local start end
  rm -f result steps.log
  start=$(seconds)
  if [[ $1 == plain ]]; then
    srun -n1 "$counter" 1 0 steps.log result >/dev/null
  else
    srun -n1 --ckpt-policy=job.toml "$counter" 1 0 steps.log result >/dev/null 2>&1
  fi
  end=$(seconds)
  calc "$end - $start"
}
run_once plain >/dev/null
run_once ckpt >/dev/null
for ((round = 0; round < rounds; round++)); do
  t=$(run_once plain)
  best_plain=$(calc "($t < $best_plain) ? $t : $best_plain")
  t=$(run_once ckpt)
  best_ckpt=$(calc "($t < $best_ckpt) ? $t : $best_ckpt")
  echo "round $round: plain best $best_plain s, ckpt best $best_ckpt s" >&2
done

# (b) one preemption cycle
rm -f result steps.log
printf '#!/bin/bash\n%s 100 100 %s %s\n' "$counter" "$work/steps.log" "$work/result" >job.sh
job=$(sbatch --parsable --requeue -p low -n 1 --open-mode=append -o "$work/job.out" --signal=B:TERM@5 \
  --ckpt-policy="$work/job.toml" job.sh)
until [[ -f steps.log ]] && (($(wc -l <steps.log) >= 20)); do sleep 0.1; done
submitted=$(seconds)
high=$(sbatch --parsable -p high -n "$(nproc)" -o /dev/null --wrap "true")
before=$(wc -l <steps.log)
until grep -q "restarting from" job.out 2>/dev/null && (($(wc -l <steps.log) > before)); do sleep 0.05; done
back=$(seconds)
cycle=$(calc "$back - $submitted")
until [[ $(scontrol show job "$job" | grep -o 'JobState=[A-Z]*') == JobState=COMPLETED ]]; do sleep 0.5; done
checkpoint_line=$(grep "committed (" job.out | grep -v "^step" | tail -1)
restart_line=$(grep "ckpt-restart: restarted" job.out)
checkpoint_s=$(sed -n 's/.*, \([0-9.]*\) s, application stopped.*/\1/p' <<<"$checkpoint_line")
stopped_ms=$(sed -n 's/.*application stopped \([0-9]*\) ms.*/\1/p' <<<"$checkpoint_line")
restart_s=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' <<<"$restart_line")
ckpt_share=$(calc "($checkpoint_s + $restart_s) / $cycle")

echo "| measurement | baseline | with ckpt | ratio |"
echo "|---|---|---|---|"
echo "| (a) srun -n1 of a 1-step program, best of $rounds | $best_plain s (plain srun) | $best_ckpt s | $(calc "$best_ckpt / $best_plain") |"
echo "| (b) preemption cycle: high job submitted -> low job computing again | cycle $cycle s (Slurm: preempt, requeue, cred_expire 5 s + 1, start) | checkpoint ${checkpoint_s} s (application stopped ${stopped_ms} ms) + restart ${restart_s} s | ckpt's share of the cycle $ckpt_share |"
