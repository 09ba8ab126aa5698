#!/usr/bin/env bash
# [storage] on_external_change: a file of the storage checkpoint that
# someone outside the group changes after the group ended (here: stopped
# with a final checkpoint, as on preemption) is, at restart,
#   rollback - rolled back like the others, with a warning naming it;
#   keep     - left as it is now, with a warning;
#   refuse   - not restarted: one line naming the file, exit 1, nothing
#              rolled back.
# usage: external_change_test.sh BIN_DIR rollback|keep|refuse
set -euo pipefail
bin=$(cd "${1:?usage: external_change_test.sh BIN_DIR ACTION}" && pwd)
action=${2:?usage: external_change_test.sh BIN_DIR ACTION}
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-external.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL ($action): $*"; exit 1; }
cd "$work"
"$bin/ckpt-launch" --print-policy | sed "s/^on_external_change = .*/on_external_change = \"$action\"/" >policy.toml
grep -q "^on_external_change = \"$action\"" policy.toml || fail "no on_external_change in the printed policy"
# Appends a numbered line every 10 ms, then prints the file's line count
# and checksum (the final state of its output).
app=(bash -c 'for i in $(seq 1 300); do echo "line $i" >>"$1"; echo progress $i >&2; sleep 0.01; done; wc -l <"$1"; md5sum <"$1"' app "$work/out.txt")
"$bin/ckpt-launch" --policy policy.toml --image ref.h5 --interval off -- "${app[@]/out.txt/ref.txt}" >expected.out 2>/dev/null ||
  fail "the uninterrupted run failed"
"$bin/ckpt-launch" --policy policy.toml --image img.h5 --interval off -- "${app[@]}" >run.out 2>run.err &
runner=$!
for _ in $(seq 1 200); do [[ -f out.txt && $(wc -l <out.txt) -ge 40 ]] && break; sleep 0.05; done
"$bin/ckpt-ctl" --image img.h5 stop --checkpoint >ctl.out 2>&1 || fail "stop --checkpoint: $(cat ctl.out)"
wait "$runner" 2>/dev/null || true
[[ -s img.h5.d/files-seen ]] || fail "no img.h5.d/files-seen after the group stopped"
lines_at_checkpoint=$(wc -l <out.txt)
echo "someone else" >>out.txt
status=0
timeout 60 "$bin/ckpt-restart" img.h5 >restart.out 2>restart.err || status=$?
grep -v '^progress' restart.err >restart.log || true
case "$action" in
  rollback)
    (( status == 0 )) || fail "ckpt-restart exited with $status: $(tail -2 restart.log)"
    grep -q "out.txt was changed outside the group after its checkpoint; rolled back" restart.log ||
      fail "no warning naming the file: $(cat restart.log)"
    cmp -s expected.out restart.out || { diff expected.out restart.out || true; fail "output differs from the uninterrupted run"; }
    ! grep -q "someone else" out.txt || fail "the outside change survived the rollback"
    ;;
  keep)
    (( status == 0 )) || fail "ckpt-restart exited with $status: $(tail -2 restart.log)"
    grep -q "out.txt was changed outside the group after its checkpoint; kept as it is" restart.log ||
      fail "no warning naming the file: $(cat restart.log)"
    grep -q "someone else" out.txt || fail "the outside change was rolled back"
    # (the group did not run after its final checkpoint: 300 + the outside line)
    [[ $(head -1 restart.out) == 301 ]] || fail "expected 301 lines, the program printed $(head -1 restart.out)"
    ;;
  refuse)
    (( status == 1 )) || fail "ckpt-restart exited with $status, expected 1"
    [[ $(wc -l <restart.log) -eq 1 ]] || fail "expected one line, got: $(cat restart.log)"
    grep -q "out.txt was changed outside the group after its checkpoint" restart.log || fail "the line does not name the file: $(cat restart.log)"
    [[ $(wc -l <out.txt) -eq $(( lines_at_checkpoint + 1 )) ]] && grep -q "someone else" out.txt ||
      fail "the file was touched although the restart was refused"
    ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
echo "PASS ($action)"
