# tree_make.sh: `make -j2` of a generated project: hundreds of fork/exec of
# cc (cc1 | as through a pipe: -pipe), collect2/ld, ar and the built
# programs. Run as `bash tree_make.sh FOLDER [PROGRAMS]`.
#
# In FOLDER/make-tree it writes a small static library (10 sources), PROGRAMS
# (default 180) small C programs and a Makefile; `make -j2` compiles and
# links every program and runs it into out/NAME.txt. The result printed
# is the number of outputs and the md5 of their sorted concatenation (the
# programs' outputs, never object files, which may embed paths).
#
# Meant for checkpoint/restart without file rollback (the killed run and
# the restarted run write the same folder):
#  - every target depends on FORCE, so make never skips a target because a
#    file left by a killed run looks up to date: each one is rebuilt once
#    per run and its file is rewritten from the start (compilers and the
#    linker truncate or recreate their outputs);
#  - -pipe and TMPDIR inside the folder: no temporary files elsewhere;
#  - .SECONDARY: make deletes no intermediate objects at the end.
# make's own stdout (the echoed commands, with paths) goes to /dev/null;
# each compile prints "progress ..." on stderr.
set -euo pipefail
export LC_ALL=C
folder=${1:?usage: tree_make.sh FOLDER [PROGRAMS]}
programs=${2:-180}
[[ "$programs" =~ ^[1-9][0-9]*$ ]] || { echo "tree_make.sh: bad PROGRAMS '$programs'" >&2; exit 2; }
for tool in cc make ar; do
  command -v "$tool" >/dev/null || { echo "tree_make.sh: $tool is not installed" >&2; exit 2; }
done

dir="$folder/make-tree"
rm -rf "$dir"
mkdir -p "$dir/src" "$dir/obj" "$dir/bin" "$dir/out" "$dir/lib" "$dir/tmp"
export TMPDIR="$dir/tmp"
echo "progress tree_make generating $programs programs" >&2

cat >"$dir/src/t.h" <<'EOF'
#include <stdint.h>
#include <stdio.h>
uint64_t lib_mix(int which, uint64_t x);
static inline uint64_t t_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
EOF

lib_objs=""
for (( l = 0; l < 10; l++ )); do
  cat >"$dir/src/lib$l.c" <<EOF
#include "t.h"
uint64_t lib_part$l(uint64_t x) {
  for (int i = 0; i < $(( 100 + l * 37 )); ++i) x = t_rotl(x * 0x9e3779b97f4a7c15ull + $l, $(( l % 60 + 3 )));
  return x ^ (x >> 31);
}
EOF
  lib_objs+=" obj/lib$l.o"
done
{
  echo '#include "t.h"'
  for (( l = 0; l < 10; l++ )); do echo "uint64_t lib_part$l(uint64_t x);"; done
  echo 'uint64_t lib_mix(int which, uint64_t x) {'
  echo '  switch (which % 10) {'
  for (( l = 0; l < 10; l++ )); do echo "    case $l: return lib_part$l(x);"; done
  echo '  }'
  echo '  return x;'
  echo '}'
} >"$dir/src/libmix.c"
lib_objs+=" obj/libmix.o"

outs=""
for (( p = 0; p < programs; p++ )); do
  printf -v name 'p%03d' "$p"
  # enough code that -O2 takes a while: a few functions with loops and a table
  {
    echo '#include "t.h"'
    echo "static const uint64_t table[16] = {"
    for (( k = 0; k < 16; k++ )); do printf '  %du,\n' $(( (p * 2654435761 + k * 40503) % 4294967291 )); done
    echo "};"
    for (( f = 0; f < 6; f++ )); do
      cat <<EOF
static uint64_t step$f(uint64_t x, int n) {
  for (int i = 0; i < n; ++i) {
    x ^= table[(x + i) & 15];
    x = t_rotl(x * $(( 2 * (p * 7 + f) + 1 ))ull, $(( (p + f) % 50 + 5 )));
    if ((x & 7) == $(( f % 8 ))) x += lib_mix($(( p + f )), x);
  }
  return x;
}
EOF
    done
    echo "int main(void) {"
    echo "  uint64_t x = $p;"
    for (( f = 0; f < 6; f++ )); do echo "  x = step$f(x, $(( 50 + (p * 13 + f) % 40 )));"; done
    echo "  printf(\"$name %016llx\\n\", (unsigned long long)x);"
    echo "  return 0;"
    echo "}"
  } >"$dir/src/$name.c"
  outs+=" out/$name.txt"
done

cat >"$dir/Makefile" <<EOF
CC = cc
CFLAGS = -O2 -pipe -Wall
LIBOBJS =$lib_objs
OUTS =$outs

all: \$(OUTS)

out/%.txt: bin/% FORCE
	./bin/\$* >\$@

bin/%: obj/%.o lib/libt.a FORCE
	\$(CC) -o \$@ obj/\$*.o lib/libt.a

obj/%.o: src/%.c src/t.h FORCE
	@echo "progress tree_make cc \$*" >&2
	\$(CC) \$(CFLAGS) -c -o \$@ src/\$*.c

lib/libt.a: \$(LIBOBJS) FORCE
	rm -f \$@
	ar rcs \$@ \$(LIBOBJS)

FORCE:
.PHONY: all FORCE
.SECONDARY:
EOF

echo "progress tree_make make -j2" >&2
make -j2 -C "$dir" >/dev/null
count=$(cat "$dir"/out/*.txt | wc -l)
bad=$(cat "$dir"/out/*.txt | grep -cvE '^p[0-9]{3} [0-9a-f]{16}$' || true)
echo "programs built and run: $count of $programs"
echo "malformed output lines: $bad"
echo "outputs md5 $(cat "$dir"/out/*.txt | sort | md5sum | cut -d' ' -f1)"
