#!/usr/bin/env bash
# run-sendmail.sh: end to end through Sendmail 8.17 (Debian's packages,
# unpacked privately) with the real smime-milter over a local socket:
# signed mail arrives with smime=pass first, tampered with fail, forged
# verdicts removed, ORIGINATING (outbound) mail untouched, and with the
# milter down Sendmail answers 451 (F=T) instead of passing mail unfiltered.
# Needs root, apt-get download and Postfix's smtp-sink; skips otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Sendmail swaks smtp-sink m4 cc unshare
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init

e2e_messages "$work/msgs"

write_config "$work/milter.conf" "socket = local:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "internal_hosts = 192.0.2.0/24" "state_dir = $work/state"
trap 'sm_stop; stop_milter; rm -rf "$work"' EXIT
start_milter || exit 1
sm_setup "$work/sm" "$work/milter.sock"
sm_start || exit 1

send() {  # send PORT FILE
  swaks --server "127.0.0.1:$1" --from sender@a.example --to carol@b.example --data "@$2" \
    --silent 2 >"$work/swaks.out" 2>&1
}
for m in signed tampered forged; do send "$SM_PORT" "$work/msgs/$m.eml" || bad "$m not accepted: $(cat "$work/swaks.out")"; done
send "$SM_SUBMIT" "$work/msgs/outbound.eml" || bad "outbound not accepted"
sm_wait_sent 4 60 || bad "only $(grep -c stat=Sent "$work/sm/maillog") of 4 relayed"
delivered() { grep -l "^Message-ID: <$1@a.example>" "$work"/sm/sink/* 2>/dev/null | head -1; }
headers_of() { local f; f=$(delivered "$1"); [ -n "$f" ] && tr -d '\r' <"$f" | sed '/^$/q'; }
check_verdict() {  # check_verdict NAME VERDICT
  local h ar_line from_line
  h=$(headers_of "$1")
  ar_line=$(printf '%s\n' "$h" | grep -n '^Authentication-Results: mx.test;' | head -1 | cut -d: -f1)
  from_line=$(printf '%s\n' "$h" | grep -n '^From:' | head -1 | cut -d: -f1)
  if [ -n "$ar_line" ] && [ "$ar_line" -lt "$from_line" ] &&
     [ "$(printf '%s\n' "$h" | grep -n '^Authentication-Results:' | head -1 | cut -d: -f1)" = "$ar_line" ] &&
     printf '%s\n' "$h" | sed -n "$ar_line,\$p" | sed -n '1,3p' | grep -q "smime=$2"; then
    ok "$1: smime=$2, our header first"
  else
    bad "$1: expected our smime=$2 first; headers:"; printf '%s\n' "$h" | sed 's/^/    /'
  fi
}
check_verdict signed pass
check_verdict tampered fail
check_verdict forged pass
n=$(headers_of forged | grep -ci '^Authentication-Results:')
if [ "$n" -eq 2 ] && headers_of forged | grep -q '^Authentication-Results: other.example; dkim=pass'; then
  ok "forged: three forged headers removed, foreign one kept"
else
  bad "forged: $n Authentication-Results left"
fi
if [ -n "$(delivered outbound)" ] && ! headers_of outbound | grep -qi '^Authentication-Results:'; then
  ok "outbound (ORIGINATING daemon) untouched"
else
  bad "outbound mail changed or not relayed"
fi
grep -q 'outbound: .*why=daemon_name, daemon_name=ORIGINATING' "$work/milter.log" && ok "outbound logged with reason" ||
  bad "no outbound log line"

# Milter down: F=T makes Sendmail tempfail instead of passing mail unfiltered.
stop_milter
rc=0
swaks --server "127.0.0.1:$SM_PORT" --from sender@a.example --to carol@b.example \
  --data "@$work/msgs/signed.eml" >"$work/down.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q '451' "$work/down.out"; then
  ok "milter down: Sendmail answers 451, nothing passes unfiltered"
else
  bad "milter down: swaks rc=$rc"; tail -5 "$work/down.out"
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
