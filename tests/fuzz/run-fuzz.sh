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
# SMIME_FUZZ_TARGETS="cms ldap" runs only those. Exit 77 (skip; a failure in
# strict mode, CI=true: tests/skip.sh) when clang++ cannot link a libFuzzer
# target.
#
# The inbound target trusts tests/fuzz/inbound-trust.pem, the CA that signed
# its seeds: before fuzzing, the signed seeds must verify as pass through
# smimectl with that anchor and the same clock (else the fuzzer would only
# ever see refusals), using the fuzz build's smimectl or the build tree's.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../skip.sh
. "$here/../skip.sh"
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
    skip_or_fail "clang++ with libFuzzer not available (Debian: apt-get install clang libclang-rt-14-dev)"
  fi
  # A VPATH build needs a source tree that is not configured in place: use a
  # copy of the tracked (and new, not ignored) files when it is.
  src=$top
  if [ -e "$top/config.status" ]; then
    if ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
      skip_or_fail "$top is configured in place and not a git checkout; set SMIME_FUZZ_BUILD"
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

# anchored_seeds: the signed inbound seeds pass with the fuzzer's trust anchor.
anchored_seeds() {
  local ctl="" d f v n=0
  for d in "$fuzz" "${top_builddir:-}" "$top"; do
    [ -n "$d" ] && [ -x "$d/src/smimectl" ] && { ctl=$d/src/smimectl; break; }
  done
  [ -n "$ctl" ] || { skip_part "inbound seeds vs trust anchor: no smimectl built"; return 0; }
  printf 'authserv_id = mx.fuzz.example\nrevocation = off\ntrust_anchors = %s\nstate_dir = %s\n' \
    "$here/inbound-trust.pem" "$work" >"$work/anchor.conf"
  # alice's seeds are hers (pass); bob signed a message From: alice (policy
  # signer-mismatch, judged only after his chain verified). An untrusted
  # chain would be fail.
  for f in alice-clear:pass alice-opaque:pass bob-ecdsa-clear:policy; do
    v=$(ASAN_OPTIONS=detect_leaks=0 "$ctl" -c "$work/anchor.conf" process --inbound --now 1780272000 \
      --report "$here/seeds/inbound/${f%:*}.eml" 2>/dev/null | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
    n=$((n + 1))
    if [ "$v" != "${f#*:}" ]; then
      echo "FAIL inbound seed ${f%:*}.eml is '${v:-no report}' with tests/fuzz/inbound-trust.pem, not ${f#*:}"
      return 1
    fi
  done
  echo "ok   inbound: $n signed seeds verify with the fuzzer's trust anchor (pass, pass, policy)"
}
case " $targets " in
  *" inbound "*) anchored_seeds || exit 1 ;;
esac

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
