#!/usr/bin/env bash
# The ckpt demo on a fresh Debian 12 machine: installs missing packages,
# builds ckpt, then shows what works today.
#
# Today (the checkpoint engine is issue 3) the demo shows the policy and the
# image tools: the built-in default policy, a policy error with file:line,
# a synthetic process image written as a chain (full + incrementals),
# ckpt-inspect, ckpt-inspect --verify, h5ls on the chain, ckpt-merge, and a
# restart-equivalence check (the merged image holds the same bytes).
# It grows into launch -> checkpoint -> kill -> restart -> same result.
set -euo pipefail
ckpt_source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ckpt_source_dir"
source tests/harness/packages.sh
ckpt_install_packages
ckpt_build "$ckpt_source_dir/build"
bin="$ckpt_source_dir/build/bin"
work=$(mktemp -d /tmp/ckpt-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "the built-in default policy (ckpt-launch --print-policy)"
"$bin/ckpt-launch" --print-policy

step "a policy with a misspelt key is refused with file:line:col"
printf 'version = 1\n[checkpoint]\nintervall = "15m"\n' >"$work/bad.toml"
"$bin/ckpt-launch" --check-policy --policy "$work/bad.toml" || echo "(exit status $?)"

step "the example policy examples/solver.toml is valid"
"$bin/ckpt-launch" --check-policy --policy examples/solver.toml

step "write a synthetic 2-process image: 1 full + 3 incremental generations (lz4)"
"$bin/ckpt-image-synth" "$work/solver.h5" --processes 2 --pages 8192 --incrementals 3

step "ckpt-inspect (summary)"
"$bin/ckpt-inspect" "$work/solver.h5" | head -60

step "ckpt-inspect --verify (reads every chunk, checks every xxh3)"
"$bin/ckpt-inspect" --verify "$work/solver.h5" | tail -1

step "h5ls -r shows the chain as external links"
h5ls -r "$work/solver.h5"

step "content digest of the chain, then ckpt-merge, then the digest again"
before=$("$bin/ckpt-inspect" --digest "$work/solver.h5")
"$bin/ckpt-merge" "$work/solver.h5"
after=$("$bin/ckpt-inspect" --digest "$work/solver.h5")
echo "$after"
if [[ "$before" == "$after" ]]; then
  echo "merged image holds exactly the bytes of the chain"
else
  echo "DIGESTS DIFFER" >&2
  exit 1
fi
ls -l "$work/solver.h5.d"
