#!/usr/bin/env bash
# ckpt-launch for an unprivileged user where user namespaces are not
# allowed must fail with one clear line that says what to enable, and
# leave nothing running.
#
# usage: userns_test.sh ERROR_TEST_SH DENY_USERNS CKPT_LAUNCH PROGRAM USER
#
# DENY_USERNS runs the launcher under a seccomp filter that refuses user
# namespaces. Root always may create namespaces, so as root the launcher
# runs as USER (created by test.sh).
set -euo pipefail
error_test=$1 deny=$2 launch=$3 program=$4 user=$5
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-userns.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  id "$user" >/dev/null 2>&1 || { echo "FAIL: test user $user does not exist"; exit 1; }
  chown "$user": "$scratch"
  as_user=(runuser -u "$user" -- env -i PATH="$PATH" TMPDIR="$scratch")
fi
# A copy of the program with a path of its own, so that the check for
# leftovers below cannot see the same program run by another test.
cp "$program" "$scratch/app"
program=$scratch/app
status=0
"${as_user[@]}" bash "$error_test" --status 1 \
  --match '^ckpt-launch: cannot create user and PID namespaces \(Operation not permitted\): unprivileged user namespaces are disabled; enable them with sysctl user\.max_user_namespaces=' \
  -- "$deny" "$launch" --image "$scratch/app.h5" -- "$program" || status=$?
if pgrep -f "^$program" >/dev/null; then
  echo "FAIL: a process of the application was left running"
  exit 1
fi
exit "$status"
