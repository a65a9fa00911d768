#!/usr/bin/env bash
# count-per-message.sh SMIMECTL ARGS...: instructions and heap allocations
# per message of one `smimectl bench` path, for docs/performance.md. Used as
# the wrapper of run-bench.sh:
#
#   SMIME_BENCH_ONLY=sign SMIME_BENCH_WRAP=tests/perf/count-per-message.sh \
#     tests/perf/run-bench.sh
#
# It drops the --compare-raw options, runs the path under callgrind and under
# dhat with 50 and with 150 messages and prints the differences divided by
# 100: start-up (configuration, keys, trust store) and the first message's
# caches cancel out. Counts, not time: the machine's load does not matter.
# SMIME_COUNT_OUT=PREFIX keeps the callgrind files (PREFIX-50.cg, PREFIX-150.cg).
# A tool, not a test.
set -u
out=${SMIME_COUNT_OUT:-}
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --compare-raw) shift ;;
    --raw-key | --rounds | --raw-op | -n) shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
# args: SMIMECTL -c CONF bench [options] FILE
prog=${args[0]}
head=("${args[@]:1:3}")
tail=("${args[@]:4}")
instructions() { # instructions N
  local f=/dev/null
  [ -n "$out" ] && f=$out-$1.cg
  valgrind --tool=callgrind --callgrind-out-file="$f" "$prog" "${head[@]}" -n "$1" "${tail[@]}" 2>&1 |
    sed -n 's/.*I *refs: *//p' | tr -d ,
}
allocations() { # allocations N
  valgrind --tool=dhat --dhat-out-file=/dev/null "$prog" "${head[@]}" -n "$1" "${tail[@]}" 2>&1 |
    sed -n 's/.*Total: *[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' | tr -d ,
}
i50=$(instructions 50) i150=$(instructions 150)
a50=$(allocations 50) a150=$(allocations 150)
if [ -z "$i50" ] || [ -z "$i150" ] || [ -z "$a50" ] || [ -z "$a150" ]; then
  echo "count-per-message: valgrind gave no counts" >&2
  exit 1
fi
# run-bench.sh wants a verdict and "ratio" on the line; this prints counts only.
echo "x: $(((i150 - i50) / 100)) instructions, $(((a150 - a50) / 100)) allocations per message"
