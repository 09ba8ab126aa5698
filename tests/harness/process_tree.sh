# Sourced by the engine test drivers (behaviour_test.sh, shield_test.sh):
# finding an application's process from outside its PID namespace.
# The caller defines fail MESSAGE.

# ckpt_app_pid RUNNER NAME: the host pid of the application below RUNNER
# (ckpt-launch or ckpt-restart), i.e. the descendant whose comm is NAME and
# whose parent's is not (a copy-on-write twin is the application's child).
# Sets $app; fails unless there is exactly one.
ckpt_app_pid() {
  local runner=$1 name=$2 stat pid parent
  local -A parent_of=()
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}
    pid=${pid%/stat}
    parent=$(sed -E 's/.*\) [A-Za-z] ([0-9]+) .*/\1/' "$stat" 2>/dev/null) || continue
    [[ -n "$parent" ]] && parent_of[$pid]=$parent
  done
  local -a queue=("$runner") found=()
  while [[ ${#queue[@]} -gt 0 ]]; do
    local current=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in "${!parent_of[@]}"; do
      [[ ${parent_of[$pid]} == "$current" ]] || continue
      queue+=("$pid")
      if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" &&
            $(cat "/proc/$current/comm" 2>/dev/null) != "$name" ]]; then
        found+=("$pid")
      fi
    done
  done
  [[ ${#found[@]} -eq 1 ]] || fail "expected one $name process below $runner, found ${#found[@]}: ${found[*]:-}"
  app=${found[0]}
}
