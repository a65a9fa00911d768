#!/bin/sh
# keep-logs-driver.sh DEST DRIVER ARGS...: an automake test driver that runs
# DRIVER (automake's test-driver) with ARGS, then copies the test's .log and
# .trs files (--log-file, --trs-file, relative to the build folder) to the
# same relative paths under DEST. Exit status: DRIVER's, or 1 when a copy
# fails (a log that is not kept must not pass unnoticed).
#
# Why: `make distcheck` deletes its build tree, logs included (distclean
# before distcleancheck, then the whole folder), so the strict scan of
# contrib/test.sh (tests/skip.sh strict_scan: SKIP results and skip lines
# inside passing tests) could not read what the distcheck build's tests
# printed. contrib/test.sh passes LOG_DRIVER="sh THIS DEST DRIVER" to make
# distcheck (command-line variables reach its inner make check) and scans
# DEST afterwards.
set -u
dest=$1
driver=$2
shift 2
log='' trs=''
prev=
for a in "$@"; do
  case $prev in
    --log-file) log=$a ;;
    --trs-file) trs=$a ;;
  esac
  prev=$a
done
rc=0
${SHELL:-/bin/sh} "$driver" "$@" || rc=$?
for f in "$log" "$trs"; do
  [ -n "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")" && cp "$f" "$dest/$f" ||
    { echo "keep-logs-driver.sh: cannot keep $f in $dest" >&2; rc=1; }
done
exit "$rc"
