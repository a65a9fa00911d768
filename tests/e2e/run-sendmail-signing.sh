#!/usr/bin/env bash
# run-sendmail-signing.sh: outbound signing end to end through Sendmail 8.17
# (Debian's packages, unpacked privately) relaying to smtp-sink, with the
# real smime-milter over a local socket. 127.0.0.1 is in internal_hosts
# (and in signing_relays), 127.0.0.2 is an outside client. Checked on
# the relayed files:
# - sign = clear: mail from alice@a.example on the ORIGINATING daemon (ASCII;
#   an 8-bit UTF-8 body the milter re-encodes to quoted-printable; a folded
#   multipart/mixed with an 8-bit part and an attachment; 2.5 MB) arrives
#   as multipart/signed, `openssl cms -verify` against the test root
#   succeeds, the verified content is the original, smimectl says pass;
# - sign = opaque (policy file a.example.conf, SIGUSR1 reload as the service
#   user) arrives as application/pkcs7-mime and verifies;
# - From: without an identity: 451 4.7.0, nothing relayed, error log line
#   with reason=no-identity;
# - mail from outside with From: alice@a.example is not signed: relayed
#   unchanged apart from our Authentication-Results header;
# - an outside client on the ORIGINATING daemon may not sign: 451 4.7.1;
# - exactly one milter log line per message (action=signed or the reason).
# Needs root, apt-get download and Postfix's smtp-sink; skips otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Sendmail swaks smtp-sink m4 cc unshare openssl perl
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init keys policies out

# The milter reads the key as root at start-up and as nobody on reload.
nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" \
  >"$work/identities"
write_config "$work/milter.conf" "socket = local:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 127.0.0.1/32" \
  "signing_relays = 127.0.0.1/32" "sign = clear" "signing_identities = $work/identities" \
  "policy_dir = $work/policies"
write_config "$work/verify.conf"

trap 'sm_stop; stop_milter; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
sm_setup "$work/sm" "$work/milter.sock"
sm_start || exit 1

# Mostly Latin text: re-encoded as quoted-printable. No backslashes or %
# (swaks expands those).
printf '%s' 'Grüße aus Köln,

ça va? Umlaute äöü ÄÖÜ ß, naïve café, 100 € and an = sign.
A line with a trailing space 
A long line: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua, grüß Gott.
.
Last line.
' >"$work/utf8.txt"
# 2.5 MB: spooled to disk (spool_memory_limit 1M), body replaced in many chunks.
head -c 1900000 /dev/urandom | base64 -w 76 >"$work/large.txt"
head -c 3000 /dev/urandom >"$work/attachment.bin"
mkmsg() {  # mkmsg NAME FROM KIND: KIND ascii, large (2.5 MB ASCII), utf8 (8bit) or mixed
           # (folded multipart/mixed: 8-bit text and a base64 attachment)
  {
    printf 'From: %s\nTo: Carol <carol@b.example>\nSubject: signing test %s\n' "$2" "$1"
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    case $3 in
      large) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
             cat "$work/large.txt" ;;
      ascii) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
             printf 'Hello Carol,\n\nthis is message %s.\n' "$1" ;;
      utf8) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
            printf 'Content-Transfer-Encoding: 8bit\n\n'
            cat "$work/utf8.txt" ;;
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
send() {  # send NAME PORT SOURCE-ADDRESS: output in out/NAME.swaks
  local from
  from=$(sed -n 's/^From: .*<\(.*\)>.*/\1/p' "$work/msgs/$1.eml" | head -1)
  # swaks ends the data with CRLF itself: without the file's last newline
  # the server gets exactly the file.
  head -c -1 "$work/msgs/$1.eml" >"$work/msgs/$1.swaks"
  swaks --server "127.0.0.1:$2" --local-interface "$3" --from "$from" --to carol@b.example \
    --data "@$work/msgs/$1.swaks" >"$work/out/$1.swaks" 2>&1
  echo $? >"$work/out/$1.rc"
}

