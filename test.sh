#!/usr/bin/env bash
# Runs the whole ckpt test suite on a Debian 12 machine:
#   1. installs missing Debian packages (see tests/harness/packages.sh),
#   2. builds ckpt (warnings are errors) and runs ctest as root,
#   3. runs the same tests as an unprivileged user (created if missing),
#   4. builds again with AddressSanitizer + UBSan and runs the image, policy
#      and tools tests under it (the engine tests run uninstrumented programs).
# As root it first starts a one-node Slurm cluster on localhost (munge,
# slurmctld, slurmd with our SPANK plugin; tests/harness/slurm_cluster.sh)
# for the Slurm tests of both runs, and stops it at the end.
# Exit status is non-zero if anything fails.
set -euo pipefail
ckpt_source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ckpt_source_dir"
source tests/harness/packages.sh
source tests/harness/unprivileged.sh

ckpt_install_packages
ckpt_build "$ckpt_source_dir/build"

failures=0
run_suite() {
  local title=$1
  shift
  echo "==> $title"
  if ! "$@"; then
    echo "==> FAILED: $title"
    failures=$((failures + 1))
  fi
}

slurm_state=$ckpt_source_dir/build/slurm-cluster
if [[ $(id -u) -eq 0 ]]; then
  trap 'tests/harness/slurm_cluster.sh stop "$slurm_state" || true' EXIT
  echo "==> starting a Slurm test cluster in $slurm_state"
  eval "$(tests/harness/slurm_cluster.sh start "$slurm_state" "$ckpt_source_dir/build/lib/ckpt_spank.so" \
    "$ckpt_source_dir/build/bin")"
  export SLURM_CONF
else
  echo "==> not root: no Slurm test cluster; the slurm tests fail unless SLURM_CONF points at one"
fi

# As root: everything but the Slurm preemption/requeue tests (label
# slurm_requeue, 2 minutes one at a time), which the unprivileged run has:
# jobs are submitted by users, never by root.
run_suite "tests as root" ctest --test-dir build --output-on-failure -j2 -LE slurm_requeue

if [[ $(id -u) -eq 0 ]]; then
  ckpt_ensure_test_user
  ckpt_check_user_access "$ckpt_source_dir"
  # ctest writes its logs under build/Testing: let the user own that part.
  mkdir -p build/Testing
  chown -R "$ckpt_test_user": build/Testing
  # The 4 GiB dirty-page tests (label huge) run once, as root: they test
  # the engines' limits, not privileges, and take minutes.
  run_suite "tests as unprivileged user $ckpt_test_user" \
    ckpt_as_test_user ctest --test-dir "$ckpt_source_dir/build" --output-on-failure -j2 -LE huge
else
  echo "==> already unprivileged: the root run above covers the unprivileged case"
fi

ckpt_build "$ckpt_source_dir/build-asan" -DCKPT_SANITIZE=ON
run_suite "unit tests under AddressSanitizer + UBSan" \
  env ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2 -L 'image|policy|tools|unit'

if ((failures > 0)); then
  echo "==> $failures test run(s) failed"
  exit 1
fi
echo "==> all test runs passed"
