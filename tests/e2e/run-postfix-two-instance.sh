#!/usr/bin/env bash
# run-postfix-two-instance.sh: the two-instance Postfix recipe of
# contrib/postfix/two-instance (docs/encryption.md, "Recipients the MTA
# rewrites") end to end: the milter judges recipients where they are final.
#
# Two completely separate throwaway Postfix instances on 127.0.0.1 (own
# config, queue and data directories, as postmulti would create):
# - instance 1 (the MX): every address rewrite, no milter.
#   recipient_canonical_maps alias@plain.example -> carol@b.example,
#   virtual_alias_maps team@plain.example -> carol@b.example, dave@c.example,
#   recipient_bcc_maps dave@c.example -> carol@b.example (an audit copy).
#   content_filter = smtp:[127.0.0.1]:PORT2 hands every message, with its
#   final recipients, to instance 2; the submission service hands it to
#   instance 2's ORIGINATING port instead, after a second, signing-only
#   smime-milter (no encryption policy; loopback as signing relay, since
#   the test client does not authenticate) signed it as alice.
# - instance 2: receive_override_options = no_address_mappings (nothing is
#   rewritten after the milter judged it), the milter on its smtpd services
#   (MX path inbound: verified, then encrypted; submission path outbound;
#   internal_hosts without loopback), the mailboxes. b.example has encrypt = required and carol's certificate in
#   the store; c.example no policy (clear).
# Asserted: every copy for carol (required domain) is application/pkcs7-mime
# enveloped-data that `openssl cms -decrypt` with carol's key turns into
# the original body (the submitted message: into alice's verifying
# multipart/signed of it), no line of the plaintext in the file; dave
# gets his copies in clear; each message reaches each final recipient
# exactly once; instance 1's smtp client takes the milter's 452 4.5.3 for
# the mixed virtual-alias expansion and sends the other recipient in a new
# transaction; the milter logs one accepting rcpt: line per final recipient
# and transaction, and never sees the addresses before rewriting.
# Negative control (why the recipe is needed): the same milter on a service
# of instance 1, i.e. before the rewriting, sees only alias@plain.example
# (no policy: accepted in clear) and carol receives that message in clear.
# Needs root, Postfix and swaks (skips otherwise; CI has them).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix swaks openssl perl
e2e_init policies out signstate
chown nobody "$work/signstate"
nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" \
  >"$work/identities"

echo "encrypt = required" >"$work/policies/b.example.conf"
# internal_hosts without loopback: on instance 2 every client is instance 1
# at 127.0.0.1, and the direction comes from the port (daemon name).
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "policy_dir = $work/policies" \
  "internal_hosts = 192.0.2.0/24"
# The signing-only milter of instance 1's submission service (no encrypt
# lines anywhere). The recipe uses signing_users with SMTP AUTH; the test
# client does not authenticate, so loopback is a signing relay here.
write_config "$work/sign.conf" "socket = unix:$work/sign.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/signstate" "sign = clear" \
  "signing_identities = $work/identities" "signing_relays = 127.0.0.1/32" \
  "internal_hosts = 192.0.2.0/24"
ctl() { "$SMIMECTL" -c "$work/milter.conf" "$@"; }

# Instance 2 first (instance 1 needs its port). pf_setup/pf_start work on
# one instance at a time: remember each one's variables.
pf_setup "$work/pf2" "$work/milter.sock" || exit 1
PF2_BASE=$PF_BASE PF2_PORT=$PF_PORT PF2_SUBMIT=$PF_SUBMIT
PF2_PLAIN=$(free_port)  # negative control only: a smtpd without the milter
cat >"$PF2_BASE/etc/vmailbox" <<EOF
carol@b.example b/carol/
dave@c.example c/dave/
EOF
postconf -c "$PF2_BASE/etc" -e "virtual_mailbox_domains = b.example, c.example" \
  "receive_override_options = no_address_mappings"
