#!/usr/bin/env bash
# run-postfix-load-smoke.sh: make check's run of tests/perf/run-postfix-load.sh
# with SMIME_LOAD_SMOKE=1 --cpu --noop: a few messages per path through
# Postfix alone, with the no-op milter and with smime-milter. The script
# itself fails unless every message arrives with the milter's work done
# (smime=pass inbound, multipart/signed outbound); this checks that every
# report line is printed with a number (rates, per-round ratios, CPU,
# ceiling). No timing is judged. Needs root, Postfix and python3.
out=$(SMIME_LOAD_SMOKE=1 "$(dirname "$0")/run-postfix-load.sh" --cpu --noop 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || exit "$rc"  # a failure, or 77: skipped (not in CI)
failed=0
for want in 'inbound  Postfix alone [0-9]+ messages/s, Postfix \+ milter [0-9]+ messages/s, ratio [0-9.]+' \
  'outbound Postfix alone [0-9]+ messages/s, Postfix \+ milter [0-9]+ messages/s, ratio [0-9.]+' \
  'inbound  per round, smime-milter: median [0-9.]+' 'outbound per round, no-op milter: median [0-9.]+' \
  'raw RSA-2048 \(openssl speed, this run\): sign [0-9]+/s, verify [0-9]+/s' \
  'outbound \+ smime-milter  postfix [0-9.]+ .* milter [0-9.]+ ' \
  'inbound  ceiling for any milter [0-9.]+ .*3 RSA verifications' \
  'outbound ceiling for any milter [0-9.]+ .*1 RSA signature'; do
  if grep -Eq "^$want" <<<"$out"; then echo "ok   $want"; else echo "FAIL no line: $want"; failed=1; fi
done
exit "$failed"
