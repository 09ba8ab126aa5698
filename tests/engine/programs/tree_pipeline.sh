# tree_pipeline.sh: a shell pipeline of four processes (plus the short-lived
# seq and sleep each batch forks), run as `bash tree_pipeline.sh [BATCHES]`.
#
#   producer (a bash subshell: BATCHES x `seq` of 10000 numbers, then
#             `sleep 0.04`)
#   | awk  (a running hash of every line: s = (s*31 + n) % 1000003)
#   | sort -n  (holds everything until its input ends)
#   | awk  (count, sum and an order-dependent hash of the sorted lines)
#
# At any moment there are bytes in the pipes and in the processes; a lost,
# repeated or reordered line changes the result. Only the last stage prints,
# once, at the end. Progress goes to stderr from the producer.
# Uses bash, coreutils (seq, sleep, sort) and awk (mawk or gawk).
# Default 100 batches = 1 000 000 lines, about 5 s.
set -euo pipefail
export LC_ALL=C
batches=${1:-100}
[[ "$batches" =~ ^[1-9][0-9]*$ ]] || { echo "tree_pipeline.sh: bad BATCHES '$batches'" >&2; exit 2; }

produce() {
  local batch
  for (( batch = 0; batch < batches; batch++ )); do
    seq $(( batch * 10000 + 1 )) $(( (batch + 1) * 10000 ))
    (( batch % 10 == 0 )) && echo "progress tree_pipeline batch $batch" >&2
    sleep 0.04
  done
}

produce |
  awk '{ s = (s * 31 + $1) % 1000003; print s }' |
  sort -n |
  awk '{ n++; sum += $1; h = (h * 7 + $1) % 1000000007 }
       END { printf "lines %d\nsum %.0f\nsorted hash %d\n", n, sum, h }'
echo "pipeline status ${PIPESTATUS[*]}"
