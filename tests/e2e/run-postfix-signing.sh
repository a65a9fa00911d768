#!/usr/bin/env bash
# run-postfix-signing.sh: outbound signing end to end through a throwaway
# Postfix on 127.0.0.1 with the real smime-milter. The client address decides
# the path: 127.0.0.1 is in internal_hosts and signing_relays (so it
# may sign), 127.0.0.2 is an outside client. Checked on the delivered files:
# - sign = clear: mail from alice@a.example (submission service ORIGINATING,
#   the MTA port from the internal host, the sendmail command) arrives as
#   multipart/signed, `openssl cms -verify` against the test root succeeds,
#   the verified content is the original and smimectl gives verdict pass;
#   this for plain ASCII, no MIME fields, an 8-bit UTF-8 body (re-encoded
#   to quoted-printable, checked decoded), mostly-CJK UTF-8, a folded
#   multipart/mixed with an 8-bit part and an attachment, and 2.5 MB;
# - an SMTP AUTH login (XCLIENT LOGIN) mapped in signing_users signs as its
#   own address (bob, P-256) and is refused (451 4.7.1) for another;
# - mail the client signed already passes untouched; sign = if-possible
#   without an identity passes unsigned;
# - sign = opaque (policy file a.example.conf, loaded by SIGUSR1 reload as
#   the service user) arrives as application/pkcs7-mime and verifies;
# - From: without an identity: 451 4.7.0, nothing delivered, error log line
#   with reason=no-identity;
# - mail from outside with From: alice@a.example is never signed: delivered
#   unchanged apart from our Authentication-Results header;
# - a client that may not sign (outside client on the ORIGINATING service;
#   after a reload with empty signing_relays, the internal host too):
#   451 4.7.1, nothing delivered;
# - exactly one milter log line per message, with action=signed or the
#   reason.
# Needs root and Postfix (skips otherwise; CI has both).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix swaks openssl perl
e2e_init keys policies out

# The milter reads the keys as root at start-up and as nobody on reload.
nobody_keys alice bob
cat >"$work/identities" <<EOF
alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem
bob@a.example $pki/bob.crt $work/keys/bob.key chain=$pki/bob.chain.pem
EOF
echo "bob bob@a.example" >"$work/signing-users"
milter_conf() {  # milter_conf [EXTRA LINES...]
  write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
    "user = nobody" "state_dir = $work/state" "internal_hosts = 127.0.0.1/32" \
    "sign = clear" "signing_identities = $work/identities" "signing_users = $work/signing-users" \
    "policy_dir = $work/policies" "$@"
}
milter_conf "signing_relays = 127.0.0.1/32"
cp "$work/milter.conf" "$work/process.conf"  # the same signing setup, for smimectl process
write_config "$work/verify.conf"

trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

echo "sign = if-possible" >"$work/policies/b.example.conf"
start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
# XCLIENT from loopback stands in for SMTP AUTH (it sets the SASL login).
postconf -c "$work/pf/etc" -e "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

# Mostly Latin text: the milter re-encodes it as quoted-printable. Mostly
# CJK text: GMime may pick base64 (smime_writer.h: "quoted-printable or
# base64 per part"). No backslashes or % (swaks expands those).
UTF8_TEXT='Grüße aus Köln,