mkmsg clear-ascii 'Alice <alice@a.example>' ascii; send clear-ascii "$SM_SUBMIT" 127.0.0.1
mkmsg clear-utf8 'Alice <alice@a.example>' utf8; send clear-utf8 "$SM_SUBMIT" 127.0.0.1
mkmsg clear-large 'Alice <alice@a.example>' large; send clear-large "$SM_SUBMIT" 127.0.0.1
mkmsg clear-mixed 'Alice <alice@a.example>' mixed; send clear-mixed "$SM_SUBMIT" 127.0.0.1
mkmsg inbound 'Alice <alice@a.example>' utf8; send inbound "$SM_PORT" 127.0.0.2
mkmsg no-identity 'Erin <erin@a.example>' ascii; send no-identity "$SM_SUBMIT" 127.0.0.1
mkmsg unauth-outside 'Alice <alice@a.example>' ascii; send unauth-outside "$SM_SUBMIT" 127.0.0.2
echo "sign = opaque" >"$work/policies/a.example.conf"
reload_milter "sign = opaque for a.example"
mkmsg opaque-utf8 'Alice <alice@a.example>' utf8; send opaque-utf8 "$SM_SUBMIT" 127.0.0.1

accepted="clear-ascii clear-utf8 clear-large clear-mixed inbound opaque-utf8"
for m in $accepted; do
  [ "$(cat "$work/out/$m.rc")" = 0 ] || bad "$m: swaks rc=$(cat "$work/out/$m.rc"): $(grep '<\*\*' "$work/out/$m.swaks" | head -2)"
done
sm_wait_sent 6 60 || bad "only $(grep -c stat=Sent "$work/sm/maillog") of 6 relayed"
sleep 1  # a refused message that was relayed after all would show up now

