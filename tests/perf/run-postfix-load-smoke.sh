#!/usr/bin/env bash
# run-postfix-load-smoke.sh: make check's run of tests/perf/run-postfix-load.sh
# with SMIME_LOAD_SMOKE=1 --cpu --noop: a few messages per path through
# Postfix alone, with the no-op milter and with smime-milter. The script
# itself fails unless every message arrives with the milter's work done
# (smime=pass inbound, multipart/signed outbound); this checks that every
# report line is printed with its numbers (rates, per-round ratios, CPU,
# the raw rates and a ceiling with a non-zero public-key cost). No timing
# is judged; `openssl speed` adds 6 s. Needs root, Postfix and python3.
unset SMIME_LOAD_PATHS SMIME_LOAD_WRAP  # both paths, the daemon itself
out=$(SMIME_LOAD_SMOKE=1 "$(dirname "$0")/run-postfix-load.sh" --cpu --noop 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || exit "$rc"  # a failure, or 77: skipped (not in CI)
failed=0
want() {
  if grep -Eq "^$1" <<<"$out"; then echo "ok   $1"; else echo "FAIL no line: $1"; failed=1; fi
}
n='[0-9]+' x='[0-9.]+'
want "raw RSA-2048 \(openssl speed, this run\): sign $n/s, verify $n/s"
for p in 'inbound ' outbound; do
  want "$p Postfix alone $n messages/s, Postfix \+ milter $n messages/s, ratio $x"
  want "$p Postfix \+ no-op milter $n messages/s, ratio $x"
  for m in smime-milter 'no-op milter'; do want "$p per round, $m: median $x, range $x to $x \(1 rounds\)"; done
  for i in 'Postfix alone' '\+ no-op milter' '\+ smime-milter'; do
    want "$p $i +postfix $x \(sys $x\)  milter $x \(sys $x\)  client $x  total $x"
  done
done
want "inbound  ceiling for any milter $x \(alone $x ms / \(no-op $x \+ 3 RSA verifications 0\.0*[1-9]"
want "outbound ceiling for any milter $x \(alone $x ms / \(no-op $x \+ 1 RSA signature 0\.0*[1-9]"
if grep -Eiq 'division by zero|fatal|awk:' <<<"$out"; then echo "FAIL an error in the report"; failed=1; fi
exit "$failed"
