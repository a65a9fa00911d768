#!/usr/bin/env bash
# run-postfix-encryption.sh: outbound encryption end to end through a
# throwaway Postfix on 127.0.0.1 with the real smime-milter (user nobody;
# state_dir, and so certificates.db, owned by nobody). Policy files:
# b.example and d.example encrypt = required (d.example with
# missing_certificate = tempfail), c.example encrypt = never, a.example
# encrypt = opportunistic (no certificate there: clear). sign = clear,
# signing_relays = 127.0.0.1: mail from alice@a.example is signed, then
# encrypted.
#
# Setups, and what each proves:
# - swaks -> submission port (milter): the SMTP client's own view of the
#   RCPT-time rule. A required recipient without a certificate gets 550 5.7.1
#   (450 4.7.1 for d.example) with a reply naming the recipient and the
#   reason, and the milter logs a `rcpt:` line; after `smimectl cert add` of
#   carol's certificate (no reload) mail to carol arrives only as
#   application/pkcs7-mime enveloped-data that `openssl cms -decrypt` with
#   carol's key turns into a multipart/signed message verifying against the
#   test root, and no line of the plaintext body is in the delivered file;
#   in one transaction with carol, erin@b.example (no certificate) gets 550
#   and dave@c.example (never) gets 452 4.5.3, carol still gets her copy
#   encrypted (swaks does not retry: dave gets nothing from it).
# - the sendmail command (pickup, non_smtpd_milters) to carol alone:
#   encrypted as well, although that mail is *inbound* here (its cleanup
#   service has the default milter_macro_daemon_name, and loopback is not
#   in internal_hosts): encryption follows the recipient domain in every
#   direction, so the delivered copy is enveloped-data decrypting to the
#   original (unsigned) text, and the milter logs a verify: line with the
#   encryption. Only one recipient there: Postfix's cleanup cannot
#   refuse a single recipient of a non-SMTP submission ("milter
#   configuration error: can't reject recipient in non-smtpd(8)
#   submission"), so a 452 4.5.3 or 550 5.7.1 on that path leaves the whole
#   message in the maildrop, retried by pickup and never bounced; mixed
#   recipient sets are therefore tested through the relay hop below.
# - Postfix as the client: a relay smtpd service without milter whose mail
#   goes (content_filter=smtp:[127.0.0.1]:HOP2) through Postfix's own smtp
#   client to a second smtpd service with the milter (HOP2, marked
#   ORIGINATING, so outbound). Both hops are services of the one test
#   Postfix (syslog names postfix/relay and postfix/hop2), which stands for
#   two MTAs in a row. So Postfix's smtp client gets the 452 4.5.3
#   at RCPT, delivers the accepted recipients, defers the other and re-sends
#   it alone at the next queue run (queue_run_delay/minimal_backoff_time 5s).
#   Postfix sends the recipients sorted by domain, whatever the submitted
#   order, so both orders need two domains: carol@b.example+dave@c.example
#   (encrypted first, the clear one deferred) and alice@a.example+carol
#   (a.example opportunistic without certificate, so clear first, the
#   encrypted one deferred); each recipient gets exactly one copy in its
#   form, in its own milter transaction; carol+erin gives carol her
#   encrypted copy, alice a bounce quoting the 550 5.7.1 reply for erin, and
#   erin nothing. The test waits for these before changing certificates
#   (a certificate removed between RCPT and end of data gives 451 4.7.1
#   certificate-lost and a retry, which would blur the counts).
# - RCPT spellings: comments and whitespace inside the address
#   (<carol@b.example (x)>, <carol@ b.example>, <carol@(x)b.example>),
#   which Postfix (strict_rfc821_envelopes = no) would deliver to
#   carol@b.example, get 550 5.1.3 from the milter; a policy file named by
#   its U-label (bücher.example.conf, encrypt = required) applies to
#   RCPT TO:<nobody@xn--bcher-kva.example> (550 5.7.1, no certificate).
# - Harvest: after `smimectl cert remove carol@b.example` mail to carol is
#   refused again; a message signed by carol (tests/interop/sign-openssl.sh)
#   arriving from outside (127.0.0.2) verifies as pass, after which
#   `smimectl cert lookup carol@b.example` finds the harvested certificate and
#   mail to carol is encrypted to it. A tampered signature by alice@a.example
#   (fail) and one with a 1024-bit RSA key (weak@a.example, policy) store
#   nothing: lookup finds no certificate and mail to alice (opportunistic)
#   still goes out clear.
# - Counts: per mailbox, every accepted recipient got each message exactly
#   once in the expected form (every file in carol's mailbox encrypted, none
#   for erin or frank, the queue empty in the end); exactly one milter
#   outbound/verify line per milter transaction (found by Postfix queue ID)
#   and a rcpt: line for every RCPT (one refusing line per refused RCPT,
#   with its reason); the files in state_dir stay owned by
#   nobody after smimectl (run as root) wrote to certificates.db.
# Needs root, Postfix and swaks (skips otherwise; CI has them).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix swaks openssl perl sendmail
e2e_init keys policies out

nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" \
  >"$work/identities"
echo "encrypt = required" >"$work/policies/b.example.conf"
echo "encrypt = never" >"$work/policies/c.example.conf"
printf 'encrypt = required\nmissing_certificate = tempfail\n' >"$work/policies/d.example.conf"
echo "encrypt = required" >"$work/policies/bücher.example.conf"
echo "encrypt = opportunistic" >"$work/policies/a.example.conf"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
  "sign = clear" "signing_identities = $work/identities" "signing_relays = 127.0.0.1/32" \
  "policy_dir = $work/policies"

trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
ctl() { "$SMIMECTL" -c "$work/milter.conf" "$@"; }

start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
PF_RELAY=$(free_port)
PF_HOP2=$(free_port)
cat >"$work/pf/etc/vmailbox" <<EOF
alice@a.example a/alice/
carol@b.example b/carol/
erin@b.example b/erin/
dave@c.example c/dave/
frank@d.example d/frank/
EOF
postconf -c "$work/pf/etc" -e "virtual_mailbox_domains = a.example, b.example, c.example, d.example"
cat >>"$work/pf/etc/master.cf" <<CF
127.0.0.1:$PF_RELAY inet n - n - - smtpd
  -o syslog_name=postfix/relay
  -o smtpd_milters=
  -o content_filter=smtp:[127.0.0.1]:$PF_HOP2
127.0.0.1:$PF_HOP2 inet n - n - - smtpd
  -o syslog_name=postfix/hop2
  -o milter_macro_daemon_name=ORIGINATING
CF
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

# mkmsg NAME TO-HEADER [FROM-HEADER]: a text/plain message whose body lines
# all name the message (so a leak of any of them is found).
mkmsg() {
  {
    printf 'From: %s\nTo: %s\nSubject: encryption test\n' "${3:-Alice <alice@a.example>}" "$2"
    printf 'Date: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
    printf 'Confidential note %s, first line.\n\n' "$1"
    printf 'The quarterly numbers for %s stay between us.\n' "$1"
    printf 'Regards from the body of %s.\n' "$1"
  } >"$work/msgs/$1.eml"
}
send() {  # send NAME PORT SOURCE-ADDRESS RCPTS [SWAKS ARGS...]: output in out/NAME.swaks
  local name=$1 port=$2 src=$3 rcpts=$4 from
  shift 4
  from=$(sed -n 's/^From: .*<\(.*\)>.*/\1/p; s/^From: \([^<]*@[^ ]*\)$/\1/p' "$work/msgs/$name.eml" |
    tr -d '\r' | head -1)
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$name.eml" >"$work/msgs/$name.swaks"
  swaks --server "127.0.0.1:$port" --local-interface "$src" --from "$from" --to "$rcpts" \
    --data "@$work/msgs/$name.swaks" "$@" >"$work/out/$name.swaks" 2>&1
  echo $? >"$work/out/$name.rc"
}
# expect_reply NAME RCPT CODE XCODE TEXT: the SMTP client got that RCPT reply.
expect_reply() {
  if grep -q "<\*\* *$3 $4 $5" "$work/out/$1.swaks" &&
     grep -B1 "<\*\* *$3 $4" "$work/out/$1.swaks" | grep -q " RCPT TO:<$2>"; then
    ok "$1: RCPT TO:<$2> got $3 $4 $5"
  else
    bad "$1: RCPT TO:<$2>: expected $3 $4 $5, swaks said: $(grep -E '<(\*\*|~\*|-) ' "$work/out/$1.swaks" | tail -3)"
  fi
}
expect_accepted() {  # expect_accepted NAME: swaks got 250 for the message
  if grep -Eq '^ *<- *250 .*queued as' "$work/out/$1.swaks"; then
    ok "$1: message accepted"
  else
    bad "$1: not accepted: $(grep -E '<(\*\*|~\*) ' "$work/out/$1.swaks" | tail -2)"
  fi
}
state_owned() {  # state_owned WHEN: every file in state_dir belongs to nobody
  local other
  other=$(find "$work/state" ! -user nobody -printf '%p (%u) ')
  [ -z "$other" ] && ok "state_dir still owned by nobody after $1" ||
    bad "after $1, not owned by nobody: $other"
}