delivered() { grep -l "^Message-ID: <$1@a.example>" "$work"/sm/sink/* 2>/dev/null | head -1; }
verified() {  # verified NAME FILE: openssl and smimectl accept it; content in out/NAME.content
  local v
  if openssl cms -verify -CAfile "$pki/root.crt" -in "$2" -out "$work/out/$1.content" \
      >"$work/out/$1.openssl" 2>&1; then
    ok "$1: openssl cms -verify succeeds on the relayed file"
  else
    bad "$1: openssl cms -verify: $(head -3 "$work/out/$1.openssl")"
  fi
  v=$(verdict_of "$work/verify.conf" "$2")
  [ "${v%% *}" = pass ] && ok "$1: smimectl process --inbound: verdict pass" ||
    bad "$1: smimectl verdict: $v"
}
decoded_text_ok() {  # decoded_text_ok NAME: quoted-printable UTF-8, decodes to utf8.txt
  local c=$work/out/$1.content
  if [ "$(top_header "$c" Content-Transfer-Encoding)" = quoted-printable ] &&
     headers_of "$c" | grep -qi '^Content-Type: *text/plain; *charset="\?utf-8' &&
     body_of "$c" | tr -d '\r' | perl -MMIME::QuotedPrint -0777 -ne 'print decode_qp($_)' |
       cmp -s - "$work/utf8.txt"; then
    ok "$1: signed part is quoted-printable UTF-8 and decodes to the original text"
  else
    bad "$1: signed content is not the original text re-encoded:"; sed 's/^/    /' "$c" | head -20
  fi
}

for m in clear-ascii clear-utf8 clear-large clear-mixed; do
  f=$(delivered "$m")
  [ -n "$f" ] || { bad "$m: not relayed"; continue; }
  ct=$(top_header "$f" Content-Type)
  if [[ $ct == multipart/signed*protocol=\"application/pkcs7-signature\"*micalg=sha-256* ]] &&
     [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ] &&
     ! headers_of "$f" | grep -qi '^Content-Transfer-Encoding:'; then
    ok "$m: arrives as multipart/signed (one Content-Type, old Content-* fields moved inside)"
  else
    bad "$m: top-level Content-Type: $ct"; headers_of "$f" | sed 's/^/    /'
  fi
  verified "$m" "$f"
done
[ -n "$(delivered clear-utf8)" ] && decoded_text_ok clear-utf8
[ -n "$(delivered clear-large)" ] && body_of "$work/out/clear-large.content" | tr -d '\r' |
  cmp -s - "$work/large.txt" && ok "clear-large: 2.5 MB body signed byte for byte" ||
  bad "clear-large: signed content differs from the sent body"
if [ -n "$(delivered clear-mixed)" ]; then
  awk -v d="$work/out/mixed-part" '/^--b1(--)?\r?$/ { n++; next } n { print > (d n) }' \
    "$work/out/clear-mixed.content"
  if [[ $(top_header "$work/out/clear-mixed.content" Content-Type) == multipart/mixed*boundary=*b1* ]] &&
     [ -f "$work/out/mixed-part2" ] && [ ! -f "$work/out/mixed-part4" ] &&
     [ "$(top_header "$work/out/mixed-part1" Content-Transfer-Encoding)" = quoted-printable ] &&
     [ "$(body_of "$work/out/mixed-part1" | tr -d '\r' | perl -MMIME::QuotedPrint -0777 -ne 'print decode_qp($_)')" = \
       "$(cat "$work/utf8.txt")" ] &&
     body_of "$work/out/mixed-part2" | tr -d '\r' | base64 -d | cmp -s - "$work/attachment.bin"; then
    ok "clear-mixed: folded multipart/mixed signed, 8-bit part quoted-printable, both parts intact"
  else
    bad "clear-mixed: signed content:"; sed 's/^/    /' "$work/out/clear-mixed.content" | head -30
  fi
fi
f=$(delivered clear-utf8)
[ -n "$f" ] && [ "$(LC_ALL=C tr -d '\000-\177' <"$f" | wc -c)" -eq 0 ] &&
  ok "clear-utf8: relayed message is 7-bit" || bad "clear-utf8: 8-bit bytes in the relayed message"
f=$(delivered opaque-utf8)
if [ -n "$f" ]; then
  ct=$(top_header "$f" Content-Type)
  if [[ $ct == application/pkcs7-mime*smime-type=signed-data* ]] &&
     [ "$(top_header "$f" Content-Transfer-Encoding)" = base64 ]; then
    ok "opaque-utf8: arrives as application/pkcs7-mime; smime-type=signed-data, base64"
  else
    bad "opaque-utf8: top-level Content-Type: $ct"
  fi
  verified opaque-utf8 "$f"
  decoded_text_ok opaque-utf8
else
  bad "opaque-utf8: not relayed"
fi

# Inbound: not signed; the relayed file is the sent one plus Sendmail's
# Received:, smtp-sink's X-* trace lines and our Authentication-Results
# (smtp-sink ends every file it writes with an empty line).
f=$(delivered inbound)
if [ -z "$f" ]; then
  bad "inbound: not relayed"
else
  strip='/^(X-[A-Za-z-]*|Received|Authentication-Results):/ { skip = 1; next }
         /^[ \t]/ && skip { next } { skip = 0; print }'
  { headers_of "$f" | tr -d '\r' | awk "$strip"; body_of "$f" | tr -d '\r'; } >"$work/out/inbound.stripped"
  if headers_of "$f" | grep -q '^Authentication-Results: mx.test;' &&
     [ "$(headers_of "$f" | grep -c '^Authentication-Results:')" -eq 1 ] &&
     cmp -s "$work/out/inbound.stripped" <(cat "$work/msgs/inbound.eml"; echo); then
    ok "inbound From: alice@a.example: not signed, unchanged apart from our Authentication-Results"
  else
    bad "inbound: relayed differs from sent:"
    diff "$work/out/inbound.stripped" <(cat "$work/msgs/inbound.eml"; echo) | head -20
  fi
fi

expect_refusal() {  # expect_refusal NAME CODE XCODE TEXT
  if grep -q "<\*\* *$2 $3 $4" "$work/out/$1.swaks"; then
    ok "$1: SMTP client got $2 $3 $4..."
  else
    bad "$1: expected $2 $3, swaks said: $(grep -E '<(\*\*|~\*|-) ' "$work/out/$1.swaks" | tail -3)"
  fi
  [ -z "$(delivered "$1")" ] && ok "$1: nothing relayed" || bad "$1: relayed anyway"
}
expect_refusal no-identity 451 4.7.0 "No S/MIME signing identity for erin@a.example"
expect_refusal unauth-outside 451 4.7.1 "this client may not send signed mail as alice@a.example"
[ "$(grep -c 'stat=Sent' "$work/sm/maillog")" -eq 6 ] && ok "Sendmail relayed exactly the 6 accepted messages" ||
  bad "Sendmail relayed $(grep -c 'stat=Sent' "$work/sm/maillog") messages (want 6)"

# One milter log line per message. The milter logs Sendmail's queue ID;
# Sendmail's "from=" line ties that ID to the Message-ID of accepted mail,
# refused ones included.
qid_of() { sed -n "s/.*[: ]\([0-9A-Za-z]\{14\}\): from=.*msgid=<$1@a.example>.*/\1/p" "$work/sm/maillog" | head -1; }
expect_log() {  # expect_log NAME EVENT REGEX
  local q lines n
  q=$(qid_of "$1")
  # One decision line per message; the per-RCPT lines are not counted.
  [ -n "$q" ] && lines=$(grep -E "smime-milter\[[0-9]+\]: (warning: |error: )?$q: " "$work/milter.log" |
    grep -v ": rcpt: ") || lines=
  n=$(printf '%s' "$lines" | grep -c .)
  if [ "$n" -eq 1 ] && printf '%s' "$lines" | grep -Eq ": $2: .*$3"; then
    ok "$1: one milter log line: $(printf '%s' "$lines" | sed 's/.*: \([a-z]*: \)/\1/' | cut -c1-150)"
  else
    bad "$1 (queue ID ${q:-unknown}): $n log lines (want one $2 line matching $3):"
    printf '%s\n' "$lines" | sed 's/^/    /'
  fi
}
expect_log clear-ascii outbound "why=daemon_name, daemon_name=ORIGINATING, sign=clear, identity=alice@a.example, action=signed, format=clear, digest=sha256, reencoded=no, ms=[0-9]+$"
expect_log clear-utf8 outbound "identity=alice@a.example, action=signed, format=clear, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log clear-large outbound "action=signed, format=clear, digest=sha256, reencoded=no, ms=[0-9]+$"
expect_log clear-mixed outbound "action=signed, format=clear, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log inbound verify "from=<alice@a.example>, result=none"
expect_log opaque-utf8 outbound "sign=opaque, identity=alice@a.example, action=signed, format=opaque, digest=sha256, reencoded=8bit-to-[a-z0-9+-]+, ms=[0-9]+$"
expect_log no-identity outbound "from=<erin@a.example>, .*action=tempfail, reason=no-identity, ms=[0-9]+$"
expect_log unauth-outside outbound "action=tempfail, reason=sender-not-authorized, ms=[0-9]+$"
grep -q "error: $(qid_of no-identity): outbound: .*reason=no-identity" "$work/milter.log" &&
  ok "no-identity: logged as an error" || bad "no-identity: no error line with reason=no-identity"
[ "$(grep -c ': outbound: \|: verify: ' "$work/milter.log")" -eq 8 ] && ok "8 messages, 8 milter log lines" ||
  bad "$(grep -c ': outbound: \|: verify: ' "$work/milter.log") milter log lines for 8 messages"
grep -Eq 'panic:|fatal:' "$work/milter.log" && bad "panic or fatal in milter log"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
