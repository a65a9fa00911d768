#!/bin/sh
# contrib/test.sh: the test command (README.md); CI runs exactly this through
# .ci/run, with CI=true. On a fresh Debian 12 machine, as root, it installs
# the build and test dependencies (contrib/install-deps.sh) and runs these
# stages, each timed (a table at the end):
#
#   build      contrib/build.sh --enable-werror (in place, as README.md builds)
#   check      make check: every test (unit, golden, interoperability, corpus
#              and corpus under valgrind, milter, Postfix and Sendmail end to
#              end, revocation, LDAP, PKCS#11)
#   dist       make dist; the tarball must not hold the test PKI, a private
#              key or a build leftover (contrib/dist-hook.sh refuses them;
#              checked again here on the tarball's listing)
#   distcheck  make distcheck: the tarball builds out of tree with warnings as
#              errors and passes its unit, golden, CLI, docs, style, miltertest
#              and corpus tests with the source folder read-only
#              (DISTCHECK_TESTS="..." names others, DISTCHECK_TESTS=all every one);
#              its tests' logs are kept in build-ci/distcheck-logs
#              (tests/ci/keep-logs-driver.sh) and scanned in strict mode
#   asan       ASan+UBSan build of the tarball (g++, -O1, no recovery): the
#              unit, golden and corpus tests; any sanitizer report fails
#   tsan       TSan build of the tarball: the unit tests and the milter
#              scenarios (concurrent connections, reloads during traffic)
#   fuzz       every libFuzzer target (clang) for SMIME_FUZZ_SECONDS (30) on
#              its seeds (tests/fuzz/run-fuzz.sh)
#
# SMIME_TEST_STAGES="build check" runs only the named stages (dist, asan,
# tsan and fuzz need build; asan, tsan and fuzz build from dist's tarball).
# Sanitizer and fuzz builds go to build-ci/NAME (made afresh by each stage).
# Strict mode (CI=true or SMIME_TEST_STRICT=1, tests/skip.sh): a skipped
# test, or a skip line inside a passing one, fails the stage.
# Exit status: 0 when every stage passed, else 1 (after running the other
# stages; the logs of failed tests are printed).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
stages=${SMIME_TEST_STAGES:-build check dist distcheck asan tsan fuzz}
jobs=$(nproc)
ci=$top/build-ci

# The real-world corpus sits beside the source tree (../shared/corpus); name
# it absolutely so out-of-tree builds (distcheck, sanitizers) find it too.
if [ -z "${SMIME_CORPUS:-}" ] && [ -d "$top/../shared/corpus" ]; then
  SMIME_CORPUS=$(cd "$top/../shared/corpus" && pwd)
  export SMIME_CORPUS
fi
. "$top/tests/skip.sh"
if test_strict; then
  echo "test.sh: strict mode: a skipped test fails"
else
  echo "test.sh: a skipped test is reported, not failed (CI=true or SMIME_TEST_STRICT=1 make it fail)"
fi

has_stage() { case " $stages " in *" $1 "*) return 0 ;; esac; return 1; }

# show_failures DIR...: the logs of the failed tests under DIR.
show_failures() {
  for trs in $(find "$@" -name '*.trs' 2>/dev/null); do
    if grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs"; then
      echo "==== ${trs%.trs}.log"
      cat "${trs%.trs}.log"
    fi
  done
}

# reports_dir NAME: a folder for sanitizer reports that every user can write
# to (the milter drops privileges to nobody, and build-ci/ may lie in a folder
# only root can enter: a report nobody cannot write is lost without a word).
reports_dir() {
  d=$(mktemp -d "${TMPDIR:-/tmp}/smime-$1-reports.XXXXXX") && chmod 1777 "$d" && echo "$d"
}