# 1. A required domain without a certificate: refused at RCPT.
mkmsg nocert-carol 'Carol <carol@b.example>'
send nocert-carol "$PF_SUBMIT" 127.0.0.1 carol@b.example
expect_reply nocert-carol carol@b.example 550 5.7.1 \
  "No usable S/MIME certificate for carol@b.example: mail to this domain must be encrypted"
mkmsg nocert-frank 'Frank <frank@d.example>'
send nocert-frank "$PF_SUBMIT" 127.0.0.1 frank@d.example
expect_reply nocert-frank frank@d.example 450 4.7.1 \
  "No usable S/MIME certificate for frank@d.example: mail to this domain must be encrypted"
ctl cert lookup carol@b.example >"$work/out/lookup-none" 2>&1
[ $? = 3 ] && ok "cert lookup carol@b.example before cert add: none usable (exit 3)" ||
  bad "cert lookup before add: $(cat "$work/out/lookup-none")"

# 2. carol's certificate added by the administrator (while the milter runs,
# no reload): signed by alice, encrypted to carol.
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
if ctl cert add "$work/carol-add.pem" >"$work/out/cert-add" 2>&1 &&
   grep -q '^added carol@b.example: serial 100D' "$work/out/cert-add"; then
  ok "smimectl cert add carol: $(head -1 "$work/out/cert-add")"
else
  bad "smimectl cert add: $(cat "$work/out/cert-add")"
fi
state_owned "smimectl cert add"
ctl cert lookup carol@b.example >"$work/out/lookup-local" 2>&1
grep -q '^certificate: local serial 100D' "$work/out/lookup-local" &&
  ok "cert lookup carol@b.example: the admin-added certificate" ||
  bad "cert lookup after add: $(cat "$work/out/lookup-local")"

mkmsg enc-carol 'Carol <carol@b.example>'
send enc-carol "$PF_SUBMIT" 127.0.0.1 carol@b.example
expect_accepted enc-carol
# One transaction: carol (has a certificate), erin (required, none): erin 550.
mkmsg mixed-erin 'Carol <carol@b.example>, Erin <erin@b.example>'
send mixed-erin "$PF_SUBMIT" 127.0.0.1 carol@b.example,erin@b.example
expect_reply mixed-erin erin@b.example 550 5.7.1 "No usable S/MIME certificate for erin@b.example"
expect_accepted mixed-erin
# One transaction: carol (encrypted), dave@c.example (clear): dave 452 4.5.3.
mkmsg mixed-dave 'Carol <carol@b.example>, Dave <dave@c.example>'
send mixed-dave "$PF_SUBMIT" 127.0.0.1 carol@b.example,dave@c.example
expect_reply mixed-dave dave@c.example 452 4.5.3 \
  "Recipient needs unencrypted mail: send to it in a separate transaction"
expect_accepted mixed-dave
# The other order: dave first (clear), carol then needs another transaction.
mkmsg mixed-dave-first 'Dave <dave@c.example>, Carol <carol@b.example>'
send mixed-dave-first "$PF_SUBMIT" 127.0.0.1 dave@c.example,carol@b.example
expect_reply mixed-dave-first carol@b.example 452 4.5.3 \
  "Recipient needs encrypted mail: send to it in a separate transaction"
expect_accepted mixed-dave-first
mkmsg clear-dave 'Dave <dave@c.example>'
send clear-dave "$PF_SUBMIT" 127.0.0.1 dave@c.example
expect_accepted clear-dave
mkmsg enc-pickup 'Carol <carol@b.example>'
sendmail -C "$work/pf/etc" -f alice@a.example carol@b.example <"$work/msgs/enc-pickup.eml"
# RCPT spellings Postfix would clean up into carol@b.example, and an IDN policy.
for spelling in 'carol@b.example (x)' 'carol@ b.example' 'carol@(x)b.example'; do
  mkmsg spelled 'Carol <carol@b.example>'
  send spelled "$PF_SUBMIT" 127.0.0.1 "$spelling"
  expect_reply spelled "$spelling" 550 5.1.3 "Bad recipient address syntax"
