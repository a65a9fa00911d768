#!/usr/bin/env bash
# run-fuzz.sh: a short smoke run of the libFuzzer targets (src/fuzz/,
# docs/fuzzing.md). Each target runs for SMIME_FUZZ_SECONDS (default 20) on a
# copy of its seeds under tests/fuzz/seeds/TARGET, two at a time; the run
# fails on any crash, leak, timeout, out-of-memory or sanitizer report, and
# keeps the reproducer (path printed).
#
# The fuzz build is, in this order: $SMIME_FUZZ_BUILD, the build tree itself
# when it was configured with --enable-fuzzers, or one built here in a
# temporary folder (clang++ with libFuzzer needed; takes a few minutes).
# SMIME_FUZZ_TARGETS="cms ldap" runs only those. Exit 77 (skip) when clang++
# cannot link a libFuzzer target.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=${top_srcdir:-$(cd "$here/../.." && pwd)}
secs=${SMIME_FUZZ_SECONDS:-20}
targets=${SMIME_FUZZ_TARGETS:-inbound mime cms config ldap}
jobs=${SMIME_FUZZ_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/smime-fuzz.XXXXXX")
keep=0
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT

have_targets() {
  local t
  for t in $targets; do [ -x "$1/src/fuzz/${t}_fuzz" ] || return 1; done
}

fuzz=""
if [ -n "${SMIME_FUZZ_BUILD:-}" ]; then
  fuzz=$(cd "$SMIME_FUZZ_BUILD" && pwd)
  have_targets "$fuzz" || { echo "FAIL: $fuzz has no src/fuzz/*_fuzz (make fuzz there)"; exit 1; }
elif [ -n "${top_builddir:-}" ] && have_targets "$top_builddir"; then
  fuzz=$top_builddir
else
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$work/probe.cc"
  if ! command -v clang++ >/dev/null 2>&1 ||
      ! clang++ -fsanitize=fuzzer,address,undefined "$work/probe.cc" -o "$work/probe" >/dev/null 2>&1; then
    echo "SKIP: clang++ with libFuzzer not available (Debian: apt-get install clang libclang-rt-14-dev)"
    exit 77
  fi
  # A VPATH build needs a source tree that is not configured in place: use a
  # copy of the tracked (and new, not ignored) files when it is.
  src=$top
  if [ -e "$top/config.status" ]; then
    if ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
      echo "SKIP: $top is configured in place and not a git checkout; set SMIME_FUZZ_BUILD"
      exit 77
    fi
    src=$work/src
    mkdir -p "$src"
    # shellcheck disable=SC2016  # $f expands in the inner sh
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
      xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
      tar --null -cf - -T -) | tar -xf - -C "$src" || { echo "FAIL: cannot copy the sources"; exit 1; }
  fi
  echo "building the fuzz targets in $work/build (log: build.log)"
  mkdir -p "$work/build"
  if ! { { [ -x "$src/configure" ] || (cd "$src" && autoreconf -fi); } &&
      cd "$work/build" && "$src/configure" --enable-fuzzers CXX=clang++ &&
      make -j"$jobs" fuzz; } >"$work/build.log" 2>&1; then
    keep=1
    tail -30 "$work/build.log"
    echo "FAIL: fuzz build failed; log kept in $work/build.log"
    exit 1
  fi
  fuzz=$work/build
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run TARGET: fuzz it for $secs seconds; result in $work/TARGET.rc
run() {
  local t=$1 rc=0
  mkdir -p "$work/corpus/$t" "$work/artifacts"
  cp "$top/tests/fuzz/seeds/$t/"* "$work/corpus/$t/"
  (cd "$work" && TMPDIR=$work "$fuzz/src/fuzz/${t}_fuzz" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t") \
    >"$work/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

running=0
for t in $targets; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
for t in $targets; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo missing)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
  if [ "$rc" != 0 ] || ls "$work/artifacts/$t-"* >/dev/null 2>&1 ||
      grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: libFuzzer\|^SUMMARY: ' "$work/$t.log"; then
    failed=$((failed + 1))
    keep=1
    echo "FAIL $t (exit $rc): log $work/$t.log, reproducer(s): $(ls "$work/artifacts/$t-"* 2>/dev/null | tr '\n' ' ')"
    grep -m1 -A40 'ERROR:\|runtime error:' "$work/$t.log"
  else
    echo "ok   $t: ${execs:-?} runs in ${secs}s ($(( ${execs:-0} / secs ))/s)"
  fi
done
[ "$failed" -eq 0 ] || { echo "$failed fuzz target(s) failed; work folder kept: $work"; exit 1; }
echo "all fuzz targets ran ${secs}s each without findings"
