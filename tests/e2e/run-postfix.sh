#!/usr/bin/env bash
# run-postfix.sh: end to end through a throwaway Postfix on 127.0.0.1 with
# the real smime-milter: signed mail arrives with our smime=pass header
# first, tampered with fail, forged verdicts are gone, outbound mail (the
# ORIGINATING submission service) is untouched; killing the milter with 500
# messages in flight loses and duplicates nothing; 2,000 messages arrive
# exactly once each with one milter log line each. Needs root and Postfix
# (skips otherwise; CI has both).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix swaks smtp-source
e2e_init

e2e_messages "$work/msgs"
trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "internal_hosts = 192.0.2.0/24" "state_dir = $work/state"
start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
pf_start || exit 1

send() {  # send PORT FILE RCPT
  swaks --server "127.0.0.1:$1" --from sender@a.example --to "$3" --data "@$2" --silent 2 \
    >"$work/swaks.out" 2>&1 || { echo "swaks failed:"; cat "$work/swaks.out"; }
}
send "$PF_PORT" "$work/msgs/signed.eml" carol@b.example
send "$PF_PORT" "$work/msgs/tampered.eml" carol@b.example
send "$PF_PORT" "$work/msgs/forged.eml" carol@b.example
send "$PF_SUBMIT" "$work/msgs/outbound.eml" dave@b.example
send "$PF_PORT" "$work/msgs/dupct.eml" carol@b.example
# Blanks before a colon: the milter never sees them (Postfix hands it the
# bare name), so what Postfix delivers must not have them either.
sed 's/^Subject:/Subject :/; s/^Message-ID: .*/Message-ID: <spaced@a.example>\r/' "$work/msgs/signed.eml" \
  >"$work/msgs/spaced.eml"
send "$PF_PORT" "$work/msgs/spaced.eml" carol@b.example
pf_wait_delivered 6 30 || bad "only $(pf_delivered) of 6 messages delivered"
delivered() { grep -l "^Message-ID: <$1@a.example>" -r "$work/pf/mail" | head -1; }
headers_of() { sed '/^\r*$/q' "$(delivered "$1")"; }
# Our header must be the first Authentication-Results and come before the
# message's own headers (only Postfix's Received: may precede it).
first_ar() { headers_of "$1" | awk '/^Authentication-Results:/ {p=1; print; next} p && /^[ \t]/ {print; next} p {exit}'; }
check_verdict() {  # check_verdict NAME VERDICT
  local ar
  ar=$(first_ar "$1")
  if printf '%s' "$ar" | head -1 | grep -q '^Authentication-Results: mx.test;' &&
     printf '%s' "$ar" | grep -q "smime=$2" &&
     [ "$(headers_of "$1" | grep -n '^Authentication-Results: mx.test;' | cut -d: -f1)" -lt \
       "$(headers_of "$1" | grep -n '^From:' | cut -d: -f1)" ]; then
    ok "$1: smime=$2, our header first"
  else
    bad "$1: expected our smime=$2 first, got: $ar"
  fi
}
check_verdict signed pass
check_verdict tampered fail
check_verdict forged pass
check_verdict dupct permerror
if headers_of spaced | grep -q '^Subject: golden test' && ! headers_of spaced | grep -q '^Subject :'; then
  ok "spaced: Postfix delivers the header name without the blanks the milter did not see"
else
  bad "spaced: delivered header section:"; headers_of spaced
fi
if headers_of dupct | grep -q 'reason=ambiguous-mime' && ! grep -q 'smime=pass' "$(delivered dupct)"; then
  ok "dupct: two top-level Content-Types are ambiguous-mime, never pass"
else
  bad "dupct: expected reason=ambiguous-mime and no smime=pass"; headers_of dupct
fi
n=$(headers_of forged | grep -ci '^Authentication-Results:')
if [ "$n" -eq 2 ] && headers_of forged | grep -q '^Authentication-Results: other.example; dkim=pass'; then
  ok "forged: three forged headers removed, foreign one kept"
else
  bad "forged: $n Authentication-Results left"; headers_of forged
fi
if [ -n "$(delivered outbound)" ] && ! headers_of outbound | grep -qi '^Authentication-Results:'; then
  ok "outbound (ORIGINATING) untouched"
else
  bad "outbound mail was changed or not delivered"
fi
# Every verified message has a milter log line whose queue ID Postfix delivered.
for qid in $(sed -n 's/.*smime-milter\[[0-9]*\]: \([0-9A-F]*\): verify: .*/\1/p' "$work/milter.log"); do
  grep -q "$qid: .*status=sent" "$work/pf/maillog" || bad "queue id $qid in milter log not delivered"
done
[ "$(grep -c ': verify: ' "$work/milter.log")" -eq 5 ] && ok "one verify log line per inbound message" ||
  bad "verify lines: $(grep -c ': verify: ' "$work/milter.log")"

# No mail lost: kill the milter while 500 locally submitted messages are in
# flight; after a restart every one is delivered exactly once.
base_count=$(pf_delivered)
for i in $(seq 500); do
  sed "s/^Message-ID: .*/Message-ID: <loss-$i@a.example>/" "$work/msgs/outbound.eml" |
    sendmail -C "$work/pf/etc" -f sender@a.example dave@b.example
  if [ "$i" -eq 150 ]; then kill -KILL "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null; MILTER_PID=; fi
done
sleep 2
start_milter || exit 1
postqueue -c "$work/pf/etc" -f 2>/dev/null
pf_wait_delivered $((base_count + 500)) 180 || true
ids=$(grep -rh '^Message-ID: <loss-' "$work/pf/mail" | sort)
uniq_n=$(printf '%s\n' "$ids" | grep -c . )
dups=$(printf '%s\n' "$ids" | uniq -d | grep -c .)
# The kill must really have hit traffic: Postfix saw the milter gone.
if grep -q "connect to Milter service unix:$work/milter.sock" "$work/pf/maillog"; then
  ok "Postfix met the dead milter (milter_default_action = tempfail held the mail)"
else
  bad "the milter kill did not hit any message"
fi
if [ "$uniq_n" -eq 500 ] && [ "$dups" -eq 0 ]; then
  ok "milter killed with 500 in flight: 500 delivered, none twice"
else
  bad "after killing the milter: $uniq_n delivered, $dups duplicated"
  postqueue -c "$work/pf/etc" -p | tail -5
fi

# Load: 2,000 messages through smtpd and the milter arrive exactly once each.
before=$(grep -c ': verify: ' "$work/milter.log")
base_count=$(pf_delivered)
load_start=$(date +%s%N)
smtp-source -s 10 -m 2000 -l 2048 -f sender@a.example -t carol@b.example "127.0.0.1:$PF_PORT" \
  >"$work/source.out" 2>&1 || bad "smtp-source failed: $(head -3 "$work/source.out")"
pf_wait_delivered $((base_count + 2000)) 300 || true
# Information for docs/performance.md, not an assertion.
echo "info load: 2000 messages submitted and delivered in $(( ($(date +%s%N) - load_start) / 1000000 )) ms"
got=$(( $(pf_delivered) - base_count ))
verify_lines=$(( $(grep -c ': verify: ' "$work/milter.log") - before ))
qids=$(grep -h '^Received: from ' -A3 -r "$work/pf/mail" | grep -c 'with ESMTP id' || true)
if [ "$got" -eq 2000 ] && [ "$verify_lines" -eq 2000 ]; then
  ok "2000 messages delivered once each, 2000 milter log lines"
else
  bad "load: $got delivered, $verify_lines milter log lines (want 2000 each)"
fi
grep -q 'panic:' "$work/milter.log" && bad "panic in milter log"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
