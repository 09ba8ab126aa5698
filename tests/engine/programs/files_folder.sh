#!/usr/bin/env bash
# A tracked output folder ([storage] include): the job creates and deletes
# files in it between checkpoints and appends to a log in it; after a
# restart, files created after the checkpoint are gone and files deleted
# after it are back. The script knows which files must exist after each
# step (kept in its memory, which rolls back with the files) and checks the
# folder's listing before every step: a file left over from the killed run
# or one missing fails at once ("MISMATCH ...", exit status 1); the log's
# lines (duplicated by a restart without rollback) change the final listing
# (names and contents), which must equal an uninterrupted run's.
# usage: files_folder.sh FOLDER   (the policy includes FOLDER/out)
set -euo pipefail
out=${1:?usage: files_folder.sh FOLDER}/out
rm -rf "$out"
mkdir -p "$out"
declare -A expected=()  # the names the folder must hold now
check_listing() {  # STEP
  local actual wanted=""
  actual=$(cd "$out" && ls -A | sort | tr '\n' ' ')
  if (( ${#expected[@]} > 0 )); then wanted=$(printf '%s\n' "${!expected[@]}" | sort | tr '\n' ' '); fi
  if [[ "$actual" != "$wanted" ]]; then
    echo "MISMATCH files_folder before step $1: the folder holds [$actual], expected [$wanted]" >&2
    exit 1
  fi
}
for i in $(seq 1 40); do
  check_listing "$i"
  echo "result $i $(( i * i % 97 ))" > "$out/r$i.txt"
  expected[r$i.txt]=1
  echo "step $i" >> "$out/steps.log"
  expected[steps.log]=1
  if (( i % 3 == 0 )); then rm -f "$out/r$(( i - 2 )).txt"; unset "expected[r$(( i - 2 )).txt]"; fi
  if (( i % 5 == 0 )); then cat "$out"/*.txt | md5sum | cut -c1-16 > "$out/summary-$i"; expected[summary-$i]=1; fi
  echo "progress files_folder $i" >&2
  sleep 0.1
done
check_listing end
echo "listing ok (${#expected[@]} files)"
cd "$out"
for f in $(ls | sort); do printf '%s %s\n' "$f" "$(md5sum < "$f" | cut -c1-16)"; done
