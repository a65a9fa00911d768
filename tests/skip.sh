# shellcheck shell=bash
# tests/skip.sh: the one way a shell test skips (sourced by tests/lib.sh and
# by the tests that do not use it, and by contrib/test.sh; works under sh,
# bash and set -u).
#
# Strict mode (CI=true or SMIME_TEST_STRICT=1; SMIME_TEST_STRICT=0 turns it
# off even under CI) makes every skip a failure: CI must never go green on a
# machine that silently lacked a tool, a corpus or root. contrib/test.sh
# also fails a strict run when any test ends as SKIP or prints a skip line.
#
# test_strict: true in strict mode.
# skip_or_fail MESSAGE: the whole test cannot run here. Prints "SKIP: MESSAGE"
#   and exits 77 (automake's SKIP); in strict mode prints "FAIL (strict):
#   MESSAGE" and exits 1.
# skip_part MESSAGE: one part of a test cannot run here (the rest can).
#   Prints "skip MESSAGE" and returns 0; in strict mode prints "FAIL
#   (strict): MESSAGE" and exits 1. Call it from the test's own shell, not
#   from a subshell (the exit would only end the subshell).
# strict_scan DIR: in strict mode, fails (status 1, naming them) when a test
#   under DIR (a build tree after make check) ended as SKIP (.trs) or printed
#   a skip line ("SKIP...", "skip ...", cmocka's "[  SKIPPED ]") in its log
#   although it passed: skips that bypass the helpers above are caught too.
#   Outside strict mode it returns 0.

test_strict() {
  case "${SMIME_TEST_STRICT:-}" in
    1) return 0 ;;
    0) return 1 ;;
  esac
  [ "${CI:-}" = true ]
}

skip_or_fail() {
  if test_strict; then
    echo "FAIL (strict: CI=true or SMIME_TEST_STRICT=1 makes a skip a failure): $*"
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}

skip_part() {
  if test_strict; then
    echo "FAIL (strict: CI=true or SMIME_TEST_STRICT=1 makes a skip a failure): $*"
    exit 1
  fi
  echo "skip $*"
}

strict_scan() {
  local found
  test_strict || return 0
  found=$(
    find "$1" -name '*.trs' -exec grep -l '^:test-result: SKIP' {} + 2>/dev/null | sed 's/$/: SKIP/'
    find "$1" -name '*.log' ! -name test-suite.log ! -name config.log -exec \
      grep -HE '^(SKIP|skip)([: ]|$)|^\[  SKIPPED \]' {} + 2>/dev/null
  ) || true
  if [ -n "$found" ]; then
    echo "strict mode: skips are failures:"
    echo "$found"
    return 1
  fi
}
