#!/usr/bin/env bash
# The Slurm plugin tests (label slurm), against the real one-node cluster
# that test.sh starts with tests/harness/slurm_cluster.sh (SLURM_CONF must
# point at it; ckpt_spank.so loaded with bindir= our build).
#
# usage: slurm_test.sh SCENARIO BIN_DIR PROGRAMS_DIR
#   srun_runs_under_ckpt   srun --ckpt-policy runs the task under ckpt: an
#                          image appears, stdout equals a plain run's
#   default_policy         --ckpt-policy=default: the site's policy
#                          (plugin argument default_policy=, set by
#                          slurm_cluster.sh) with its image folder
#   no_option_no_change    plugin loaded, option not given: the task runs as
#                          it is (no agent, no image, same output)
#   bad_policy_refused     a missing or invalid policy fails srun and sbatch
#                          at submission with FILE:LINE:COL; nothing runs
#   preempt_batch_script   sbatch --requeue job in "low" preempted by a
#                          "high" job: checkpointed, requeued, restarted
#   requeue_batch_script   the same with `scontrol requeue JOBID`
#   preempt_requeue_exit   preempted, requeued by exiting with RequeueExit
#                          (85 in the test cluster; what the plugin argument
#                          requeue_exit=85 sets, here from the job's
#                          environment)
#   srun_in_script_refused an srun inside a batch = "script" job fails with
#                          one clear line (its client cannot be checkpointed)
#   preempt_steps_two_tasks  [slurm] batch = "steps": `srun -n 2` inside the
#                          batch script; each task has its own image, both
#                          restart after the preemption
#   scancel_not_requeued   scancel sends the same SIGTERM: the job is
#                          checkpointed and ends CANCELLED, not requeued
#   failed_stop_requeues   the application is SIGSTOPped, so the checkpoint
#                          on `scontrol requeue` times out (stop_timeout):
#                          the job is requeued anyway and restarts from the
#                          last periodic checkpoint
#   failed_stop_ends       the same on preemption with
#                          on_failed_checkpoint = "end": not requeued
# The interrupted runs' RESULT files must equal an uninterrupted run's byte
# for byte, every step must appear in the step log, and step 0 only once
# (the restart continued, it did not start again).
# CKPT_TEST_KEEP=1 keeps the scratch folder.
set -euo pipefail

scenario=${1:?usage: slurm_test.sh SCENARIO BIN_DIR PROGRAMS_DIR}
bin=$(cd "${2:?}" && pwd)
programs=$(cd "${3:?}" && pwd)
counter=$programs/step_counter

fail() {
  echo "FAIL ($scenario): $*" >&2
  exit 1
}

[[ -n ${SLURM_CONF:-} && -r ${SLURM_CONF:-} ]] ||
  fail "no Slurm test cluster: SLURM_CONF is unset or unreadable (./test.sh starts one with tests/harness/slurm_cluster.sh)"
