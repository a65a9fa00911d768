#!/usr/bin/env bash
# check-logging.sh: log lines against their interface, docs/logging.md
# (tests/docs/check_log_lines.py): the log calls of the sources (every field
# and event documented, no hand-built "name=value"), the log lines of the
# golden cases, and the warnings `smimectl config check` shares with the
# daemon (configuration, expiry of identities, anchors and added recipient
# certificates). The daemon's own lines are checked by
# tests/milter/run-daemon-cli.sh.
. "$(dirname "$0")/../lib.sh"
make_pki
command -v python3 >/dev/null || skip_or_fail "python3 not installed"
check=$top/tests/docs/check_log_lines.py
doc=$top/docs/logging.md
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# The checker itself refuses free text, a repeated name and an undocumented field.
printf '%s\n' "smime-milter[1]: warning: cannot write /x: Permission denied" \
  "NOQUEUE: verify: result=pass, result=fail" "NOQUEUE: verify: from=<a@b>, no_such_field=1" \
  "warning: config: detail=two words" \
  "error: NOQUEUE: outbound: from=<a@b>, action=signed, format=clear, action=tempfail, reason=spool-failed" \
  >"$work/bad.log"
if [ "$(python3 "$check" "$doc" lines "$work/bad.log" | wc -l)" -eq 5 ]; then
  ok "the checker finds each of 5 bad lines"
else
  bad "the checker: $(python3 "$check" "$doc" lines "$work/bad.log")"
fi

# The lines of a refusal after an unsigned if-possible message, and of an
# exception after the decision, are of the interface.
printf '%s\n' \
  "error: Q1: outbound: from=<a@b>, sign=if-possible, unsigned_reason=sender-not-authorized, action=tempfail, reason=encryption-failed, ms=3, detail=\"x; y\"" \
  "panic: Q1: panic: error=\"eom: after the decision: std::bad_alloc\", action=accept, reason=decided" \
  >"$work/good.log"
if out=$(python3 "$check" "$doc" lines "$work/good.log"); then
  ok "unsigned_reason and reason=decided lines follow the interface"
else
  bad "unsigned_reason and reason=decided lines: $out"
fi

if out=$(python3 "$check" "$doc" sources "$top/src"); then
  ok "log calls in src/: fields and events documented, none hand-built"
else
  bad "log calls in src/: $out"
fi

for f in "$top"/tests/golden/expected/*.out; do sed '1,/^# log$/d' "$f"; done >"$work/golden.log"
if [ -s "$work/golden.log" ] && out=$(python3 "$check" "$doc" lines "$work/golden.log"); then
  ok "golden log lines ($(wc -l <"$work/golden.log")) follow the interface"
else
  bad "golden log lines: ${out:-none found}"
fi

# Every warning config check shares with the daemon: a deadline longer than
# Postfix waits, and (the longest window, 10 years) the identity and an
# added recipient certificate near expiry (both end in 2030; the anchor in
# 2045 is beyond: src/engine/cert_expiry_test covers anchors).
cp "$pki/alice.key" "$work/alice.key" && chmod 600 "$work/alice.key"
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
write_config "$work/warn.conf" "rcpt_deadline = 30" "signing_identities = $work/identities" \
  "identity_expiry_warning = 3650"
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
"$SMIMECTL" -c "$work/warn.conf" cert add "$work/carol-add.pem" >/dev/null 2>&1
"$SMIMECTL" -c "$work/warn.conf" config check >/dev/null 2>"$work/warn.log"
for want in "smimectl: warning: config: origin=$work/warn.conf:5, detail=" \
    "smimectl: warning: expiry: kind=identity, name=alice@a.example, origin=$work/identities:1, " \
    "smimectl: warning: expiry: kind=recipient_certificate, name=carol@b.example, origin=$work/carol-add.pem, "; do
  if grep -qF -- "$want" "$work/warn.log"; then ok "config check: $want"; else bad "config check lacks '$want': $(cat "$work/warn.log")"; fi
done
if out=$(python3 "$check" "$doc" lines "$work/warn.log"); then
  ok "config check's warnings ($(wc -l <"$work/warn.log")) follow the interface"
else
  bad "config check's warnings: $out"
fi
# A refusal after signing: the new body's spool cannot grow (RLIMIT_FSIZE,
# SIGXFSZ ignored: the write fails with EFBIG). The line keeps signing's
# format and digest but has one action, tempfail, and the spool's reason
# (docs/logging.md, "A later step replaces a field").
echo "alice alice@a.example" >"$work/users"
write_config "$work/spool.conf" "sign = clear" "signing_identities = $work/identities" \
  "signing_users = $work/users" "spool_memory_limit = 1K"
{ printf 'From: Alice <alice@a.example>\nTo: Partner <partner@c.example>\nSubject: big\n\n'
  awk 'BEGIN { for (i = 0; i < 100000; i++) print "x" }'; } >"$work/big.eml"
rc=0
(trap '' XFSZ; ulimit -f 100; exec "$SMIMECTL" -c "$work/spool.conf" process --outbound \
  --sasl-user alice --now "$NOW" "$work/big.eml") >/dev/null 2>"$work/spool.err" || rc=$?
grep ': outbound: ' "$work/spool.err" >"$work/spool.log"
if [ "$rc" = 75 ] && grep -q 'format=clear, digest=sha256, .*action=tempfail, reason=spool-failed, ' "$work/spool.log" &&
   [ "$(grep -o ', action=' "$work/spool.log" | wc -l)" = 1 ] && out=$(python3 "$check" "$doc" lines "$work/spool.log"); then
  ok "refusal after signing: one action (tempfail), follows the interface"
else
  bad "refusal after signing: rc=$rc ${out:-} $(head -c 400 "$work/spool.err")"
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