ça va? Umlaute äöü ÄÖÜ ß, naïve café, 100 € and an = sign.
A line with a trailing space 
A long line: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua, grüß Gott.
.
From the start of a line.
Last line.
'
CJK_TEXT="$(printf '日本語のテキストです。%.0s' $(seq 12))
最後の行。
"
printf '%s' "$UTF8_TEXT" >"$work/utf8.txt"
printf '%s' "$CJK_TEXT" >"$work/cjk.txt"
head -c 3000 /dev/urandom >"$work/attachment.bin"
# 2.5 MB: spooled to disk (spool_memory_limit 1M), body replaced in many chunks.
head -c 1900000 /dev/urandom | base64 -w 76 >"$work/large.txt"
mkmsg() {  # mkmsg NAME FROM KIND: KIND ascii, large (2.5 MB ASCII), utf8 or cjk (8bit),
           # bare (no MIME fields) or mixed (folded multipart/mixed: 8-bit text
           # and a base64 attachment)
  {
    printf 'From: %s\nTo: Dave <dave@b.example>\nSubject: signing test %s\n' "$2" "$1"
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    case $3 in
      large) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
             cat "$work/large.txt" ;;
      ascii) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
             printf 'Hello Dave,\n\nthis is message %s.\n' "$1" ;;
      utf8|cjk) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
                printf 'Content-Transfer-Encoding: 8bit\n\n'
                cat "$work/$3.txt" ;;
      bare) printf '\nHello Dave,\n\nmessage %s has no MIME header fields.\n' "$1" ;;
      mixed) printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed;\n\tboundary="b1"\n\n'
             printf 'preamble\n\n--b1\nContent-Type: text/plain; charset=utf-8\n'
             printf 'Content-Transfer-Encoding: 8bit\n\n'
             cat "$work/utf8.txt"
             printf -- '--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n'
             printf 'Content-Disposition: attachment; filename="data.bin"\n\n'
             base64 -w 76 "$work/attachment.bin"
             printf -- '--b1--\n' ;;
    esac
  } >"$work/msgs/$1.eml"
}
send() {  # send NAME PORT SOURCE-ADDRESS [SWAKS ARGS...]: output in out/NAME.swaks
  local name=$1 port=$2 src=$3 from
  shift 3
  from=$(sed -n 's/^From: .*<\(.*\)>.*/\1/p; s/^From: \([^<]*@[^ ]*\)$/\1/p' "$work/msgs/$name.eml" | head -1)
  # swaks ends the data with CRLF itself: without the file's last newline
  # the server gets exactly the file.
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$name.eml" >"$work/msgs/$name.swaks"
  swaks --server "127.0.0.1:$port" --local-interface "$src" --from "$from" --to dave@b.example \
    --data "@$work/msgs/$name.swaks" "$@" >"$work/out/$name.swaks" 2>&1
  echo $? >"$work/out/$name.rc"
}

# Accepted (signed or passed on).
mkmsg clear-submit 'Alice <alice@a.example>' ascii; send clear-submit "$PF_SUBMIT" 127.0.0.1
mkmsg clear-utf8 'Alice <alice@a.example>' utf8; send clear-utf8 "$PF_SUBMIT" 127.0.0.1
mkmsg clear-mta-internal 'alice@a.example' bare; send clear-mta-internal "$PF_PORT" 127.0.0.1
mkmsg clear-mixed 'Alice <alice@a.example>' mixed; send clear-mixed "$PF_SUBMIT" 127.0.0.1
mkmsg clear-large 'Alice <alice@a.example>' large; send clear-large "$PF_SUBMIT" 127.0.0.1
mkmsg clear-pickup 'Alice <alice@a.example>' cjk
sendmail -C "$work/pf/etc" -f alice@a.example dave@b.example <"$work/msgs/clear-pickup.eml"
# Signed by the client already (openssl, as alice): passed on untouched.
mkdir -p "$work/e2e"
e2e_messages "$work/e2e"
sed -e 's/^Message-ID: .*/Message-ID: <already-signed@a.example>\r/' -e '/^Received:/d' "$work/e2e/signed.eml" \
  >"$work/msgs/already-signed.eml"
send already-signed "$PF_SUBMIT" 127.0.0.1
# sign = if-possible for b.example: no identity for carol, passed on unsigned.
mkmsg if-possible 'Carol <carol@b.example>' ascii; send if-possible "$PF_SUBMIT" 127.0.0.1
mkmsg clear-login 'Bob <bob@a.example>' ascii
send clear-login "$PF_SUBMIT" 127.0.0.2 --xclient "LOGIN=bob"
mkmsg inbound 'Alice <alice@a.example>' utf8; send inbound "$PF_PORT" 127.0.0.2
# Refused.
mkmsg no-identity 'Erin <erin@a.example>' ascii; send no-identity "$PF_SUBMIT" 127.0.0.1
mkmsg unauth-outside 'Alice <alice@a.example>' ascii; send unauth-outside "$PF_SUBMIT" 127.0.0.2
mkmsg unauth-login 'Alice <alice@a.example>' ascii
send unauth-login "$PF_SUBMIT" 127.0.0.2 --xclient "LOGIN=bob"