cat >>"$PF2_BASE/etc/master.cf" <<CF
127.0.0.1:$PF2_PLAIN inet n - n - - smtpd
  -o syslog_name=postfix/plain
  -o smtpd_milters=
CF
touch -d '-1 minute' "$PF2_BASE"/etc/*

pf_setup "$work/pf1" "$work/milter.sock" || exit 1
PF1_BASE=$PF_BASE PF1_PORT=$PF_PORT PF1_SUBMIT=$PF_SUBMIT
PF1_PREMILTER=$(free_port)  # negative control: the milter before rewriting
printf 'alias@plain.example carol@b.example\n' >"$PF1_BASE/etc/canonical"
printf 'team@plain.example carol@b.example, dave@c.example\n' >"$PF1_BASE/etc/virtual"
printf 'dave@c.example carol@b.example\n' >"$PF1_BASE/etc/bcc"
postconf -c "$PF1_BASE/etc" -e "smtpd_milters =" "non_smtpd_milters =" \
  "virtual_mailbox_domains =" "relay_domains = plain.example, b.example, c.example" \
  "recipient_canonical_maps = texthash:$PF1_BASE/etc/canonical" \
  "virtual_alias_maps = texthash:$PF1_BASE/etc/virtual" \
  "recipient_bcc_maps = texthash:$PF1_BASE/etc/bcc" \
  "content_filter = smtp:[127.0.0.1]:$PF2_PORT"
# Submission: the same rewriting, handed to instance 2's ORIGINATING port.
sed -i "/^127.0.0.1:$PF1_SUBMIT /a\\  -o smtpd_milters=unix:$work/sign.sock\\n  -o content_filter=smtp:[127.0.0.1]:$PF2_SUBMIT" \
  "$PF1_BASE/etc/master.cf"
cat >>"$PF1_BASE/etc/master.cf" <<CF
127.0.0.1:$PF1_PREMILTER inet n - n - - smtpd
  -o syslog_name=postfix/premilter
  -o smtpd_milters=unix:$work/milter.sock
  -o content_filter=smtp:[127.0.0.1]:$PF2_PLAIN
CF
touch -d '-1 minute' "$PF1_BASE"/etc/*
postfix -c "$PF1_BASE/etc" check >"$work/out/check1" 2>&1 || bad "instance 1: postfix check: $(cat "$work/out/check1")"

PF1_PID= PF2_PID= SIGN_PID=
stop_both() {
  PF_PID=$PF1_PID pf_stop
  PF_PID=$PF2_PID pf_stop
  stop_milter
  [ -n "$SIGN_PID" ] && kill -TERM "$SIGN_PID" 2>/dev/null && wait "$SIGN_PID" 2>/dev/null
}
trap 'stop_both; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

start_milter || exit 1
"$MILTER" -c "$work/sign.conf" -f -e >/dev/null 2>>"$work/sign.log" &
SIGN_PID=$!
for _ in $(seq 50); do [ -S "$work/sign.sock" ] && break; sleep 0.1; done
[ -S "$work/sign.sock" ] || { echo "signing milter did not start"; cat "$work/sign.log"; exit 1; }
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
ctl cert add "$work/carol-add.pem" >"$work/out/cert-add" 2>&1 &&
  ok "smimectl cert add carol: $(head -1 "$work/out/cert-add")" ||
  bad "smimectl cert add: $(cat "$work/out/cert-add")"
PF_BASE=$PF2_BASE PF_PORT=$PF2_PORT pf_start || exit 1
PF2_PID=$PF_PID
PF_BASE=$PF1_BASE PF_PORT=$PF1_PORT pf_start || exit 1
PF1_PID=$PF_PID

mkmsg() {  # mkmsg NAME TO-HEADER: every body line names the message
  {
    printf 'From: Alice <alice@a.example>\nTo: %s\nSubject: two instances\n' "$2"
    printf 'Date: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
    printf 'Confidential note %s, first line.\n\n' "$1"
    printf 'The quarterly numbers for %s stay between us.\n' "$1"
  } >"$work/msgs/$1.eml"
}
send() {  # send NAME PORT RCPTS
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$1.eml" >"$work/msgs/$1.swaks"
  swaks --server "127.0.0.1:$2" --from alice@a.example --to "$3" \
    --data "@$work/msgs/$1.swaks" >"$work/out/$1.swaks" 2>&1
  grep -Eq '^ *<- *250 .*queued as' "$work/out/$1.swaks" && ok "$1: accepted by instance 1" ||
    bad "$1: not accepted: $(grep -E '<(\*\*|~\*) ' "$work/out/$1.swaks" | tail -2)"
}

mkmsg canon 'Alias <alias@plain.example>'
send canon "$PF1_PORT" alias@plain.example
mkmsg virt 'Team <team@plain.example>'
send virt "$PF1_PORT" team@plain.example
mkmsg bcc 'Dave <dave@c.example>'
send bcc "$PF1_PORT" dave@c.example
mkmsg subcanon 'Alias <alias@plain.example>'
send subcanon "$PF1_SUBMIT" alias@plain.example
mkmsg premilter 'Alias <alias@plain.example>'
send premilter "$PF1_PREMILTER" alias@plain.example

# carol: canon, virt, bcc, subcanon, premilter; dave: virt, bcc.
want_total=7
PF_BASE=$PF2_BASE pf_wait_delivered "$want_total" 60 ||
  bad "only $(PF_BASE=$PF2_BASE pf_delivered) of $want_total deliveries"
for _ in $(seq 100); do
  [ "$(postqueue -c "$PF1_BASE/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] &&
    [ "$(postqueue -c "$PF2_BASE/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && break
  sleep 0.2
done
sleep 1  # a duplicate or a late delivery would show up now
[ "$(postqueue -c "$PF1_BASE/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] &&
  [ "$(postqueue -c "$PF2_BASE/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && ok "both queues empty" ||
  bad "mail left: $(postqueue -c "$PF1_BASE/etc" -p | head -5) $(postqueue -c "$PF2_BASE/etc" -p | head -5)"
n=$(PF_BASE=$PF2_BASE pf_delivered)
[ "$n" -eq "$want_total" ] && ok "$want_total files delivered in all" ||
  bad "$n files delivered (want $want_total)"

box() { echo "$PF2_BASE/mail/$1/new"; }
in_box() { grep -l "^Message-ID: <$2@a.example>" -r "$(box "$1")" 2>/dev/null; }
body_lines() { sed '1,/^\r*$/d' "$work/msgs/$1.eml" | tr -d '\r' | grep -v '^$'; }
copies() {  # copies MAILBOX NAME WANT
  local n
  n=$(in_box "$1" "$2" | wc -l)
  [ "$n" -eq "$3" ] && return 0
  bad "$2: $n copies in $1 (want $3)"
  return 1
}
# encrypted MAILBOX NAME [signed]: one copy, enveloped-data decrypting to
# the original (with "signed": to alice's verifying multipart/signed of it).
encrypted() {
  local f d=$work/out/$2.${1//\//-}
  copies "$1" "$2" 1 || return
  f=$(in_box "$1" "$2")
  [[ $(top_header "$f" Content-Type) == application/pkcs7-mime*smime-type=enveloped-data* ]] &&
    ok "$2 -> $1: application/pkcs7-mime; smime-type=enveloped-data" ||
    bad "$2 -> $1: IN CLEAR or unexpected: Content-Type: $(top_header "$f" Content-Type)"
  grep -qF -f <(body_lines "$2") "$f" &&
    bad "$2 -> $1: plaintext in the delivered file: $(grep -F -f <(body_lines "$2") "$f" | head -1)" ||
    ok "$2 -> $1: no line of the plaintext body in the delivered file"
  if ! openssl cms -decrypt -recip "$pki/carol.crt" -inkey "$pki/carol.key" -in "$f" -out "$d.dec" \
      >"$d.err" 2>&1; then
    bad "$2 -> $1: openssl cms -decrypt: $(head -2 "$d.err")"
    return
  fi
  if [ "${3:-}" = signed ]; then
    if [[ $(top_header "$d.dec" Content-Type) == multipart/signed*application/pkcs7-signature* ]] &&
       openssl cms -verify -CAfile "$pki/root.crt" -in "$d.dec" -out "$d.content" \
         -signer "$d.signer" >"$d.err" 2>&1 &&
       cmp -s <(openssl x509 -in "$d.signer" -outform DER) <(openssl x509 -in "$pki/alice.crt" -outform DER) &&
       [ "$(sed '1,/^\r*$/d' "$d.content" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ]; then
      ok "$2 -> $1: decrypts to a multipart/signed that verifies (signer alice), original body"
    else
      bad "$2 -> $1: decrypted: $(top_header "$d.dec" Content-Type); $(head -2 "$d.err")"
    fi
    return
  fi
  if [[ $(top_header "$d.dec" Content-Type) == text/plain* ]] &&
     [ "$(sed '1,/^\r*$/d' "$d.dec" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ]; then
    ok "$2 -> $1: decrypts with carol's key to the original body"
  else
    bad "$2 -> $1: decrypted: $(top_header "$d.dec" Content-Type)"
  fi
}
clear_copy() {  # clear_copy MAILBOX NAME: one copy, the original text/plain
  local f
  copies "$1" "$2" 1 || return
  f=$(in_box "$1" "$2")
  [[ $(top_header "$f" Content-Type) == text/plain* ]] &&
    [ "$(sed '1,/^\r*$/d' "$f" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$2")" ] &&
    ok "$2 -> $1: one copy, in clear" || bad "$2 -> $1: $(top_header "$f" Content-Type)"
}
for m in canon virt bcc; do encrypted b/carol "$m"; done
encrypted b/carol subcanon signed
for m in virt bcc; do clear_copy c/dave "$m"; done
copies c/dave canon 0 && ok "canon: nothing for dave"
# Negative control: the milter before rewriting let carol's copy go in clear.
clear_copy b/carol premilter
grep -Fq ": rcpt: to=<alias@plain.example>, domain=plain.example, encrypt=never, action=accept" \
  "$work/milter.log" &&
  ok "premilter: the milter before rewriting judged alias@plain.example (encrypt=never), not carol" ||
  bad "premilter: no rcpt: line for alias@plain.example: $(grep ': rcpt: ' "$work/milter.log" | tr '\n' ';')"

# Instance 1's smtp client got 452 4.5.3 for the second recipient of the
# virtual-alias expansion and sent it in a later transaction.
q=$(sed -n 's/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<virt@a.example>.*/\1/p' \
  "$PF1_BASE/maillog" | head -1)
