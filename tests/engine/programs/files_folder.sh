#!/usr/bin/env bash
# A tracked output folder ([storage] include): the job creates and deletes
# files in it between checkpoints; after a restart, files created after the
# checkpoint are gone and files deleted after it are back, so the final
# listing (names and contents) equals an uninterrupted run's.
# usage: files_folder.sh FOLDER   (the policy includes FOLDER/out)
set -euo pipefail
out=${1:?usage: files_folder.sh FOLDER}/out
rm -rf "$out"
mkdir -p "$out"
for i in $(seq 1 40); do
  echo "result $i $(( i * i % 97 ))" > "$out/r$i.txt"
  if (( i % 3 == 0 )); then rm -f "$out/r$(( i - 2 )).txt"; fi
  if (( i % 5 == 0 )); then cat "$out"/*.txt | md5sum | cut -c1-16 > "$out/summary-$i"; fi
  echo "progress files_folder $i" >&2
  sleep 0.1
done
cd "$out"
for f in $(ls | sort); do printf '%s %s\n' "$f" "$(md5sum < "$f" | cut -c1-16)"; done
