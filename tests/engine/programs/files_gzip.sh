#!/usr/bin/env bash
# Everyday programs writing files: a deterministic input of MIB MiB (default
# 200) of text-like data (random words from a 256-word vocabulary, seeded:
# gzip -1 makes it about a third of its size) is generated first, then
# compressed by a pipeline in which a second process writes the output:
#   gzip -1 -n -c input.txt | dd of=output.gz bs=64k
# (-n: no name or time stamp in the header, so the output depends on the
# input only). Checkpoints land during the pipeline (the progress line comes
# after the input is written): the half-written output.gz rolls back with
# gzip's and dd's memory, descriptors and the pipe between them. At the end
# `gzip -t` checks the output (status 1 if it is damaged) and one printf
# gives the sizes, the input's CRC (cksum) and the output's sha256, which
# must equal an uninterrupted run's.
# usage: files_gzip.sh FOLDER [MIB]
set -euo pipefail
folder=${1:?usage: files_gzip.sh FOLDER [MIB]}
mib=${2:-200}
python=/usr/bin/python3
[[ -x $python ]] || python=python3
mkdir -p "$folder"
cd "$folder"
rm -f input.txt output.gz
"$python" - "$mib" >input.txt <<'EOF'
import random, sys
r = random.Random(20261129)
letters = b"etaoinshrdlucmfwypvbgk"
words = []
for i in range(256):
    word = bytes(r.choice(letters) for _ in range(r.randint(1, 9)))
    words.append(word + (b"\n" if i % 16 == 0 else b" "))
out = sys.stdout.buffer
left = int(sys.argv[1]) << 20
while left > 0:
    chunk = b"".join(map(words.__getitem__, r.randbytes(1 << 18)))[:left]
    out.write(chunk)
    left -= len(chunk)
EOF
echo "progress files_gzip input $(stat -c %s input.txt) bytes" >&2
gzip -1 -n -c input.txt | dd of=output.gz bs=64k status=none
echo "progress files_gzip compressed" >&2
if ! gzip -t output.gz; then
  echo "MISMATCH files_gzip: output.gz is damaged (gzip -t)" >&2
  exit 1
fi
printf 'input.txt %s bytes cksum %s\noutput.gz %s bytes sha256 %s\ngzip -t: ok\n' \
  "$(stat -c %s input.txt)" "$(cksum <input.txt | cut -d' ' -f1)" \
  "$(stat -c %s output.gz)" "$(sha256sum <output.gz | cut -c1-64)"