if [ "$(grep -Ec " ${q:-none}: to=<(carol@b.example|dave@c.example)>, orig_to=<team@plain.example>, relay=127.0.0.1\[127.0.0.1\]:$PF2_PORT, .*status=deferred .*452 4.5.3" "$PF1_BASE/maillog")" -eq 1 ] &&
   [ "$(grep -Ec " ${q:-none}: to=<(carol@b.example|dave@c.example)>, orig_to=<team@plain.example>, relay=127.0.0.1\[127.0.0.1\]:$PF2_PORT, .*status=sent" "$PF1_BASE/maillog")" -eq 2 ]; then
  ok "virt: instance 1 deferred one expanded recipient on 452 4.5.3 and sent it later"
else
  bad "virt: instance 1 queue file ${q:-?}: $(grep " ${q:-none}: to=" "$PF1_BASE/maillog" | sed 's/.*: to=/to=/' | tr '\n' ';')"
fi

# Milter log: one accepting rcpt: line per final recipient of each message
# (the first accepted RCPT of a transaction is logged NOQUEUE: Postfix
# creates the queue file after it, so lines are counted, not matched by
# queue ID): carol in canon, virt and bcc; dave in virt and bcc, each after
# one defer-separate-transaction line; alias@plain.example only in the
# negative control.
rcpt_count() {  # rcpt_count RCPT ACTION WANT
  local n
  n=$(grep -Ec ": rcpt: to=<$1>, .*action=$2\$" "$work/milter.log")
  [ "$n" -eq "$3" ] && ok "$3 rcpt: line(s) for $1 with action=$2" ||
    bad "$n rcpt: lines for $1 with action=$2 (want $3): $(grep -F ": rcpt: to=<$1>" "$work/milter.log" | tr '\n' ';')"
}
rcpt_count carol@b.example accept 4
rcpt_count dave@c.example accept 2
rcpt_count dave@c.example defer-separate-transaction 2
n=$(grep -c ': rcpt: ' "$work/milter.log")
[ "$n" -eq 9 ] && ok "9 rcpt: lines in all (6 final recipients, 2 deferred, 1 negative control)" ||
  bad "$n rcpt: lines (want 9): $(grep ': rcpt: ' "$work/milter.log" | tr '\n' ';')"