scontrol ping >/dev/null 2>&1 || fail "slurmctld does not answer (SLURM_CONF=$SLURM_CONF)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-slurm-test.XXXXXX")
chmod 0755 "$work"
cleanup() {
  local status=$?
  # every job this test submitted (submit runs in $(...): a file, not a variable)
  [[ ! -f $work/jobs ]] || scancel $(cat "$work/jobs") 2>/dev/null || true
  # a plain reference run still going (a scenario that needed no result)
  [[ -z ${reference_pid:-} ]] || { kill "$reference_pid" && wait "$reference_pid"; } 2>/dev/null || true
  if [[ $status -ne 0 || -n ${CKPT_TEST_KEEP:-} ]]; then
    echo "scratch folder kept: $work" >&2
    for out in "$work"/*.out; do
      [[ -f $out ]] && { echo "--- $out" >&2; tail -20 "$out" >&2; }
    done
  else
    # Slurm may still be tearing a killed job down (its last files): retry,
    # and never let the clean-up change the test's result.
    rm -rf "$work" 2>/dev/null || { sleep 3; rm -rf "$work" 2>/dev/null; } || true
  fi
  return "$status"
}
trap cleanup EXIT
cd "$work"

# write_policy FILE BATCH_MODE [INTERVAL [ON_FAILED [STOP_TIMEOUT [TIMEOUT]]]]:
# SIGTERM checkpoints and stops, one image per job and task.
write_policy() {
  cat >"$1" <<TOML
version = 1
[checkpoint]
interval = "${3:-off}"
timeout = "${6:-30s}"
[signals]
checkpoint = ["SIGUSR1"]
checkpoint_and_stop = ["SIGTERM"]
stop_timeout = "${5:-15s}"
[storage]
image = "$work/images/{name}-{job}.task{task}.h5"
exclude = ["$work/steps.log", "$work/steps.log.0", "$work/steps.log.1"]
[slurm]
batch = "$2"
on_failed_checkpoint = "${4:-requeue}"
TOML
}

job_field() {  # job_field JOB FIELD: a field of `scontrol show job`
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}

job_state_is() { [[ $(job_field "$1" JobState) == "$2" ]]; }
lines_at_least() { [[ -f $1 ]] && (($(wc -l <"$1") >= $2)); }

submit() {  # submit SBATCH_ARGS...: prints the job id
  local job
  job=$(sbatch --parsable "$@") || fail "sbatch $* failed"
  echo "$job" >>"$work/jobs"
  echo "$job"
}

# check_steps LOG STEPS: every step ran, step 0 exactly once.
check_steps() {
  local log=$1 steps=$2 step
  for ((step = 0; step < steps; step++)); do
    grep -q "^step $step pid" "$log" || fail "$log: step $step never ran"
  done
  (($(grep -c '^step 0 pid' "$log") == 1)) || fail "$log: step 0 ran again: the job started from the beginning"
  echo "$log: $(wc -l <"$log") step lines for $steps steps; $(($(wc -l <"$log") - steps)) redone after the checkpoint"
}

# reference_result STEPS STEP_MS: a plain run, in the background while the
# job runs; reference_done waits for it.
reference_pid=""
reference_result() {
  "$counter" "$1" "$2" "$work/reference.log" "$work/reference.result" >"$work/reference.out" &
  reference_pid=$!
}
reference_done() {
  [[ -z $reference_pid ]] || wait "$reference_pid" || fail "the plain reference run failed"
  reference_pid=""
}

# The job must have been requeued and restarted from its image; its final
# result must equal the uninterrupted one.
check_requeued_result() {
  local job=$1 result=$2 out=$3
  local restarts
  restarts=$(job_field "$job" Restarts)
  ((restarts >= 1)) || fail "job $job was not requeued (Restarts=$restarts)"
  grep -q "restarting from" "$out" || fail "$out: the requeued job did not restart from its image"
  reference_done
  cmp "$work/reference.result" "$result" || fail "$result differs from the uninterrupted run's"
  echo "job $job: requeued $restarts time(s), restarted from its image, same result"
}

check_stop_checkpoint() {  # the checkpoint on the stop signal was committed
  grep -q "checkpoint [0-9]* committed on Terminated" "$1" || fail "$1: no checkpoint committed on SIGTERM"
}

case $scenario in
  srun_runs_under_ckpt)
    write_policy job.toml script 1s
    reference_result 12 150
    srun --ckpt-policy=job.toml "$counter" 12 150 steps.log result >srun.out 2>srun.err ||
      fail "srun failed: $(cat srun.err)"
    reference_done
    cmp "$work/reference.out" srun.out || fail "srun's stdout differs from a plain run's"
    cmp "$work/reference.result" result || fail "the result differs from a plain run's"
    grep -q "running under ckpt" srun.err || fail "no 'running under ckpt' line: $(cat srun.err)"
    image=$(ls images/*.task0.h5 2>/dev/null | head -1)
    [[ -n $image ]] || fail "no image in $work/images"
    "$bin/ckpt-inspect" "$image" >inspect.out || fail "ckpt-inspect $image failed"
    grep -q "full" inspect.out || fail "the image has no full generation: $(cat inspect.out)"
    echo "srun under ckpt: same output, image $image"
    ;;

  default_policy)
    reference_result 12 150
    srun --ckpt-policy=default "$counter" 12 150 steps.log result >srun.out 2>srun.err ||
      fail "srun failed: $(cat srun.err)"
    reference_done
    cmp "$work/reference.out" srun.out || fail "srun's stdout differs from a plain run's"
    job=$(sed -n 's/^ckpt: job \([0-9]*\) task 0: running under ckpt.*/\1/p' srun.err)
    image=/tmp/ckpt-default-$(id -un)/step_counter-$job.task0.h5
    grep -q "running under ckpt, image $image" srun.err || fail "not run with the default policy: $(cat srun.err)"
    "$bin/ckpt-inspect" "$image" >inspect.out || fail "ckpt-inspect $image failed"
    rm -rf "$image" "$image.d"
    echo "srun --ckpt-policy=default: the site's policy, image $image"
    ;;

  no_option_no_change)
    srun bash -c 'exe=$(readlink /proc/$$/exe); echo "preload=[${LD_PRELOAD:-}] program=[${CKPT_SLURM_PROGRAM:-}]"; echo "$exe"' \
      >srun.out 2>srun.err || fail "srun failed: $(cat srun.err)"
    expected="preload=[] program=[]
