#!/usr/bin/env bash
# run-postfix-dane.sh: DANE SMIMEA end to end: mail through a throwaway
# Postfix on 127.0.0.1 with the real smime-milter (user nobody) to a domain
# with encrypt = required and smimea = yes, whose users publish SMIMEA
# records in a DNSSEC-signed zone (tests/dane/dane-lib.sh: ldns-signzone,
# a private nsd, the test's own trust anchor; dns_resolver points at it).
# - alice@dane.example (DANE-EE record of the PKI's selfsigned certificate,
#   no CA): accepted, delivered only as application/pkcs7-mime that
#   `openssl cms -decrypt` with selfsigned.key opens to the original text;
#   no body line in clear in the delivered file.
# - mal@dane.example (record changed after signing: bogus): 550 5.7.1 at
#   RCPT, and the milter's rcpt: log line gives the bogus reason.
# - nsd stopped: RCPT to another dane.example user gets 451 4.7.1
#   (certificate directory unavailable), never clear text.
# Needs root, Postfix, swaks, nsd and ldnsutils (fails in strict mode
# without them; contrib/install-deps.sh installs them).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
# shellcheck source=../dane/dane-lib.sh
. "$(dirname "$0")/../dane/dane-lib.sh"
e2e_require Postfix postfix swaks openssl
dane_require
e2e_init policies out
trap 'stop_all; stop_nsd; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
dane_zones || exit 99
start_nsd || exit 99

printf 'encrypt = required\nsmimea = yes\n' >"$work/policies/dane.example.conf"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
  "policy_dir = $work/policies" "dns_resolver = 127.0.0.1@$DANE_PORT" \
  "dnssec_trust_anchor = $work/anchor.key" "dns_timeout = 5"
start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
printf 'alice@dane.example dane/alice/\nbob@dane.example dane/bob/\nmal@dane.example dane/mal/\n' \
  >"$work/pf/etc/vmailbox"
postconf -c "$work/pf/etc" -e "virtual_mailbox_domains = dane.example"
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

mkmsg() {  # mkmsg NAME RCPT
  {
    printf 'From: Alice <alice@a.example>\nTo: <%s>\nSubject: dane test\n' "$2"
    printf 'Date: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
    printf 'Confidential DANE note %s.\n' "$1"
  } >"$work/msgs/$1.eml"
}
send() {  # send NAME RCPT: swaks to the submission port, output in out/NAME.swaks
  mkmsg "$1" "$2"
  swaks --server "127.0.0.1:$PF_SUBMIT" --from alice@a.example --to "$2" \
    --data "@$work/msgs/$1.eml" >"$work/out/$1.swaks" 2>&1
}
reply_is() {  # reply_is NAME CODE XCODE: the RCPT reply
  if grep -q "<\*\* *$2 $3" "$work/out/$1.swaks"; then ok "$1: RCPT got $2 $3"
  else bad "$1: expected $2 $3, swaks said: $(grep -E '<(\*\*|~\*|-) ' "$work/out/$1.swaks" | tail -3)"; fi
}

# 1. A valid DANE-EE record: encrypted to it, decrypts with the recipient's key.
send enc alice@dane.example
if grep -Eq '^ *<- *250 .*queued as' "$work/out/enc.swaks"; then ok "enc: accepted"
else bad "enc: not accepted: $(grep -E '<(\*\*|~\*) ' "$work/out/enc.swaks" | tail -2)"; fi
if pf_wait_delivered 1 60; then ok "enc: delivered"; else bad "enc: not delivered"; fi
f=$(find "$work/pf/mail/dane/alice" -path '*/new/*' -type f | head -1)
if [ -n "$f" ] && grep -qi '^Content-Type: application/pkcs7-mime' "$f" &&
   ! grep -q 'Confidential DANE note' "$f"; then
  ok "enc: delivered as application/pkcs7-mime, nothing in clear"
else bad "enc: delivered file not encrypted: ${f:-none}"; fi
if [ -n "$f" ] && openssl cms -decrypt -in "$f" -recip "$pki/selfsigned.crt" \
     -inkey "$pki/selfsigned.key" -out "$work/out/enc.dec" 2>"$work/out/enc.err" &&
   grep -q 'Confidential DANE note enc' "$work/out/enc.dec"; then
  ok "enc: selfsigned.key (the DANE record's certificate) decrypts it"
else bad "enc: decrypt failed: $(cat "$work/out/enc.err" 2>/dev/null)"; fi

# 2. A bogus answer: never used; the RCPT is refused with the reason logged.
send bogus mal@dane.example
reply_is bogus 550 5.7.1
if grep -q 'rcpt.*mal@dane.example.*bogus DNSSEC answer' "$work/milter.log"; then
  ok "bogus: the milter log gives the bogus reason"
else bad "bogus: no bogus reason in the log:"; grep 'mal@dane' "$work/milter.log" | sed 's/^/    /'; fi

# 3. DNS down: 451, never clear.
stop_nsd
send down bob@dane.example
reply_is down 451 4.7.1
sleep 1
if [ -z "$(find "$work/pf/mail/dane/bob" -type f 2>/dev/null)" ]; then ok "down: nothing delivered to bob"
else bad "down: something delivered to bob"; fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
