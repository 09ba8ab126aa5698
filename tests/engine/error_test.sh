#!/usr/bin/env bash
# Error-path check for the engine's command-line tools.
#
# usage: error_test.sh --status N|nonzero --match REGEX -- COMMAND [ARGS...]
#
# Runs COMMAND in a fresh scratch folder (its working directory, so default
# image paths land there) and passes when it exits with status N (or any
# non-zero status), prints exactly one non-empty line in all (stdout and
# stderr together), and that line matches the extended REGEX.
# "@WORKDIR@" in ARGS is replaced by the scratch folder.
set -euo pipefail

status_wanted=""
match=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --status) status_wanted=${2:?}; shift 2 ;;
    --match) match=${2:?}; shift 2 ;;
    --) shift; break ;;
    *) echo "error_test.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$status_wanted" && -n "$match" && $# -ge 1 ]] || {
  echo "usage: error_test.sh --status N|nonzero --match REGEX -- COMMAND [ARGS...]" >&2
  exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-error.XXXXXX")
trap 'rm -rf "$work"' EXIT
command=("$@")
command=("${command[@]//@WORKDIR@/$work}")

status=0
(cd "$work" && timeout 60 "${command[@]}") >"$work/output" 2>&1 </dev/null || status=$?
echo "command: ${command[*]}"
echo "exit status: $status"
echo "output:"
cat "$work/output"

if [[ $status_wanted == nonzero ]]; then
  [[ $status -ne 0 ]] || { echo "FAIL: exit status 0, wanted non-zero"; exit 1; }
else
  [[ $status -eq $status_wanted ]] || { echo "FAIL: exit status $status, wanted $status_wanted"; exit 1; }
fi
[[ $status -ne 124 ]] || { echo "FAIL: the command hung (timeout)"; exit 1; }
lines=$(grep -c '' "$work/output" || true)
[[ $lines -eq 1 ]] || { echo "FAIL: $lines lines of output, wanted exactly one"; exit 1; }
line=$(cat "$work/output")
[[ -n "${line// /}" ]] || { echo "FAIL: the line is empty"; exit 1; }
[[ $line =~ $match ]] || { echo "FAIL: the line does not match /$match/"; exit 1; }
echo "PASS"
