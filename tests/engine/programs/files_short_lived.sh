#!/usr/bin/env bash
# Files written only by short-lived processes: each step runs /bin/echo (a
# new process that opens the log, appends a line and exits, nearly always
# between two checkpoints), then sleeps. The file must still be in the
# storage checkpoint, or a restart keeps the killed run's later lines and
# the final line count is too high.
# usage: files_short_lived.sh FOLDER [STEPS]
set -euo pipefail
folder=${1:?usage: files_short_lived.sh FOLDER [STEPS]}
steps=${2:-120}
mkdir -p "$folder"
/bin/rm -f "$folder/log.txt"  # (not a shell redirect: the shell itself would register the file)
for (( i = 1; i <= steps; i++ )); do
  /bin/echo "line $i" >>"$folder/log.txt"
  echo "progress files_short_lived $i" >&2
  sleep 0.05
done
echo "lines $(wc -l <"$folder/log.txt") md5 $(md5sum <"$folder/log.txt" | cut -d' ' -f1)"