done
mkmsg idn-nocert 'Nobody <nobody@xn--bcher-kva.example>'
send idn-nocert "$PF_SUBMIT" 127.0.0.1 nobody@xn--bcher-kva.example
expect_reply idn-nocert nobody@xn--bcher-kva.example 550 5.7.1 \
  "No usable S/MIME certificate for nobody@xn--bcher-kva.example"
# The same domain as a U-label, over SMTPUTF8: the same policy, the same refusal.
python3 - "$PF_SUBMIT" >"$work/out/idn-ulabel.smtp" 2>&1 <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
code, _ = s.mail("alice@a.example", ["SMTPUTF8"])
print("MAIL", code)
code, msg = s.rcpt("nobody@b\u00fccher.example")
print("RCPT", code, msg.decode("utf-8", "replace"))
s.quit()
PY
if grep -q '^RCPT 550 5.7.1 No usable S/MIME certificate' "$work/out/idn-ulabel.smtp"; then
  ok "idn-ulabel: RCPT TO:<nobody@bücher.example> (SMTPUTF8) refused like its A-label"
else
  bad "idn-ulabel: expected 550 5.7.1, got: $(tr '\n' ';' <"$work/out/idn-ulabel.smtp")"
fi

# 3. Postfix as the client, through the relay hop.
mkmsg split-cd 'Carol <carol@b.example>, Dave <dave@c.example>'
send split-cd "$PF_RELAY" 127.0.0.1 carol@b.example,dave@c.example
expect_accepted split-cd
mkmsg split-ac 'Carol <carol@b.example>, Alice <alice@a.example>'
send split-ac "$PF_RELAY" 127.0.0.1 carol@b.example,alice@a.example
expect_accepted split-ac
mkmsg split-erin 'Carol <carol@b.example>, Erin <erin@b.example>'
send split-erin "$PF_RELAY" 127.0.0.1 carol@b.example,erin@b.example
expect_accepted split-erin
# Let the relay hop finish (deferred recipients included) before the
# certificates change.
for _ in $(seq 200); do
  [ "$(postqueue -c "$work/pf/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && [ "$(pf_delivered)" -ge 12 ] && break
  sleep 0.2
done
[ "$(pf_delivered)" -eq 12 ] && ok "relay hop done: 12 deliveries so far" ||
  bad "$(pf_delivered) deliveries before the harvest part (want 12): $(postqueue -c "$work/pf/etc" -p | head -5)"

# 4. Harvest. Removing the admin-added certificate makes carol unreachable.
ctl cert remove carol@b.example >"$work/out/cert-remove" 2>&1
grep -q '^removed 1 certificate(s) of carol@b.example' "$work/out/cert-remove" &&
  ok "smimectl cert remove carol@b.example" || bad "cert remove: $(cat "$work/out/cert-remove")"
state_owned "smimectl cert remove"
mkmsg removed-carol 'Carol <carol@b.example>'
send removed-carol "$PF_SUBMIT" 127.0.0.1 carol@b.example
expect_reply removed-carol carol@b.example 550 5.7.1 "No usable S/MIME certificate for carol@b.example"
# carol signs a message to dave; it arrives from outside and verifies.
mkmsg harvest-in 'Dave <dave@c.example>' 'Carol <carol@b.example>'
"$top/tests/interop/sign-openssl.sh" "$pki" carol "$work/msgs/harvest-in.eml" >"$work/msgs/harvest-in.signed"
mv "$work/msgs/harvest-in.signed" "$work/msgs/harvest-in.eml"
send harvest-in "$PF_PORT" 127.0.0.2 dave@c.example
expect_accepted harvest-in
# alice's signature, tampered (fail), and weak's (RSA 1024: policy).
mkmsg tampered-in 'Dave <dave@c.example>'
"$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/msgs/tampered-in.eml" >"$work/msgs/tampered-in.signed"
"$top/tests/interop/tamper.sh" "$work/msgs/tampered-in.signed" >"$work/msgs/tampered-in.eml"
send tampered-in "$PF_PORT" 127.0.0.2 dave@c.example
expect_accepted tampered-in
mkmsg weak-in 'Dave <dave@c.example>' 'Weak <weak@a.example>'
"$top/tests/interop/sign-openssl.sh" "$pki" weak "$work/msgs/weak-in.eml" >"$work/msgs/weak-in.signed"
mv "$work/msgs/weak-in.signed" "$work/msgs/weak-in.eml"
send weak-in "$PF_PORT" 127.0.0.2 dave@c.example
expect_accepted weak-in

ctl cert lookup carol@b.example >"$work/out/lookup-harvest" 2>&1
grep -q '^certificate: harvest serial 100D' "$work/out/lookup-harvest" &&
  ok "cert lookup carol@b.example after her signed mail: the harvested certificate" ||
  bad "cert lookup after harvest: $(tr '\n' ';' <"$work/out/lookup-harvest")"
ctl cert list carol@b.example >"$work/out/list-carol" 2>&1
[ "$(grep -c '^carol@b.example ' "$work/out/list-carol")" = 1 ] &&
  grep -q '^carol@b.example  *harvested  *100D ' "$work/out/list-carol" &&
  ok "cert list carol@b.example: one harvested row" ||
  bad "cert list carol@b.example: $(tr '\n' ';' <"$work/out/list-carol")"
state_owned "harvesting"
mkmsg enc-harvested 'Carol <carol@b.example>'
send enc-harvested "$PF_SUBMIT" 127.0.0.1 carol@b.example
expect_accepted enc-harvested
for a in alice weak; do
  ctl cert lookup "$a@a.example" >"$work/out/lookup-$a" 2>&1
  rc=$?
  [ "$rc" = 3 ] && ok "cert lookup $a@a.example after a $a-signed message that did not pass: none usable" ||
    bad "cert lookup $a@a.example: rc=$rc $(tr '\n' ';' <"$work/out/lookup-$a")"
  ctl cert list "$a@a.example" >"$work/out/list-$a" 2>&1
  [ "$(grep -c "^$a@a.example " "$work/out/list-$a")" = 0 ] &&
    ok "cert list $a@a.example: nothing stored" || bad "cert list $a@a.example: $(tr '\n' ';' <"$work/out/list-$a")"
done
mkmsg to-alice 'Alice <alice@a.example>'
send to-alice "$PF_SUBMIT" 127.0.0.1 alice@a.example
expect_accepted to-alice

# 5. Deliveries: 8 to carol, 6 to dave, 3 to alice (one a bounce).
want_total=17
pf_wait_delivered "$want_total" 60 || bad "only $(pf_delivered) of $want_total deliveries"
for _ in $(seq 100); do
  [ "$(postqueue -c "$work/pf/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && break
  sleep 0.2
done
sleep 1  # a duplicate or a late delivery would show up now
[ "$(postqueue -c "$work/pf/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && ok "queue empty" ||
  bad "mail left in the queue: $(postqueue -c "$work/pf/etc" -p | head -8)"
[ "$(pf_delivered)" -eq "$want_total" ] && ok "$want_total files delivered in all" ||
  bad "$(pf_delivered) files delivered (want $want_total)"

box() { echo "$work/pf/mail/$1/new"; }
in_box() {  # in_box MAILBOX NAME: the files of message NAME in MAILBOX
  grep -l "^Message-ID: <$2@a.example>" -r "$(box "$1")" 2>/dev/null
}
# body_lines NAME: the non-empty lines of the sent body.
body_lines() { sed '1,/^\r*$/d' "$work/msgs/$1.eml" | tr -d '\r' | grep -v '^$'; }

# encrypted MAILBOX NAME [plain]: exactly one copy, enveloped-data for carol
# only, decrypting to alice's verifying multipart/signed of the original
# body (with "plain": to the original text/plain message, not signed).
encrypted() {
  local n f d=$work/out/$2.${1//\//-}
  n=$(in_box "$1" "$2" | wc -l)
  [ "$n" -eq 1 ] || { bad "$2: $n copies in $1 (want 1, encrypted)"; return; }
  f=$(in_box "$1" "$2")
  if [[ $(top_header "$f" Content-Type) == application/pkcs7-mime*smime-type=enveloped-data* ]] &&
     [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ] &&
     [ "$(top_header "$f" Content-Transfer-Encoding)" = base64 ]; then
    ok "$2 -> $1: one copy, application/pkcs7-mime; smime-type=enveloped-data, base64"
  else
    bad "$2 -> $1: top-level Content-Type: $(top_header "$f" Content-Type)"
  fi
  if grep -qF -f <(body_lines "$2") "$f"; then
    bad "$2 -> $1: plaintext in the delivered file: $(grep -F -f <(body_lines "$2") "$f" | head -2)"
  else
    ok "$2 -> $1: no line of the plaintext body in the delivered file"
  fi
  if openssl cms -decrypt -recip "$pki/carol.crt" -inkey "$pki/carol.key" -in "$f" -out "$d.dec" \
      >"$d.err" 2>&1; then
    ok "$2 -> $1: openssl cms -decrypt with carol's key"
  else
    bad "$2 -> $1: openssl cms -decrypt: $(head -2 "$d.err")"; return
  fi
  if [ "${3:-}" = plain ]; then
    if [[ $(top_header "$d.dec" Content-Type) == text/plain* ]] &&
       [ "$(sed '1,/^\r*$/d' "$d.dec" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ]; then
      ok "$2 -> $1: decrypted content is the original text/plain body"
    else
      bad "$2 -> $1: decrypted content: $(top_header "$d.dec" Content-Type)"
    fi
    return
  fi
  if [[ $(top_header "$d.dec" Content-Type) == multipart/signed*application/pkcs7-signature* ]] &&
     openssl cms -verify -CAfile "$pki/root.crt" -in "$d.dec" -out "$d.content" \
       -signer "$d.signer" >"$d.err" 2>&1 &&
     cmp -s <(openssl x509 -in "$d.signer" -outform DER) <(openssl x509 -in "$pki/alice.crt" -outform DER) &&
     [ "$(sed '1,/^\r*$/d' "$d.content" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ]; then
    ok "$2 -> $1: decrypted multipart/signed verifies (signer alice), content is the original body"
  else
    bad "$2 -> $1: decrypted content: $(top_header "$d.dec" Content-Type); $(head -2 "$d.err")"
  fi
}
# cleartext MAILBOX NAME: exactly one copy, alice's verifying multipart/signed.
cleartext() {
  local n f d=$work/out/$2.${1//\//-}
  n=$(in_box "$1" "$2" | wc -l)
  [ "$n" -eq 1 ] || { bad "$2: $n copies in $1 (want 1, clear)"; return; }
  f=$(in_box "$1" "$2")
  if [[ $(top_header "$f" Content-Type) == multipart/signed*application/pkcs7-signature* ]] &&
     openssl cms -verify -CAfile "$pki/root.crt" -in "$f" -out "$d.content" >"$d.err" 2>&1 &&
     [ "$(sed '1,/^\r*$/d' "$d.content" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ]; then
    ok "$2 -> $1: one copy, clear multipart/signed, verifies, original body"
  else
    bad "$2 -> $1: $(top_header "$f" Content-Type); $(head -2 "$d.err")"
  fi
}
# inbound MAILBOX NAME VERDICT: exactly one copy with our verdict.
inbound() {
  local n f
  n=$(in_box "$1" "$2" | wc -l)
  [ "$n" -eq 1 ] || { bad "$2: $n copies in $1 (want 1)"; return; }
  f=$(in_box "$1" "$2")
  headers_of "$f" | tr -d '\r' | perl -0777 -pe 's/\n[ \t]+/ /g' |
    grep -q "^Authentication-Results: mx.test; *smime=$3" &&
    ok "$2 -> $1: one copy, smime=$3" ||
    bad "$2 -> $1: $(headers_of "$f" | grep -A1 '^Authentication-Results:')"
}
none() {  # none MAILBOX NAME
  local n
  n=$(in_box "$1" "$2" | wc -l)
  [ "$n" -eq 0 ] && ok "$2: nothing delivered to $1" || bad "$2: $n copies delivered to $1"
}

for m in enc-carol mixed-erin mixed-dave split-cd split-ac split-erin enc-harvested; do
  encrypted b/carol "$m"
done
encrypted b/carol enc-pickup plain  # inbound (pickup), encrypted all the same
none b/carol spelled
for m in clear-dave mixed-dave-first split-cd; do cleartext c/dave "$m"; done
for m in split-ac to-alice; do cleartext a/alice "$m"; done
none b/carol mixed-dave-first
none c/dave mixed-dave
for m in nocert-carol removed-carol; do none b/carol "$m"; done
none b/erin mixed-erin
none b/erin split-erin
none d/frank nocert-frank
inbound c/dave harvest-in pass
inbound c/dave tampered-in fail
inbound c/dave weak-in policy
# Whole mailboxes: carol only ever got enveloped-data, erin and frank nothing.
n=0 clear_n=0
for f in "$(box b/carol)"/*; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  [[ $(top_header "$f" Content-Type) == application/pkcs7-mime*enveloped-data* ]] || clear_n=$((clear_n + 1))
done
[ "$n" -eq 8 ] && [ "$clear_n" -eq 0 ] && ok "carol's mailbox: 8 messages, all enveloped-data" ||
  bad "carol's mailbox: $n messages, $clear_n not encrypted (want 8, 0)"
[ "$(ls "$(box c/dave)" | wc -l)" -eq 6 ] && ok "dave's mailbox: 6 messages" ||
  bad "dave's mailbox: $(ls "$(box c/dave)" | wc -l) messages (want 6)"
[ "$(ls "$(box a/alice)" | wc -l)" -eq 3 ] && ok "alice's mailbox: 3 messages" ||
  bad "alice's mailbox: $(ls "$(box a/alice)" | wc -l) messages (want 3)"
[ -z "$(ls -A "$(box b/erin)" 2>/dev/null)" ] && [ -z "$(ls -A "$(box d/frank)" 2>/dev/null)" ] &&
  ok "erin's and frank's mailboxes are empty" || bad "mail delivered to erin or frank"
# alice's bounce for erin quotes the RCPT reply.
bounce=$(grep -l '^Message-ID: <split-erin@a.example>' -r "$(box a/alice)" 2>/dev/null | head -1)
unfolded() { tr -d '\r' <"$1" | perl -0777 -pe 's/\n[ \t]+/ /g'; }
if [ -n "$bounce" ] && [ "$(grep -l '^Content-Type: multipart/report' "$(box a/alice)"/* | wc -l)" -eq 1 ] &&
   unfolded "$bounce" | grep -q '^Final-Recipient: rfc822; *erin@b.example' &&
   unfolded "$bounce" | grep -q '^Diagnostic-Code: smtp; 550 5.7.1 No usable S/MIME certificate for erin@b.example' &&
   ! unfolded "$bounce" | grep -q '^Final-Recipient: rfc822; *carol@b.example'; then
  ok "split-erin: alice got one bounce, for erin only, quoting 550 5.7.1"
else
  bad "split-erin: no bounce for erin in alice's mailbox ($(ls "$(box a/alice)" 2>/dev/null | wc -l) files)"
fi
# Postfix's smtp client was deferred with 452 4.5.3 and re-sent in a new transaction.
for pair in split-cd:dave@c.example split-ac:carol@b.example; do
  m=${pair%%:*} r=${pair#*:}
  q=$(grep -E "postfix/relay/smtpd\[[0-9]+\]: [0-9A-F]+: client=" "$work/pf/maillog" |
    sed -n 's/.*: \([0-9A-F]*\): client=.*/\1/p' | while read -r q; do
      grep -q " $q: message-id=<$m@a.example>" "$work/pf/maillog" && echo "$q"; done)
  if grep -q " $q: to=<$r>, relay=127.0.0.1\[127.0.0.1\]:$PF_HOP2, .*status=deferred .*452 4.5.3 Recipient needs" \
       "$work/pf/maillog" &&
     [ "$(grep -c " $q: to=<$r>, relay=127.0.0.1\[127.0.0.1\]:$PF_HOP2, .*status=sent" "$work/pf/maillog")" -eq 1 ]; then
    ok "$m: Postfix's smtp client deferred $r on 452 4.5.3 and sent it in a later transaction"
  else
    bad "$m: relay queue file ${q:-?}: $(grep " ${q:-none}: to=" "$work/pf/maillog" | sed 's/.*: to=/to=/' | tr '\n' ';')"
  fi
done

# Milter log: one outbound/verify line per milter transaction (queue ID of
# each message-id, without the relay hop's), a rcpt: line for every RCPT.
milter_qids() {  # milter_qids NAME
  sed -n "s/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<$1@a.example>.*/\1/p" \
    "$work/pf/maillog" | while read -r q; do
    grep -Eq "postfix/relay/smtpd\[[0-9]+\]: $q: client=" "$work/pf/maillog" || echo "$q"
  done
}
log_lines() {  # log_lines QID
  grep -E "smime-milter\[[0-9]+\]: (warning: |error: )?$1: (outbound|verify): " "$work/milter.log"
}
total_tx=0
expect_log() {  # expect_log NAME TRANSACTIONS REGEX...: one line per transaction, each REGEX in one
  local qids q lines all="" re n name=$1
  qids=$(milter_qids "$1")
  n=$(printf '%s\n' "$qids" | grep -c .)
  total_tx=$((total_tx + n))
  [ "$n" -eq "$2" ] || { bad "$1: $n milter transactions (want $2)"; return; }
  for q in $qids; do
    lines=$(log_lines "$q")
    [ "$(printf '%s' "$lines" | grep -c .)" -eq 1 ] || { bad "$1: queue ID $q has $(printf '%s' "$lines" | grep -c .) milter log lines"; return; }
    all+="$lines"$'\n'
  done
  shift 2
  for re in "$@"; do
    printf '%s' "$all" | grep -Eq "$re" || { bad "$name: no milter log line matches $re:"; printf '%s' "$all" | sed 's/^/    /'; return; }
  done
  ok "$name: one milter log line per transaction ($n): $(printf '%s' "$all" | sed 's/.*: \(outbound\|verify\): /\1: /' | cut -c1-170 | tr '\n' '|')"
}
ENC='action=signed, format=clear, digest=sha256, reencoded=[a-z0-9+-]+, encryption=aes256-cbc, recipients=1, encrypt_why=required, ms=[0-9]+$'
CLR='action=signed, format=clear, digest=sha256, reencoded=[a-z0-9+-]+, encryption=none, encrypt_why=clear, ms=[0-9]+$'
for m in enc-carol mixed-erin mixed-dave enc-harvested; do expect_log "$m" 1 "$ENC"; done
expect_log enc-pickup 1 'verify: from=<alice@a.example>, result=none, reencoded=[a-z0-9+-]+, encryption=aes256-cbc, recipients=1, encrypt_why=required, ms=[0-9]+$'
expect_log split-erin 1 "$ENC"
for m in clear-dave mixed-dave-first to-alice; do expect_log "$m" 1 "$CLR"; done
for m in split-cd split-ac; do expect_log "$m" 2 "$ENC" "$CLR"; done
expect_log harvest-in 1 'verify: from=<carol@b.example>, chain=trusted, signer=<carol@b.example>, .*result=pass'
expect_log tampered-in 1 'verify: from=<alice@a.example>, .*result=fail'
expect_log weak-in 1 'verify: from=<weak@a.example>, .*result=policy'
n=$(grep -Ec ': (outbound|verify): ' "$work/milter.log")
[ "$n" -eq "$total_tx" ] && ok "$total_tx milter transactions, $n outbound/verify log lines" ||
  bad "$n outbound/verify log lines for $total_tx milter transactions"
rcpt_line() {  # rcpt_line RCPT ACTION COUNT
  local n
  n=$(grep -Fc ": rcpt: to=<$1>, $2" "$work/milter.log")
  [ "$n" -eq "$3" ] && ok "$3 rcpt: line(s) for $1 with $2" ||
    bad "$n rcpt: lines for $1 with $2 (want $3): $(grep -F ": rcpt: to=<$1>" "$work/milter.log" | tr '\n' ';')"
}
R='domain=b.example, encrypt=required, cert=none, cert_why=not-found, action=reject'
rcpt_line carol@b.example "$R" 2                       # nocert-carol, removed-carol
rcpt_line frank@d.example 'domain=d.example, encrypt=required, cert=none, cert_why=not-found, action=tempfail' 1
rcpt_line erin@b.example "$R" 2                        # mixed-erin, split-erin
rcpt_line dave@c.example 'domain=c.example, encrypt=never, action=defer-separate-transaction' 2 # mixed-dave, split-cd
rcpt_line carol@b.example 'domain=b.example, encrypt=required, cert=local, serial=100D, action=defer-separate-transaction' 2 # mixed-dave-first, split-ac
rcpt_line 'carol@b.example\x20\x28x\x29' 'syntax=whitespace, action=reject' 1
rcpt_line 'carol@\x20b.example' 'syntax=whitespace, action=reject' 1
rcpt_line 'carol@\x28x\x29b.example' 'syntax=comment, action=reject' 1
# A-label and U-label (SMTPUTF8) spellings: logged in the one A-label form.
rcpt_line nobody@xn--bcher-kva.example 'domain=xn--bcher-kva.example, encrypt=required, cert=none, cert_why=not-found, action=reject' 2
n=$(grep ': rcpt: ' "$work/milter.log" | grep -vc 'action=accept$')
[ "$n" -eq 14 ] && ok "14 refusing rcpt: lines for 14 refused RCPTs" || bad "$n refusing rcpt: lines (want 14)"
# Every RCPT that reached the milter has its line: the accepted ones too,
# the pickup submission's included.
q=$(milter_qids enc-pickup)
grep -q "$q: rcpt: to=<carol@b.example>, domain=b.example, encrypt=required, cert=local, serial=100D, action=accept" \
  "$work/milter.log" && ok "enc-pickup: rcpt: line for the accepted recipient" ||
  bad "enc-pickup: no rcpt: line for queue ID $q"
grep -Eq 'panic:|fatal:|error:' "$work/milter.log" && bad "panic, fatal or error in milter log: $(grep -E 'panic:|fatal:|error:' "$work/milter.log" | head -3)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