$(readlink -f "$(command -v bash)")"
    [[ $(cat srun.out) == "$expected" ]] || fail "the task did not run as it is: $(cat srun.out)"
    [[ ! -s srun.err ]] || fail "unexpected stderr: $(cat srun.err)"
    echo "without --ckpt-policy: the task ran as it is"
    ;;

  bad_policy_refused)
    printf 'version = 1\n[checkpoint]\ninterval = "5m"\nintervall = "1m"\n' >bad.toml
    # submit_with TOOL POLICY MARKER: srun or sbatch a job that creates MARKER.
    submit_with() {
      if [[ $1 == srun ]]; then
        srun --ckpt-policy="$2" touch "$3"
      else
        sbatch --ckpt-policy="$2" --wrap "touch $3"
      fi
    }
    for tool in srun sbatch; do
      status=0
      submit_with $tool bad.toml "ran.$tool" >"$tool.out" 2>"$tool.err" || status=$?
      ((status != 0)) || fail "$tool accepted a bad policy"
      grep -q "bad.toml:4:1: unknown key 'intervall' in \[checkpoint\]; did you mean 'interval'?" "$tool.err" ||
        fail "$tool did not show the policy error: $(cat "$tool.err")"
      status=0
      submit_with $tool missing.toml "ran.$tool" >"$tool.missing.out" 2>"$tool.missing.err" || status=$?
      ((status != 0)) || fail "$tool accepted a missing policy"
      grep -q "missing.toml: cannot read policy: No such file or directory" "$tool.missing.err" ||
        fail "$tool did not say the policy is missing: $(cat "$tool.missing.err")"
    done
    sleep 2
    [[ ! -e ran.srun && ! -e ran.sbatch ]] || fail "a job ran despite the bad policy"
    [[ -z $(squeue -h -u "$(id -un)" -o %i) ]] || fail "a job was queued: $(squeue -u "$(id -un)")"
    echo "bad and missing policies refused at submission by srun and sbatch"
    ;;

  preempt_batch_script | requeue_batch_script | preempt_requeue_exit)
    write_policy job.toml script
    steps=60
    reference_result $steps 150
    printf '#!/bin/bash\n%s %s 150 %s %s\n' "$counter" $steps "$work/steps.log" "$work/result" >job.sh
    requeue_exit=()
    [[ $scenario != preempt_requeue_exit ]] || requeue_exit=(env CKPT_SLURM_REQUEUE_EXIT=85)
    job=$("${requeue_exit[@]}" sbatch --parsable --requeue -p low -n 1 --open-mode=append -o "$work/job.out" \
      --signal=B:TERM@5 --ckpt-policy="$work/job.toml" job.sh) || fail "sbatch failed"
    echo "$job" >>"$work/jobs"
    wait_for 60 "job $job to do 10 steps" lines_at_least steps.log 10
    if [[ $scenario != requeue_batch_script ]]; then
      high=$(submit -p high -n "$(nproc)" -o "$work/high.out" --wrap "sleep 2")
      echo "job $job preempted by job $high"
    else
      scontrol requeue "$job" || fail "scontrol requeue $job failed"
      echo "job $job requeued by scontrol requeue"
    fi
    wait_for 180 "job $job to complete" job_state_is "$job" COMPLETED
    check_stop_checkpoint job.out
    check_requeued_result "$job" result job.out
    check_steps steps.log $steps
    if [[ $scenario == preempt_requeue_exit ]]; then
      grep -q "exiting with status 85 (RequeueExit)" job.out || fail "job.out: no exit with RequeueExit"
      ! grep -q "requeueing job" job.out || fail "job.out: scontrol requeue used instead of RequeueExit"
    fi
    ;;

  srun_in_script_refused)
    write_policy job.toml script
    printf '#!/bin/bash\nsrun true && echo "srun ran" || echo "srun refused: $?"\necho "script ends"\n' >job.sh
    job=$(submit -p low -n 1 -o "$work/job.out" --ckpt-policy="$work/job.toml" job.sh)
    wait_for 60 "job $job to complete" job_state_is "$job" COMPLETED
    grep -q 'srun: error: ckpt: srun inside a batch script that runs under ckpt (\[slurm\] batch = "script"); set batch = "steps"' job.out ||
      fail "job.out has no clear refusal: $(cat job.out)"
    grep -q "^srun refused: 1" job.out || fail "srun was not refused: $(cat job.out)"
    grep -q "^script ends" job.out || fail "the script did not go on: $(cat job.out)"
    echo "srun inside a batch = \"script\" job refused with one line"
    ;;

  preempt_steps_two_tasks)
    write_policy job.toml steps
    steps=60
    reference_result $steps 150
    cat >job.sh <<SCRIPT
