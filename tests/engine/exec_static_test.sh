#!/usr/bin/env bash
# A program under ckpt that execs a statically linked one: the exec fails
# with ENOEXEC, the agent says why in one line, the program goes on.
# usage: exec_static_test.sh CKPT_LAUNCH EXEC_STATIC STATIC_HELLO
set -euo pipefail
launch=$1 exec_static=$2 static_hello=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-exec-static.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
(cd "$work" && timeout 60 "$launch" --image "$work/img.h5" -- "$exec_static" "$static_hello") \
  >"$work/out" 2>"$work/err" || status=$?
echo "exit status $status"; echo "stdout:"; cat "$work/out"; echo "stderr:"; cat "$work/err"
[[ $status -eq 0 ]] || { echo "FAIL: exit status $status"; exit 1; }
[[ "$(cat "$work/out")" == "exec failed: ENOEXEC" ]] || { echo "FAIL: the exec was not refused"; exit 1; }
grep -q "static program ran" "$work/out" && { echo "FAIL: the static program ran"; exit 1; }
[[ $(grep -c '' "$work/err") -eq 1 ]] || { echo "FAIL: wanted exactly one line on stderr"; exit 1; }
grep -Eq "^ckpt-agent\[[0-9]+\]: cannot run .*static_hello: statically linked programs cannot be checkpointed" \
  "$work/err" || { echo "FAIL: the refusal does not say why"; exit 1; }
echo PASS
