#!/bin/bash
# End-to-end test of ckpt-inspect, ckpt-merge and the zstd HDF5 plugin with
# real images from ckpt-image-synth and the standard HDF5 tools.
# Usage: tools_test.sh SYNTH INSPECT MERGE TAMPER PLUGIN_DIR
# Works as root and as an unprivileged user; everything lives in a mktemp
# folder that is removed on exit.
set -u -o pipefail
ckpt_harness=$(cd "$(dirname "${BASH_SOURCE[0]}")/../harness" && pwd)

if [ $# -ne 5 ]; then
  echo "usage: $0 SYNTH INSPECT MERGE TAMPER PLUGIN_DIR" >&2
  exit 2
fi
SYNTH=$1 INSPECT=$2 MERGE=$3 TAMPER=$4 PLUGIN_DIR=$5
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-tools-test.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
FAILURES=0

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
pass() { echo "ok: $*"; }

# run NAME CMD...: runs CMD with stdout/stderr in $WORK/NAME.out/.err,
# sets STATUS.
run() {
  local name=$1
  shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  STATUS=$?
}

# expect_status NAME CODE CMD...
expect_status() {
  local name=$1 code=$2
  shift 2
  run "$name" "$@"
  if [ "$STATUS" -ne "$code" ]; then
    fail "$name: exit $STATUS, expected $code; stderr: $(head -c 600 "$WORK/$name.err")"
    return 1
  fi
  return 0
}

# expect_one_error_line NAME PATTERN: stderr is one line "TOOL: ..." matching PATTERN.
expect_one_error_line() {
  local name=$1 pattern=$2
  local lines
  lines=$(wc -l <"$WORK/$name.err")
  if [ "$lines" -ne 1 ]; then
    fail "$name: stderr has $lines lines, expected 1: $(cat "$WORK/$name.err")"
  elif ! grep -Eq -- "$pattern" "$WORK/$name.err"; then
    fail "$name: stderr '$(cat "$WORK/$name.err")' does not match /$pattern/"
  else
    pass "$name"
  fi
}

# json_query FILE EXPRESSION: prints a Python expression over the document `d`.
json_query() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

file_size() { stat -c %s "$1"; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- lz4 image
IMAGE=$WORK/lz4/job.h5
mkdir -p "$WORK/lz4" "$WORK/elsewhere" "$WORK/no-plugins"
if ! "$SYNTH" "$IMAGE" --processes 3 --pages 700 --incrementals 3 --dirty 150 --files 2 \
  --codec lz4 --seed 11 >"$WORK/synth.out" 2>&1; then
  echo "FAIL: ckpt-image-synth: $(cat "$WORK/synth.out")" >&2
  exit 1
fi

# Text output: the generation summary lists 4 generations with their kinds.
if expect_status inspect-text 0 "$INSPECT" "$IMAGE"; then
  kinds=$(awk '/^generations /{table=1; next} table && /^$/{table=0}
               table && $1 ~ /^[0-9]+$/ {printf "%s:%s ", $1, $2}' "$WORK/inspect-text.out")
  if [ "$kinds" = "1:full 2:incremental 3:incremental 4:incremental " ]; then
    pass "text output lists generations $kinds"
  else
    fail "text generation summary is '$kinds'"
  fi
  grep -q '^chain    1 -> 2 -> 3 -> 4 ' "$WORK/inspect-text.out" && pass "text shows the chain" ||
    fail "text output does not show chain 1 -> 2 -> 3 -> 4"
  grep -Eq '^    100 +[0-9]+  1:[0-9]+ ' "$WORK/inspect-text.out" && pass "text shows resolved pages" ||
    fail "text output has no resolved page row for pid 100"
  # Page columns: STORED ZEROED DIRTY (- for the full generation) FILES.
  dirty=$(awk '/^generations /{table=1; next} table && /^$/{table=0}
               table && $1 ~ /^[0-9]+$/ {printf "%s:%s:%s ", $1, $8, $12}' "$WORK/inspect-text.out")
  if [[ "$dirty" =~ ^1:synthetic:-\ (([234]):synthetic:[1-9][0-9]*\ ){3}$ ]]; then
    pass "text shows the engine and dirty pages per generation: $dirty"
  else
    fail "text ENGINE/DIRTY columns are '$dirty'"
  fi
fi

# JSON output: valid JSON with the expected structure.
if expect_status inspect-json 0 "$INSPECT" "$IMAGE" --json --digest; then
  if python3 -m json.tool "$WORK/inspect-json.out" >/dev/null 2>"$WORK/json-tool.err"; then
    pass "--json parses with python3 -m json.tool"
  else
    fail "--json output is not JSON: $(cat "$WORK/json-tool.err")"
  fi
  if python3 - "$WORK/inspect-json.out" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "ckpt-image" and d["format_version"] == 1, d["format_version"]
assert d["generation_count"] == 4, d["generation_count"]
gens = d["generations"]
assert [g["seq"] for g in gens] == [1, 2, 3, 4], [g["seq"] for g in gens]
assert [g["kind"] for g in gens] == ["full"] + ["incremental"] * 3
for g in gens:
    assert len(g["processes"]) == 3, (g["seq"], len(g["processes"]))
    assert [p["pid"] for p in g["processes"]] == [100, 101, 102]
    assert g["codec"] == "lz4" and g["time"].endswith("Z")
    assert len(g["files"]) == 2
    for p in g["processes"]:
        assert p["regions"] and p["regions"][0]["start"].startswith("0x")
        assert len(p["pages_sha256"]) == 64
    # Page counts: generation totals are the sums over its processes; an
    # incremental's dirty pages are stored + zeroed, at most the 150 pages
    # written per process (some twice); a full generation has none.
    assert g["dirty_engine"] == "synthetic", g["dirty_engine"]
    for key in ("stored_pages", "zero_pages", "stored_bytes"):
        assert g[key] == sum(p[key] for p in g["processes"]), (g["seq"], key)
    for p in g["processes"] + [g]:
        if g["kind"] == "full":
            assert p["dirty_pages"] is None and p["zero_pages"] == 0, (g["seq"], p)
        else:
            assert p["dirty_pages"] == p["stored_pages"] + p["zero_pages"], (g["seq"], p)
    if g["kind"] == "incremental":
        assert all(0 < p["dirty_pages"] <= 150 for p in g["processes"]), g["seq"]
chain = d["chain"]
assert chain["generations"] == [1, 2, 3, 4], chain["generations"]
assert len(chain["processes"]) == 3
for p in chain["processes"]:
    assert p["resolved_pages"] > 0
    assert sum(x["pages"] for x in p["pages_by_generation"]) == p["resolved_pages"]
assert [f["size"] for f in chain["files"]] == [1300, 1300]
assert d["problems"] == []
PY
    pass "--json has 4 generations, 3 processes each, and the chain"
  else
    fail "--json content assertions"
  fi
fi

# --verify reads every chunk.
if expect_status verify 0 "$INSPECT" "$IMAGE" --verify; then
  grep -Eq '^verified: 4 generations, 12 processes, [1-9][0-9]* chunks, [1-9][0-9]* bytes$' \
    "$WORK/verify.out" && pass "--verify" || fail "--verify line: $(grep verif "$WORK/verify.out")"
fi

# --generation N describes one generation.
if expect_status one-generation 0 "$INSPECT" "$IMAGE" --generation 3 --json --pages; then
  [ "$(json_query "$WORK/one-generation.out" \
    '[g["seq"] for g in d["generations"]] == [3] and d["chain"] is None')" = True ] &&
    pass "--generation 3" || fail "--generation 3 shows other generations or the chain"
  [ "$(json_query "$WORK/one-generation.out" 'all(
      len(p["stored_page_addresses"]) == p["stored_pages"] > 0 and
      len(p["zero_page_addresses"]) == p["zero_pages"] and
      all(a.startswith("0x") for a in p["stored_page_addresses"])
      for p in d["generations"][0]["processes"])')" = True ] &&
    pass "--pages lists every stored and zeroed page" || fail "--pages address lists"
fi

# h5ls shows the chain as external links.
if expect_status h5ls 0 h5ls -r "$IMAGE"; then
  links=$(grep -c '^/chain/gen-00000[1-4] *External Link' "$WORK/h5ls.out")
  [ "$links" -eq 4 ] && pass "h5ls -r shows 4 external links" ||
    fail "h5ls -r shows $links external links: $(cat "$WORK/h5ls.out")"
fi

# h5dump (Debian's lz4 plugin) yields exactly the stored pages of generation
# 1, process 100; their sha256 is what ckpt-inspect --digest reports. Run from
# another folder: the links resolve relative to the index.
# dumped_pages_match NAME IMAGE JSON [VAR=value...]: h5dumps generation 1's
# pages of process 100 with the given environment; true if the bytes are
# exactly the stored pages whose sha256 JSON reports. Sets MISMATCH.
dumped_pages_match() {
  local name=$1 image=$2 json=$3
  shift 3
  local pages expected_sha size=0 dump=$WORK/$name.bin
  pages=$(json_query "$json" 'd["generations"][0]["processes"][0]["stored_pages"]')
  expected_sha=$(json_query "$json" 'd["generations"][0]["processes"][0]["pages_sha256"]')
  rm -f "$dump"
  (cd "$WORK/elsewhere" && env "$@" h5dump -d /chain/gen-000001/processes/100/pages -b LE \
    -o "$dump" "$image" >"$WORK/$name.out" 2>"$WORK/$name.err")
  [ -f "$dump" ] && size=$(file_size "$dump")
  if [ "$size" -ne $((pages * 4096)) ]; then
    MISMATCH="h5dump wrote $size bytes, expected $pages pages = $((pages * 4096))"
    return 1
  fi
  if [ "$(sha256_of "$dump")" != "$expected_sha" ]; then
    MISMATCH="sha256 of the dumped pages differs from ckpt-inspect --digest"
    return 1
  fi
  MISMATCH="$pages pages, sha256 matches --digest"
  return 0
}
if dumped_pages_match h5dump-lz4 "$IMAGE" "$WORK/inspect-json.out" CKPT_TEST=1; then
  pass "h5dump of lz4 pages: $MISMATCH"
else
  fail "h5dump of lz4 pages: $MISMATCH"
fi

# ------------------------------------------------ corruption of one chunk
cp -a "$WORK/lz4" "$WORK/corrupt"
DAMAGED=$WORK/corrupt/job.h5
if location=$("$TAMPER" chunk-location "$DAMAGED.d/gen-000002.h5" /processes/101/pages 0); then
  read -r offset size <<<"$location"
  python3 "$ckpt_harness/flip_byte.py" "$DAMAGED.d/gen-000002.h5" $((offset + size / 2))
  expect_status damaged-inspect 0 "$INSPECT" "$DAMAGED" && pass "inspect without --verify reads tables only"
  if expect_status damaged-verify 1 "$INSPECT" "$DAMAGED" --verify; then
    expect_one_error_line damaged-verify '^ckpt-inspect: .*generation 2, process 101, chunk 0'
    grep -q '^verify FAILED: .*generation 2, process 101, chunk 0' "$WORK/damaged-verify.out" &&
      pass "text report says verify FAILED" || fail "no 'verify FAILED' line in the report"
  fi
  if expect_status damaged-verify-json 1 "$INSPECT" "$DAMAGED" --verify --json; then
    [ "$(json_query "$WORK/damaged-verify-json.out" 'd["verify"]["ok"]')" = False ] &&
      pass "--json --verify reports ok: false" || fail "--json --verify does not report the failure"
  fi
  expect_status damaged-digest 1 "$INSPECT" "$DAMAGED" --digest &&
    expect_one_error_line damaged-digest 'generation 2, process 101, chunk 0'
else
  fail "chunk-location failed"
fi

# ------------------------------------------------------------- merge
if expect_status merge 0 "$MERGE" "$IMAGE"; then
  grep -Eq '^merged generations 1-4 \(4 generations\) into full generation 5, [0-9.]+ (KiB|MiB)$' \
    "$WORK/merge.out" && pass "merge message: $(cat "$WORK/merge.out")" ||
    fail "merge message: $(cat "$WORK/merge.out")"
fi
remaining=$(cd "$IMAGE.d" && ls gen-* 2>/dev/null | tr '\n' ' ')
[ "$remaining" = "gen-000005.h5 " ] && pass "old generation files are gone" ||
  fail "generation files after merge: $remaining"
if expect_status merged-json 0 "$INSPECT" "$IMAGE" --json --digest --verify; then
  if python3 - "$WORK/inspect-json.out" "$WORK/merged-json.out" <<'PY'; then
import json, sys
before = json.load(open(sys.argv[1]))
after = json.load(open(sys.argv[2]))
assert after["generation_count"] == 1, after["generation_count"]
g = after["generations"][0]
assert (g["seq"], g["kind"]) == (5, "full"), (g["seq"], g["kind"])
assert g["note"] == "merged from generations 1-4", g["note"]
assert after["chain"]["generations"] == [5]
def resolved(d):
    return ([(p["pid"], p["resolved_pages"], p["sha256"]) for p in d["chain"]["processes"]],
            [(f["path"], f["size"], f["sha256"]) for f in d["chain"]["files"]])
assert resolved(before) == resolved(after), (resolved(before), resolved(after))
assert after["verify"]["ok"] and after["verify"]["generations"] == 1
PY
    pass "merged image: 1 full generation, same resolved pages and files (sha256)"
  else
    fail "merged image differs from the chain it was merged from"
  fi
fi
expect_status merge-again 0 "$MERGE" "$IMAGE" &&
  grep -qx 'nothing to merge: the current chain is one full generation' "$WORK/merge-again.out" &&
  pass "second merge has nothing to do" || fail "second merge: $(cat "$WORK/merge-again.out")"
expect_status merge-quiet 0 "$MERGE" --quiet "$IMAGE" && [ ! -s "$WORK/merge-quiet.out" ] &&
  pass "--quiet prints nothing" || fail "--quiet printed: $(cat "$WORK/merge-quiet.out")"

# ------------------------------------------------- zstd image and plugin
ZIMAGE=$WORK/zstd/job.h5
mkdir -p "$WORK/zstd"
"$SYNTH" "$ZIMAGE" --processes 2 --pages 500 --incrementals 2 --codec zstd --seed 5 \
  >"$WORK/synth-zstd.out" 2>&1 || fail "ckpt-image-synth --codec zstd"
if expect_status zstd-json 0 "$INSPECT" "$ZIMAGE" --json --digest --verify; then
  if dumped_pages_match h5dump-zstd "$ZIMAGE" "$WORK/zstd-json.out" HDF5_PLUGIN_PATH="$PLUGIN_DIR"; then
    pass "h5dump of zstd pages with the ckpt plugin: $MISMATCH"
  else
    fail "h5dump of zstd pages with the ckpt plugin: $MISMATCH"
  fi
  # Without our plugin h5dump cannot decode: proves the check above relies on it.
  if dumped_pages_match h5dump-zstd-no-plugin "$ZIMAGE" "$WORK/zstd-json.out" \
    HDF5_PLUGIN_PATH="$WORK/no-plugins"; then
    fail "h5dump read zstd pages without the ckpt plugin: the plugin check proves nothing"
  else
    pass "without the plugin h5dump cannot read zstd pages ($MISMATCH)"
  fi
  # The plugin also compresses: h5repack a generation with filter 32015 and
  # compare a dataset's bytes.
  GEN1=$ZIMAGE.d/gen-000001.h5
  if HDF5_PLUGIN_PATH="$PLUGIN_DIR" h5repack -l /processes/100/page_index:CHUNK=64 \
    -f /processes/100/page_index:UD=32015,0,1,5 "$GEN1" "$WORK/repacked.h5" 2>"$WORK/repack.err" &&
    HDF5_PLUGIN_PATH="$PLUGIN_DIR" h5dump -d /processes/100/page_index -b LE -o "$WORK/index-a.bin" \
      "$WORK/repacked.h5" >/dev/null 2>&1 &&
    h5dump -d /processes/100/page_index -b LE -o "$WORK/index-b.bin" "$GEN1" >/dev/null 2>&1 &&
    h5dump -p -H -d /processes/100/page_index "$WORK/repacked.h5" 2>/dev/null | grep -q 'FILTER_ID 32015' &&
    [ -s "$WORK/index-a.bin" ] && cmp -s "$WORK/index-a.bin" "$WORK/index-b.bin"; then
    pass "plugin compresses (h5repack UD=32015) and decompresses"
  else
    fail "h5repack with the zstd plugin: $(cat "$WORK/repack.err")"
  fi
  expect_status merge-zstd 0 "$MERGE" "$ZIMAGE" --codec none &&
    expect_status merged-zstd-json 0 "$INSPECT" "$ZIMAGE" --json --digest --verify &&
    python3 - "$WORK/zstd-json.out" "$WORK/merged-zstd-json.out" <<'PY' && pass "zstd chain merged into codec none, same content" || fail "zstd merge with --codec none"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
assert after["generations"][0]["codec"] == "none"
key = lambda d: [(p["pid"], p["sha256"]) for p in d["chain"]["processes"]]
assert key(before) == key(after)
PY
fi

# --------------------------------------------- newer format version: exit 3
cp -a "$WORK/lz4" "$WORK/newer"
if "$TAMPER" set-format-version "$WORK/newer/job.h5" 99; then
  expect_status newer-inspect 3 "$INSPECT" "$WORK/newer/job.h5" &&
    expect_one_error_line newer-inspect '^ckpt-inspect: .*format version 99 is newer'
  expect_status newer-merge 3 "$MERGE" "$WORK/newer/job.h5" &&
    expect_one_error_line newer-merge '^ckpt-merge: .*format version 99 is newer'
else
  fail "set-format-version failed"
fi

# --------------------------------------------------------- usage errors
expect_status no-args 2 "$INSPECT" && expect_one_error_line no-args '^ckpt-inspect: missing IMAGE.h5'
expect_status missing 2 "$INSPECT" "$WORK/nope.h5" &&
  expect_one_error_line missing '^ckpt-inspect: .*nope.h5: no such image'
echo "not hdf5" >"$WORK/text.h5"
expect_status foreign 2 "$INSPECT" "$WORK/text.h5" &&
  expect_one_error_line foreign 'not an HDF5 file'
expect_status generation-file 2 "$INSPECT" "$IMAGE.d/gen-000005.h5" &&
  expect_one_error_line generation-file 'one generation of an image'
expect_status unknown-generation 2 "$INSPECT" "$IMAGE" --generation 42 &&
  expect_one_error_line unknown-generation 'no generation 42 \(committed: 5\)'
expect_status bad-option 2 "$INSPECT" "$IMAGE" --frobnicate &&
  expect_one_error_line bad-option '^ckpt-inspect: '
expect_status bad-codec 2 "$MERGE" "$IMAGE" --codec brotli &&
  expect_one_error_line bad-codec '^ckpt-merge: --codec must be none, lz4 or zstd'
expect_status merge-missing 2 "$MERGE" "$WORK/nope.h5" &&
  expect_one_error_line merge-missing '^ckpt-merge: .*no such image'
for tool in "$INSPECT" "$MERGE"; do
  name=$(basename "$tool")
  expect_status "$name-help" 0 "$tool" --help && grep -q "^Usage: $name IMAGE.h5" "$WORK/$name-help.out" &&
    pass "$name --help" || fail "$name --help"
  expect_status "$name-version" 0 "$tool" --version &&
    grep -Eq "^$name \(ckpt\) [0-9]+\.[0-9]+\.[0-9]+$" "$WORK/$name-version.out" &&
    pass "$name --version" || fail "$name --version"
done
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$WORK/locked"
  "$SYNTH" "$WORK/locked/job.h5" --processes 1 --pages 50 --incrementals 1 >/dev/null 2>&1
  chmod 000 "$WORK/locked/job.h5"
  expect_status unreadable 2 "$INSPECT" "$WORK/locked/job.h5" &&
    expect_one_error_line unreadable 'cannot read: Permission denied'
  chmod 600 "$WORK/locked/job.h5"
  chmod 500 "$WORK/locked/job.h5.d"
  expect_status unwritable 2 "$MERGE" "$WORK/locked/job.h5" &&
    expect_one_error_line unwritable 'job.h5.d: cannot write: Permission denied'
  chmod 700 "$WORK/locked/job.h5.d"
else
  echo "skip: permission checks (root bypasses file permissions)"
fi

if [ "$FAILURES" -ne 0 ]; then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
