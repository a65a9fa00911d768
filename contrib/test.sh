#!/bin/sh
# contrib/test.sh: the test command. On a fresh Debian 12 machine (as root)
# it installs the build and test dependencies, builds with warnings as
# errors and runs every test (`make check`: unit tests, golden tests,
# interoperability with openssl/gpgsm/NSS, the corpus conformance runner and
# the corpus under valgrind). Exit status is make check's.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh --enable-werror
status=0
make -j"$(nproc)" check || status=$?
if [ "$status" -ne 0 ]; then
  for log in $(grep -l '^:test-result: FAIL\|^:test-result: ERROR' $(find src tests -name '*.trs') 2>/dev/null); do
    echo "==== ${log%.trs}.log"
    cat "${log%.trs}.log"
  done
fi
exit "$status"