# Opaque for a.example through a policy file.
echo "sign = opaque" >"$work/policies/a.example.conf"
reload_milter "sign = opaque for a.example"
mkmsg opaque-submit 'Alice <alice@a.example>' ascii; send opaque-submit "$PF_SUBMIT" 127.0.0.1
mkmsg opaque-utf8 'Alice <alice@a.example>' utf8; send opaque-utf8 "$PF_SUBMIT" 127.0.0.1
# The internal host loses its right to sign.
rm "$work/policies/a.example.conf"
milter_conf "signing_relays ="
reload_milter "signing_relays ="
mkmsg unauth-internal 'Alice <alice@a.example>' ascii; send unauth-internal "$PF_SUBMIT" 127.0.0.1

accepted="clear-submit clear-utf8 clear-mta-internal clear-mixed clear-large clear-pickup clear-login
  already-signed if-possible inbound opaque-submit opaque-utf8"
pf_wait_delivered 12 30 || bad "only $(pf_delivered) of 12 messages delivered"
sleep 1  # a refused message that was delivered after all would show up now

delivered() { grep -l "^Message-ID: <$1@a.example>" -r "$work/pf/mail" | head -1; }
for m in $accepted; do
  rc=$(cat "$work/out/$m.rc" 2>/dev/null || echo 0)
  [ "$rc" = 0 ] || bad "$m: swaks rc=$rc: $(grep '<\*\*' "$work/out/$m.swaks" | head -2)"
done

# verified NAME FILE: openssl and smimectl accept the delivered file; the
# signed content lands in out/NAME.content.
verified() {
  local v
  if openssl cms -verify -CAfile "$pki/root.crt" -in "$2" -out "$work/out/$1.content" \
      >"$work/out/$1.openssl" 2>&1; then
    ok "$1: openssl cms -verify succeeds on the delivered file"
  else
    bad "$1: openssl cms -verify: $(head -3 "$work/out/$1.openssl")"
  fi
  v=$(verdict_of "$work/verify.conf" "$2")
  [ "${v%% *}" = pass ] && ok "$1: smimectl process --inbound: verdict pass" ||
    bad "$1: smimectl verdict: $v"
}
# decoded_text_ok NAME TEXT-FILE ENCODINGS: the verified content is UTF-8
# text in one of ENCODINGS (a regex) that decodes to the original body.
decoded_text_ok() {
  local c=$work/out/$1.content cte
  cte=$(top_header "$c" Content-Transfer-Encoding | tr 'A-Z' 'a-z')
  if [[ $cte =~ ^($3)$ ]] &&
     headers_of "$c" | grep -qi '^Content-Type: *text/plain; *charset="\?utf-8' &&
     body_of "$c" | tr -d '\r' | CTE=$cte perl -MMIME::QuotedPrint -MMIME::Base64 -0777 -ne \
       'print $ENV{CTE} eq "base64" ? decode_base64($_) : decode_qp($_)' | tr -d '\r' |
       cmp -s - "$2"; then
    ok "$1: signed part is $cte UTF-8 and decodes to the original text"
  else
    bad "$1: signed content is not the original text re-encoded ($cte):"; sed 's/^/    /' "$c" | head -20
  fi
}
eight_bit_free() { [ "$(LC_ALL=C tr -d '\000-\177' <"$1" | wc -c)" -eq 0 ]; }