# sanitizer_reports DIR: fails and prints every report the sanitizers wrote
# to DIR (log_path), so a report is caught even where a test ignores the
# exit status of the program that made it.
sanitizer_reports() {
  if [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
    echo "sanitizer reports:"
    for f in "$1"/*; do echo "==== $f"; cat "$f"; done
    rm -rf "$1"
    return 1
  fi
  rm -rf "$1"
}

tarball=""
stage_build() {
  contrib/install-deps.sh && contrib/build.sh --enable-werror
}

stage_check() {
  rc=0
  make -j"$jobs" check || rc=$?
  # Not build-ci/ (the other stages) nor a distcheck tree.
  [ "$rc" -eq 0 ] || show_failures "$top/src" "$top/tests"
  strict_scan "$top/src" || rc=1
  strict_scan "$top/tests" || rc=1
  return "$rc"
}

stage_dist() {
  rm -f smime-milter-*.tar.gz
  make dist >/dev/null || return 1
  tarball=$(ls -t "$top"/smime-milter-*.tar.gz | head -1)
  bad=$(tar tzf "$tarball" | grep -E '/\.pki|/\.sendmail-root|/\.work/|/\.deb-systemd/|/\.deb-build/|\.(key|o|a|trs|log)$|/build-ci/' || true)
  if [ -n "$bad" ]; then
    echo "dist: the tarball holds test keys or build leftovers:"
    echo "$bad"
    return 1
  fi
  echo "dist: $(basename "$tarball"): $(tar tzf "$tarball" | wc -l) entries, no keys or leftovers"
}

stage_distcheck() {
  rc=0
  # distcheck deletes its build tree and the test logs in it: the tarball's
  # tests/ci/keep-logs-driver.sh keeps a copy of every test's .log and .trs
  # in $logs (LOG_DRIVER reaches the inner make check; $(top_srcdir) is
  # expanded there), for the same strict scan as the check stage.
  logs=$ci/distcheck-logs
  rm -rf "$logs" && mkdir -p "$logs" || return 1
  driver='$(SHELL) $(top_srcdir)/tests/ci/keep-logs-driver.sh '"$logs"' $(top_srcdir)/build-aux/test-driver'
  if [ "${DISTCHECK_TESTS:-}" = all ]; then
    make -j"$jobs" distcheck LOG_DRIVER="$driver" || rc=$?
  else
    make -j"$jobs" distcheck LOG_DRIVER="$driver" \
      TESTS="${DISTCHECK_TESTS:-$(unit_tests) $distcheck_shell_tests}" || rc=$?
  fi
  # Its build tree is removed on success; on failure it is kept: show why.
  [ "$rc" -eq 0 ] || show_failures "$top/$(basename "${tarball:-smime-milter-x.tar.gz}" .tar.gz)"
  if [ -z "$(find "$logs" -name '*.trs' 2>/dev/null | head -1)" ]; then
    echo "distcheck: no test logs kept in $logs: the strict scan cannot run"
    test_strict && rc=1
  fi
  strict_scan "$logs" || rc=1
  return "$rc"
}

# unpack NAME: a fresh copy of the tarball's sources in $ci/NAME/src and an
# empty build folder $ci/NAME/build (a VPATH build: the source tree itself is
# configured in place).
unpack() {
  [ -n "$tarball" ] || { echo "no tarball (the dist stage did not run or failed)"; return 1; }
  rm -rf "${ci:?}/$1"
  mkdir -p "$ci/$1/src" "$ci/$1/build"
  tar xzf "$tarball" -C "$ci/$1/src" --strip-components=1
}

unit_tests() { make -s --no-print-directory -C "$top" print-unit-tests; }
# distcheck proves the tarball complete and the tests clean of writes to the
# source folder; the end-to-end suites already ran in check, so by default it
# runs these (with the daemon: miltertest) and DISTCHECK_TESTS=all runs all.
distcheck_shell_tests="tests/ci/check-strict.sh tests/golden/run-golden.sh tests/cli/run-cli.sh tests/cli/run-cert-import.sh
  tests/docs/check-parameters-doc.sh tests/style/check-format.sh tests/milter/run-miltertest.sh
  tests/corpus/run-corpus.sh"

stage_asan() {
  unpack asan || return 1
  reports=$(reports_dir asan) || return 1
  cd "$ci/asan/build"
  rc=0
  ../src/configure -q --enable-werror \
    CXXFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
    LDFLAGS='-fsanitize=address,undefined' &&
    make -j"$jobs" >/dev/null &&
    ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
    make -j"$jobs" check \
      TESTS="$(unit_tests) tests/golden/run-golden.sh tests/cli/run-cli.sh tests/corpus/run-corpus.sh" || rc=$?
  [ "$rc" -eq 0 ] || show_failures "$ci/asan/build"
  sanitizer_reports "$reports" || rc=1
  strict_scan "$ci/asan/build" || rc=1
  cd "$top"
  return "$rc"
}

# ignore_noninstrumented_modules: libmilter (not built here) destroys its
# own mutex at exit while its signal thread may hold it; the interceptors
# then only judge calls from our code. tests/sanitizers/tsan.supp says the rest.
stage_tsan() {
  unpack tsan || return 1
  reports=$(reports_dir tsan) || return 1
  cd "$ci/tsan/build"
  rc=0
  ../src/configure -q --enable-werror \
    CXXFLAGS='-O1 -g -fsanitize=thread -fno-omit-frame-pointer' LDFLAGS='-fsanitize=thread' &&
    make -j"$jobs" >/dev/null &&
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$ci/tsan/src/tests/sanitizers/tsan.supp:log_path=$reports/tsan" \
    make -j"$jobs" check TESTS="$(unit_tests) tests/milter/run-miltertest.sh" || rc=$?
  [ "$rc" -eq 0 ] || show_failures "$ci/tsan/build"
  sanitizer_reports "$reports" || rc=1
  strict_scan "$ci/tsan/build" || rc=1
  cd "$top"
  return "$rc"
}

stage_fuzz() {
  unpack fuzz || return 1
  cd "$ci/fuzz/build"
  rc=0
  if ../src/configure -q --enable-fuzzers CXX=clang++ && make -j"$jobs" fuzz src/smimectl >/dev/null; then
    SMIME_FUZZ_BUILD=$ci/fuzz/build SMIME_FUZZ_SECONDS=${SMIME_FUZZ_SECONDS:-30} \
      "$top/tests/fuzz/run-fuzz.sh" || rc=$?
  else
    rc=1
  fi
  cd "$top"
  return "$rc"
}

results=""
failed=0
for stage in build check dist distcheck asan tsan fuzz; do
  has_stage "$stage" || continue
  echo "==== stage $stage ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  rc=0
  # A subshell: each stage starts in $top, and its failure does not end the
  # run (stages check every step themselves: set -e does not apply here).
  ( "stage_$stage" ) || rc=$?
  secs=$(($(date +%s) - start))
  if [ "$rc" -eq 0 ]; then res=ok; else res=FAILED; failed=1; fi
  [ "$stage" != dist ] || [ "$rc" -ne 0 ] || tarball=$(ls -t "$top"/smime-milter-*.tar.gz | head -1)
  results="$results$(printf '%-10s %-7s %4d:%02d' "$stage" "$res" $((secs / 60)) $((secs % 60)))
"
  echo "==== stage $stage: $res in ${secs}s"
  if [ "$stage" = build ] && [ "$rc" -ne 0 ]; then break; fi
done
echo "==== stages (min:s)"
printf '%s' "$results"
exit "$failed"
