#!/usr/bin/env bash
# check-strict.sh: the skip helpers of tests/skip.sh. Outside strict mode a
# skip is automake's SKIP (exit 77) or a "skip" line; with CI=true or
# SMIME_TEST_STRICT=1 it is a failure (exit 1), SMIME_TEST_STRICT=0 wins over
# CI=true; strict_scan finds SKIP results and skip lines in a build tree;
# keep-logs-driver.sh keeps the logs of a distcheck build for that scan.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
skip_sh=$top/tests/skip.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/smime-strict.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# expect LABEL STATUS OUTPUT-REGEX ENV... -- SHELL-CODE: runs SHELL-CODE in a
# clean environment (plus ENV) after sourcing tests/skip.sh, under sh.
expect() {
  local label=$1 want=$2 re=$3 out rc=0
  shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  out=$(env -i PATH="$PATH" "${envs[@]}" sh -c ". '$skip_sh'; $1" 2>&1) || rc=$?
  if [ "$rc" = "$want" ] && printf '%s\n' "$out" | grep -Eq "$re"; then
    ok "$label (exit $rc)"
  else
    bad "$label: exit $rc (want $want), output: $out"
  fi
}

expect "skip_or_fail: SKIP outside CI" 77 '^SKIP: no tool$' -- 'skip_or_fail no tool; echo after'
expect "skip_or_fail: failure under CI=true" 1 '^FAIL \(strict.*\): no tool$' CI=true -- 'skip_or_fail no tool'
expect "skip_or_fail: failure with SMIME_TEST_STRICT=1" 1 '^FAIL \(strict' SMIME_TEST_STRICT=1 -- 'skip_or_fail x'
expect "skip_or_fail: SMIME_TEST_STRICT=0 wins over CI=true" 77 '^SKIP: x' CI=true SMIME_TEST_STRICT=0 -- 'skip_or_fail x'
expect "skip_or_fail: CI=false is not strict" 77 '^SKIP: x' CI=false -- 'skip_or_fail x'
expect "skip_part: skip line, then the test goes on" 0 '^after$' -- 'skip_part man missing; echo after'
expect "skip_part: prints the skip line" 0 '^skip man missing$' -- 'skip_part man missing'
expect "skip_part: failure under CI=true, test ends" 1 '^FAIL \(strict.*\): man missing$' CI=true -- \
  'skip_part man missing; echo after'

# strict_scan on a fake build tree.
mkdir -p "$work/clean/t" "$work/skipped/t" "$work/line/t" "$work/cmocka/t"
printf ':test-result: PASS\n' >"$work/clean/t/a.sh.trs"
printf 'ok   one\nlimit gpgsm cannot\n' >"$work/clean/t/a.sh.log"
printf 'SKIP: old\n' >"$work/clean/test-suite.log"
printf ':test-result: SKIP\n' >"$work/skipped/t/a.sh.trs"
printf ':test-result: PASS\n' >"$work/line/t/b.sh.trs"
printf 'ok   one\nskip nss: not installed\n' >"$work/line/t/b.sh.log"
printf '[  SKIPPED ] some_test\n' >"$work/cmocka/t/c_test.log"
expect "strict_scan: clean tree" 0 '^$' CI=true -- "strict_scan '$work/clean'"
expect "strict_scan: a SKIP result" 1 'a\.sh\.trs: SKIP' CI=true -- "strict_scan '$work/skipped'"
expect "strict_scan: a skip line in a passing test" 1 'b\.sh\.log:skip nss' CI=true -- "strict_scan '$work/line'"
expect "strict_scan: cmocka's SKIPPED" 1 'c_test\.log:\[  SKIPPED' CI=true -- "strict_scan '$work/cmocka'"
expect "strict_scan: nothing outside strict mode" 0 '^$' -- "strict_scan '$work/skipped'"

# keep-logs-driver.sh (the distcheck stage of contrib/test.sh): automake's
# own test-driver runs a passing test that prints a skip line; its .log and
# .trs are kept under DEST at their relative paths, where strict_scan finds
# the skip line; a DEST that cannot be written is a failure, not silence.
driver=$top/build-aux/test-driver
if [ -f "$driver" ]; then
  mkdir -p "$work/b/t" "$work/kept"
  printf '#!/bin/sh\necho "ok   one"\necho "skip nss: not installed"\n' >"$work/b/t/n.sh"
  chmod +x "$work/b/t/n.sh"
  keep() {  # keep DEST: runs t/n.sh through the wrapper in $work/b
    (cd "$work/b" && sh "$top/tests/ci/keep-logs-driver.sh" "$1" "$driver" --test-name t/n.sh \
      --log-file t/n.sh.log --trs-file t/n.sh.trs --color-tests no --enable-hard-errors yes \
      --expect-failure no -- ./t/n.sh >/dev/null 2>&1)
  }
  rc=0; keep "$work/kept" || rc=$?
  if [ "$rc" = 0 ] && grep -q '^:test-result: PASS' "$work/kept/t/n.sh.trs" &&
     grep -q '^skip nss' "$work/kept/t/n.sh.log"; then
    ok "keep-logs-driver: the passing test's .log and .trs kept at t/n.sh.*"
  else
    bad "keep-logs-driver: exit $rc, kept: $(find "$work/kept" -type f)"
  fi
  expect "strict_scan of the kept logs: the skip line fails" 1 'n\.sh\.log:skip nss' CI=true -- \
    "strict_scan '$work/kept'"
  rc=0; keep /dev/null/nowhere || rc=$?
  [ "$rc" = 1 ] && ok "keep-logs-driver: a log that cannot be kept fails (exit 1)" ||
    bad "keep-logs-driver: exit $rc when DEST cannot be written"
else
  bad "no $driver (autoreconf installs it)"
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
