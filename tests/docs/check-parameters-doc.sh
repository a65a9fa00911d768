#!/usr/bin/env bash
# check-parameters-doc.sh: docs/parameters.md and man/smime-milter.conf.5
# must be exactly what the parameter table generates, so docs never drift.
. "$(dirname "$0")/../lib.sh"
pass=0 failed=0
check() {  # check FILE ARGS...
  local f=$1
  shift
  if diff -u "$top/$f" <("$SMIMECTL" config doc "$@"); then
    pass=$((pass + 1)); echo "ok   $f"
  else
    failed=$((failed + 1)); echo "FAIL $f is stale: run 'src/smimectl config doc $* > $f'"
  fi
}
check docs/parameters.md
check man/smime-milter.conf.5 --man
for m in smime-milter.8 smimectl.8 smime-milter.conf.5; do
  if command -v man >/dev/null && ! LC_ALL=C man --warnings -l "$top/man/$m" 2>&1 >/dev/null | grep -q .; then
    pass=$((pass + 1)); echo "ok   man/$m renders without warnings"
  elif ! command -v man >/dev/null; then
    skip_part "man/$m: man not installed"
  else
    failed=$((failed + 1)); echo "FAIL man/$m:"; LC_ALL=C man --warnings -l "$top/man/$m" 2>&1 >/dev/null | head
  fi
done
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