grep -F ': rcpt: to=<carol@b.example>, domain=b.example, encrypt=required, cert=local, serial=100D, action=accept' \
  "$work/milter.log" >/dev/null && ok "carol's rcpt: lines name encrypt=required and her certificate" ||
  bad "no rcpt: line for carol with encrypt=required and cert=local, serial=100D"
n=$(grep -Ec ': rcpt: to=<team@plain.example>' "$work/milter.log")
[ "$n" -eq 0 ] && ok "the milter of instance 2 never saw an address before rewriting" ||
  bad "$n rcpt: lines for team@plain.example"
n=$(grep -Ec ': rcpt: to=<alias@plain.example>' "$work/milter.log")
[ "$n" -eq 1 ] && ok "alias@plain.example reached the milter only in the negative control" ||
  bad "$n rcpt: lines for alias@plain.example (want 1)"
# One milter transaction line per instance-2 queue file: carol's encrypted,
# dave's clear.
qids2() {
  sed -n "s/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<$1@a.example>.*/\1/p" \
    "$PF2_BASE/maillog"
}
for m in canon virt bcc subcanon; do
  for q in $(qids2 "$m"); do
    rcpt=$(grep " $q: to=<" "$PF2_BASE/maillog" | sed -n 's/.*: to=<\([^>]*\)>.*/\1/p' | sort -u)
    case $rcpt in
      carol@b.example) re='encryption=aes256-cbc, recipients=1, encrypt_why=required' ;;
      dave@c.example) re='encryption=none, encrypt_why=clear' ;;
      *) bad "$m: queue ID $q delivered to '$rcpt'"; continue ;;
    esac
    # The MX path is inbound (verified, then encrypted), submission outbound.
    dir=verify
    [ "$m" = subcanon ] && dir=outbound
    [ "$(grep -Ec ": $q: $dir: .*$re, ms=[0-9]+\$" "$work/milter.log")" -eq 1 ] &&
      ok "$m: queue ID $q ($rcpt): one milter $dir line, $re" ||
      bad "$m: queue ID $q ($rcpt): $(grep -E ": $q: (outbound|verify): " "$work/milter.log")"
  done
done
# The signing milter signed the submission message (and judged only the
# address before rewriting, without encryption).
grep -Eq ': outbound: from=<alice@a.example>, .*identity=alice@a.example, action=signed, format=clear, digest=sha256, reencoded=no, ms=[0-9]+$' \
  "$work/sign.log" && ok "subcanon: signed by the signing-only milter of instance 1" ||
  bad "subcanon: signing milter log: $(grep ': outbound: ' "$work/sign.log" | tr '\n' ';')"
grep -Eq 'panic:|fatal:|error:' "$work/milter.log" "$work/sign.log" &&
  bad "panic, fatal or error in a milter log: $(grep -E 'panic:|fatal:|error:' "$work/milter.log" "$work/sign.log" | head -3)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