for m in clear-submit clear-utf8 clear-mta-internal clear-mixed clear-large clear-pickup clear-login; do
  f=$(delivered "$m")
  [ -n "$f" ] || { bad "$m: not delivered"; continue; }
  ct=$(top_header "$f" Content-Type)
  n_ct=$(headers_of "$f" | grep -ci '^Content-Type:')
  if [[ $ct == multipart/signed*protocol=\"application/pkcs7-signature\"*micalg=sha-256* ]] &&
     [ "$n_ct" -eq 1 ] && ! headers_of "$f" | grep -qi '^Content-Transfer-Encoding:'; then
    ok "$m: arrives as multipart/signed (one Content-Type, old Content-* fields moved inside)"
  else
    bad "$m: top-level Content-Type ($n_ct): $ct"
  fi
  verified "$m" "$f"
done
# `smimectl process --outbound` shows exactly what the milter had Postfix
# send: the same signed entity byte for byte and the same header changes
# (only the random boundary and the signature's randomness differ).
for m in clear-utf8 clear-mixed clear-mta-internal; do
  f=$(delivered "$m")
  [ -n "$f" ] || continue
  "$SMIMECTL" -c "$work/process.conf" process --outbound --client-ip 127.0.0.1 \
    --rcpt dave@b.example "$work/msgs/$m.eml" >"$work/out/$m.process" 2>/dev/null
  openssl cms -verify -CAfile "$pki/root.crt" -in "$work/out/$m.process" \
    -out "$work/out/$m.process.content" >/dev/null 2>&1
  norm() {  # unfolded header without trace fields and the boundary value
    headers_of "$1" | tr -d '\r' |
      awk '/^[ \t]/ { l = l " " $0; next } { if (l != "") print l; l = $0 } END { print l }' |
      grep -v -i -e '^Received:' -e '^Return-Path:' -e '^Delivered-To:' -e '^X-Original-To:' |
      sed 's/boundary=.*//'
  }
  if cmp -s "$work/out/$m.content" "$work/out/$m.process.content" &&
     diff <(norm "$work/out/$m.process") <(norm "$f") >"$work/out/$m.hdiff"; then
    ok "$m: smimectl process --outbound produces the same signed entity and headers as the milter"
  else
    bad "$m: smimectl process output differs from what the milter sent:"; sed 's/^/    /' "$work/out/$m.hdiff" | head
  fi
done
for m in clear-utf8 clear-pickup; do
  f=$(delivered "$m")
  [ -n "$f" ] || continue
  if [ "$m" = clear-utf8 ]; then decoded_text_ok "$m" "$work/utf8.txt" quoted-printable
  else decoded_text_ok "$m" "$work/cjk.txt" 'quoted-printable|base64'; fi
  eight_bit_free "$f" && ok "$m: delivered message is 7-bit" || bad "$m: 8-bit bytes in the delivered message"
done
f=$(delivered clear-mta-internal)
[ -n "$f" ] && headers_of "$work/out/clear-mta-internal.content" | tr -d '\r' |
  grep -qx 'Content-Type: text/plain; charset=us-ascii' &&
  ok "clear-mta-internal: a message without MIME fields is signed as text/plain; charset=us-ascii" ||
  bad "clear-mta-internal: signed part header: $(headers_of "$work/out/clear-mta-internal.content" 2>/dev/null | head -3)"
# The multipart message keeps its structure; each part decodes to the original.
if [ -n "$(delivered clear-mixed)" ]; then
  awk -v d="$work/out/mixed-part" '/^--b1(--)?\r?$/ { n++; next } n { print > (d n) }' \
    "$work/out/clear-mixed.content"
  if [[ $(top_header "$work/out/clear-mixed.content" Content-Type) == multipart/mixed*boundary=*b1* ]] &&
     [ -f "$work/out/mixed-part2" ] && [ ! -f "$work/out/mixed-part4" ] &&
     [ "$(top_header "$work/out/mixed-part1" Content-Transfer-Encoding)" = quoted-printable ] &&
     [ "$(body_of "$work/out/mixed-part1" | tr -d '\r' | perl -MMIME::QuotedPrint -0777 -ne 'print decode_qp($_)')" = \
       "$(cat "$work/utf8.txt")" ] &&
     body_of "$work/out/mixed-part2" | tr -d '\r' | base64 -d | cmp -s - "$work/attachment.bin"; then
    ok "clear-mixed: multipart/mixed signed with its 8-bit part quoted-printable, both parts intact"
  else
    bad "clear-mixed: signed content:"; sed 's/^/    /' "$work/out/clear-mixed.content" | head -30
  fi
fi
[ -n "$(delivered clear-large)" ] && body_of "$work/out/clear-large.content" | tr -d '\r' |
  cmp -s - "$work/large.txt" && ok "clear-large: 2.5 MB body signed byte for byte" ||
  bad "clear-large: signed content differs from the sent body"
f=$(delivered clear-login)
[ -n "$f" ] && openssl cms -verify -CAfile "$pki/root.crt" -in "$f" -signer "$work/out/bob.signer" \
  -out /dev/null >/dev/null 2>&1 && cmp -s <(openssl x509 -in "$work/out/bob.signer" -outform DER) \
  <(openssl x509 -in "$pki/bob.crt" -outform DER) && ok "clear-login: signed with bob's certificate" ||
  bad "clear-login: not signed by bob"

for m in opaque-submit opaque-utf8; do
  f=$(delivered "$m")
  [ -n "$f" ] || { bad "$m: not delivered"; continue; }
  ct=$(top_header "$f" Content-Type)
  if [[ $ct == application/pkcs7-mime*smime-type=signed-data* ]] &&
     [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ] &&
     [ "$(top_header "$f" Content-Transfer-Encoding)" = base64 ]; then
    ok "$m: arrives as application/pkcs7-mime; smime-type=signed-data, base64"
  else
    bad "$m: top-level Content-Type: $ct"
  fi
  verified "$m" "$f"
done
[ -n "$(delivered opaque-utf8)" ] && decoded_text_ok opaque-utf8 "$work/utf8.txt" quoted-printable
grep -q 'this is message opaque-submit\.' "$work/out/opaque-submit.content" 2>/dev/null &&
  ok "opaque-submit: the signed content is the original text" || bad "opaque-submit: content lost"

# unchanged NAME [OUR-AR]: the delivered file is the sent one plus Postfix's
# trace fields (and, with OUR-AR, exactly one Authentication-Results of ours).
unchanged() {
  local f ar=0
  f=$(delivered "$1")
  [ -n "$f" ] || return 1
  { headers_of "$f" | tr -d '\r' | awk '
      /^(Return-Path|X-Original-To|Delivered-To|Received|Authentication-Results):/ { skip = 1; next }
      /^[ \t]/ && skip { next } { skip = 0; print }'
    body_of "$f" | tr -d '\r'; } >"$work/out/$1.stripped"
  [ -n "${2:-}" ] && ar=1
  [ "$(headers_of "$f" | grep -c '^Authentication-Results:')" -eq "$ar" ] || return 1
  [ "$ar" -eq 0 ] || headers_of "$f" | grep -q '^Authentication-Results: mx.test;' || return 1
  tr -d '\r' <"$work/msgs/$1.eml" | cmp -s - "$work/out/$1.stripped"
}
unchanged inbound our-ar &&
  ok "inbound From: alice@a.example: not signed, unchanged apart from our Authentication-Results" ||
  { bad "inbound: delivered differs from sent:"; diff "$work/out/inbound.stripped" "$work/msgs/inbound.eml" | head -20; }
unchanged already-signed && ok "already-signed: passed on untouched (no second signature)" ||
  bad "already-signed: changed or not delivered"
[ -n "$(delivered already-signed)" ] && verified already-signed "$(delivered already-signed)"
unchanged if-possible && ok "if-possible: From: without identity passed on unsigned and untouched" ||
  bad "if-possible: changed or not delivered"

# Refused: the SMTP client saw the reply, nothing was delivered.
expect_refusal() {  # expect_refusal NAME CODE XCODE TEXT
  if grep -q "<\*\* *$2 $3 $4" "$work/out/$1.swaks"; then
    ok "$1: SMTP client got $2 $3 $4..."
  else
    bad "$1: expected $2 $3, swaks said: $(grep -E '<(\*\*|~\*|-) ' "$work/out/$1.swaks" | tail -3)"
  fi
  [ -z "$(delivered "$1")" ] && ok "$1: nothing delivered" || bad "$1: delivered anyway"
}
expect_refusal no-identity 451 4.7.0 "No S/MIME signing identity for erin@a.example"
expect_refusal unauth-outside 451 4.7.1 "this client may not send signed mail as alice@a.example"
expect_refusal unauth-login 451 4.7.1 "login bob may not send signed mail as alice@a.example"
expect_refusal unauth-internal 451 4.7.1 "this client may not send signed mail as alice@a.example"
[ "$(postqueue -c "$work/pf/etc" -j 2>/dev/null | grep -c .)" -eq 0 ] && ok "queue empty" ||
  bad "mail left in the queue: $(postqueue -c "$work/pf/etc" -p | head -5)"

# One milter log line per message, found by its Postfix queue ID.
qid_of() { sed -n "s/.* \([0-9A-F]*\): message-id=<$1@a.example>.*/\1/p" "$work/pf/maillog" | head -1; }
log_lines() {  # log_lines NAME: the milter's lines for the message
  local q
  q=$(qid_of "$1")
  # One decision line per message; the per-RCPT lines are checked elsewhere.
  [ -n "$q" ] && grep -E "smime-milter\[[0-9]+\]: (warning: |error: )?$q: " "$work/milter.log" |
    grep -v ": rcpt: "
}
expect_log() {  # expect_log NAME EVENT REGEX
  local lines n
  lines=$(log_lines "$1")
  n=$(printf '%s' "$lines" | grep -c .)
  if [ "$n" -eq 1 ] && printf '%s' "$lines" | grep -Eq ": $2: .*$3"; then
    ok "$1: one milter log line: $(printf '%s' "$lines" | sed 's/.*: \([a-z]*: \)/\1/' | cut -c1-150)"
  else
    bad "$1: $n log lines (want one $2 line matching $3):"; printf '%s\n' "$lines" | sed 's/^/    /'
  fi
}
expect_log clear-submit outbound "why=daemon_name, daemon_name=ORIGINATING, sign=clear, identity=alice@a.example, action=signed, format=clear, digest=sha256, reencoded=no, ms=[0-9]+$"
expect_log clear-utf8 outbound "identity=alice@a.example, action=signed, format=clear, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log clear-mixed outbound "action=signed, format=clear, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log clear-large outbound "action=signed, format=clear, digest=sha256, reencoded=no, ms=[0-9]+$"
expect_log clear-mta-internal outbound "why=internal_hosts, client=127.0.0.1, sign=clear, .*action=signed, format=clear"
expect_log clear-pickup outbound "action=signed, format=clear, .*reencoded=8bit-to-[a-z0-9+-]+"
expect_log clear-login outbound "from=<bob@a.example>, login=bob, .*identity=bob@a.example, action=signed, format=clear"
expect_log inbound verify "from=<alice@a.example>, result=none"
expect_log already-signed outbound "sign=clear, action=none, reason=already-signed, ms=[0-9]+$"
expect_log if-possible outbound "from=<carol@b.example>, .*sign=if-possible, action=unsigned, reason=no-identity, ms=[0-9]+$"
expect_log opaque-submit outbound "sign=opaque, identity=alice@a.example, action=signed, format=opaque"
expect_log opaque-utf8 outbound "action=signed, format=opaque, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log no-identity outbound "action=tempfail, reason=no-identity, ms=[0-9]+$"
expect_log unauth-outside outbound "action=tempfail, reason=sender-not-authorized, ms=[0-9]+$"
expect_log unauth-login outbound "login=bob, .*action=tempfail, reason=sender-not-authorized, ms=[0-9]+$"
expect_log unauth-internal outbound "action=tempfail, reason=sender-not-authorized, ms=[0-9]+$"
grep -q "error: $(qid_of no-identity): outbound: .*reason=no-identity" "$work/milter.log" &&
  ok "no-identity: logged as an error" || bad "no-identity: no error line with reason=no-identity"
n=$(grep -c ': outbound: \|: verify: ' "$work/milter.log")
[ "$n" -eq 16 ] && ok "16 messages, 16 milter log lines" || bad "$n milter log lines for 16 messages"
[ "$(grep -c 'action=signed' "$work/milter.log")" -eq 9 ] && ok "9 action=signed lines for 9 signed messages" ||
  bad "$(grep -c 'action=signed' "$work/milter.log") action=signed lines (want 9)"
grep -Eq 'panic:|fatal:' "$work/milter.log" && bad "panic or fatal in milter log"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
