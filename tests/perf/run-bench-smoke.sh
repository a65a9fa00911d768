#!/usr/bin/env bash
# run-bench-smoke.sh: make check's run of tests/perf/run-bench.sh with
# SMIME_BENCH_SMOKE=1: every benchmark path a few times, checking only that
# each reports its verdict or action and a ratio (no timing is judged).
SMIME_BENCH_SMOKE=1 exec "$(dirname "$0")/run-bench.sh"
