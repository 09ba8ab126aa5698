#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost for the Slurm plugin tests
# (munge, slurmctld, slurmd), started and stopped by PID, no systemd.
#
#   slurm_cluster.sh start STATE_DIR PLUGIN_SO BINDIR  # prints: export SLURM_CONF=...
#   slurm_cluster.sh stop STATE_DIR
#
# Needs root (slurmd starts jobs as their users). Two partitions on the
# node: "low" (preemptible, PreemptMode=REQUEUE) and "high". GraceTime,
# KillWait and the credential lifetime are short so that preemption and
# requeue tests take seconds. What works here: ../shared/notes/slurm.md.
set -euo pipefail

command=${1:?usage: slurm_cluster.sh start|stop STATE_DIR [PLUGIN_SO]}
state=${2:?missing STATE_DIR}

say() { echo "slurm_cluster: $*" >&2; }

wait_until() {  # wait_until SECONDS COMMAND...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  install -d -o munge -g munge -m 0755 /run/munge
  [[ -f /etc/munge/munge.key ]] || { say "no /etc/munge/munge.key (is munge installed?)"; return 1; }
  runuser -u munge -- /usr/sbin/munged --pid-file="$state/munged.pid" 2>"$state/munged.log" ||
    { say "munged failed to start: $(cat "$state/munged.log")"; return 1; }
  # munged writes its own pid file (as munge, in $state); keep a copy we own.
  wait_until 10 test -s "$state/munged.pid" || true
  cat "$state/munged.pid" >"$state/munge.pid" 2>/dev/null || pgrep -n munged >"$state/munge.pid"
  wait_until 10 bash -c 'munge -n | unmunge' || { say "munge does not answer"; return 1; }
}

write_conf() {
  local plugin=$1 bindir=$2 node cpus memory
  node=$(hostname -s)
  cpus=$(nproc)
  memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  mkdir -p "$state/spool" "$state/ctld"
  cat >"$state/slurm.conf" <<CONF
ClusterName=ckpttest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=1,bf_interval=1
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$state/plugstack.conf
PreemptType=preempt/partition_prio
SlurmctldParameters=preempt_send_user_signal
PreemptMode=REQUEUE
JobRequeue=1
RequeueExit=85
KillWait=5
MinJobAge=300
InactiveLimit=0
MessageTimeout=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=low Nodes=$node Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=20 OverSubscribe=NO
PartitionName=high Nodes=$node MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF OverSubscribe=NO
CONF
  # The site's default policy (srun --ckpt-policy=default): one image per
  # user, job and task under /tmp.
  cat >"$state/default-policy.toml" <<'TOML'
version = 1
[checkpoint]
interval = "1s"
[storage]
image = "/tmp/ckpt-default-{user}/{name}-{job}.task{task}.h5"
TOML
  echo "required $plugin bindir=$bindir default_policy=$state/default-policy.toml" >"$state/plugstack.conf"
  chmod 0644 "$state/slurm.conf" "$state/plugstack.conf" "$state/default-policy.toml"
  chmod 0755 "$state"
}

start() {
  local plugin=${1:?missing PLUGIN_SO} bindir=${2:?missing BINDIR}
  [[ $(id -u) -eq 0 ]] || { say "must run as root"; return 1; }
  mkdir -p "$state"
  write_conf "$plugin" "$bindir"
  export SLURM_CONF=$state/slurm.conf
  start_munge
  /usr/sbin/slurmctld -D -c -f "$SLURM_CONF" >"$state/slurmctld.out" 2>&1 &
  echo $! >"$state/ctld.pid"
  wait_until 20 scontrol ping || { say "slurmctld did not come up: $(tail -5 "$state/slurmctld.log")"; return 1; }
  /usr/sbin/slurmd -D -f "$SLURM_CONF" >"$state/slurmd.out" 2>&1 &
  echo $! >"$state/d.pid"
  if ! wait_until 30 bash -c '[[ $(sinfo -h -o %T | sort -u) == idle ]]'; then
    say "the node did not become idle: $(sinfo -h -o '%P %T' | tr '\n' ' '); $(tail -5 "$state/slurmd.log")"
    return 1
  fi
  echo "export SLURM_CONF=$SLURM_CONF"
}

stop_pid_file() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_until 15 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  export SLURM_CONF=$state/slurm.conf
  if [[ -f $state/ctld.pid ]] && kill -0 "$(cat "$state/ctld.pid")" 2>/dev/null; then
    scancel --full --quiet "--partition=low,high" 2>/dev/null || true
    scancel --quiet $(squeue -h -o %i 2>/dev/null) 2>/dev/null || true
    wait_until 30 bash -c '[[ -z $(squeue -h -o %i) ]]' || say "jobs still queued at stop"
  fi
  stop_pid_file "$state/d.pid"
  stop_pid_file "$state/ctld.pid"
  stop_pid_file "$state/munge.pid"
}

case $command in
  start) start "${3:-}" "${4:-}" ;;
  stop) stop ;;
  *) say "unknown command $command"; exit 2 ;;
esac