#!/bin/bash
echo "batch script starts (restart \${SLURM_RESTART_COUNT:-0})"
srun -n 2 bash -c 'exec $counter $steps 150 $work/steps.log.\$SLURM_PROCID $work/result.\$SLURM_PROCID'
SCRIPT
    job=$(submit --requeue -p low -n 2 --open-mode=append -o "$work/job.out" --ckpt-policy="$work/job.toml" job.sh)
    wait_for 60 "job $job to do 10 steps" lines_at_least steps.log.1 10
    wait_for 30 "task 0 to do 10 steps" lines_at_least steps.log.0 10
    high=$(submit -p high -n "$(nproc)" -o "$work/high.out" --wrap "sleep 2")
    echo "job $job preempted by job $high"
    wait_for 180 "job $job to complete" job_state_is "$job" COMPLETED
    check_stop_checkpoint job.out
    for task in 0 1; do
      check_requeued_result "$job" "result.$task" job.out
      check_steps "steps.log.$task" $steps
      grep -q "job $job task $task: requeued (restart 1): restarting from $work/images/.*task$task.h5" job.out ||
        fail "task $task did not restart from its own image"
    done
    (($(ls images/*.h5 | wc -l) == 2)) || fail "expected one image per task: $(ls images)"
    ;;

  scancel_not_requeued)
    write_policy job.toml script
    printf '#!/bin/bash\n%s 60 150 %s %s\n' "$counter" "$work/steps.log" "$work/result" >job.sh
    job=$(submit --requeue -p low -n 1 --open-mode=append -o "$work/job.out" --ckpt-policy="$work/job.toml" job.sh)
    wait_for 60 "job $job to do 10 steps" lines_at_least steps.log 10
    scancel "$job"
    wait_for 30 "job $job to end" job_state_is "$job" CANCELLED
    wait_for 30 "ckpt to decide" grep -qs "is COMPLETING (cancelled, or requeued by someone): not requeueing it" job.out
    sleep 8  # a requeued job would be pending or running again by now
    [[ $(job_field "$job" JobState) == CANCELLED ]] || fail "job $job is $(job_field "$job" JobState), not CANCELLED"
    [[ $(job_field "$job" Restarts) == 0 ]] || fail "job $job was requeued"
    [[ ! -e result ]] || fail "the cancelled job ran to its end"
    echo "job $job: cancelled, not requeued"
    ;;

  failed_stop_requeues | failed_stop_ends)
    steps=60
    reference_result $steps 150
    printf '#!/bin/bash\n%s %s 150 %s %s %s\n' "$counter" $steps "$work/steps.log" "$work/result" \
      "$work/freeze" >job.sh
    if [[ $scenario == failed_stop_requeues ]]; then
      write_policy job.toml script 1s requeue 1s 2s
    else
      write_policy job.toml script 1s end 1s 2s
    fi
    job=$(submit --requeue -p low -n 1 --open-mode=append -o "$work/job.out" --signal=B:TERM@5 \
      --ckpt-policy="$work/job.toml" job.sh)
    wait_for 60 "a periodic checkpoint of job $job" grep -qs "checkpoint 2 committed" job.out
    touch freeze
    wait_for 10 "the application to freeze" test ! -e freeze
    echo "the application blocked every signal: its checkpoints time out from now on"
    if [[ $scenario == failed_stop_requeues ]]; then
      scontrol requeue "$job" || fail "scontrol requeue $job failed"
      wait_for 180 "job $job to complete" job_state_is "$job" COMPLETED
      grep -q "the checkpoint on Terminated failed; generation [0-9]* stays the restart point" job.out ||
        fail "job.out does not say the checkpoint failed and the previous one stays"
      check_requeued_result "$job" result job.out
      check_steps steps.log $steps
    else
      high=$(submit -p high -n "$(nproc)" -o "$work/high.out" --wrap "sleep 2")
      wait_for 60 "job $job to end" job_state_is "$job" FAILED
      grep -q 'not requeueing (\[slurm\] on_failed_checkpoint = "end")' job.out ||
        fail "job.out does not say the job is not requeued"
      [[ $(job_field "$job" Restarts) == 0 ]] || fail "job $job was requeued"
      [[ ! -e result ]] || fail "the job finished although it was stopped"
      echo "job $job ended $(job_field "$job" JobState) ($(job_field "$job" ExitCode)) without a requeue"
      wait_for 60 "job $high to complete" job_state_is "$high" COMPLETED
    fi
    ;;

  *)
    fail "unknown scenario"
    ;;
esac
echo "PASS ($scenario)"
