#!/usr/bin/env bash
# run-sendmail-encryption.sh: encryption by recipient domain end to end
# through Sendmail 8.17 (Debian's packages, unpacked privately;
# sendmail-lib.sh) relaying to smtp-sink, with the real smime-milter
# (user nobody) over a local socket, F=T. Policy files: b.example and
# bücher.example encrypt = required; carol@b.example's certificate added
# with `smimectl cert add`; nothing is signed (sign = none). Checked:
# - relayed mail (client 127.0.0.2 on the MTA daemon) and mail on the
#   ORIGINATING daemon to carol@b.example arrive only as
#   application/pkcs7-mime enveloped-data with no line of the plaintext
#   body, and `openssl cms -decrypt` with carol's key gives the original
#   text/plain message;
# - RCPT spellings <carol@b.example (x)>, <carol@ b.example>,
#   <carol@(x)b.example>: Sendmail 8.17 accepts them itself and hands them
#   to the milter as the client wrote them, which refuses them with
#   550 5.1.3 (Sendmail logs "Milter: to=<...>, reject=550 5.1.3"); nothing
#   is relayed;
# - erin@b.example (required, no certificate): 550 5.7.1 at RCPT, alone
#   and next to carol in one transaction, where carol still gets her copy
#   encrypted and erin nothing;
# - SMTPUTF8: Debian 12's Sendmail is built without USE_EAI (checked:
#   `sendmail -d0.1` lists the compile options), so it does not announce
#   SMTPUTF8 and refuses MAIL FROM:<..> SMTPUTF8 with 555 5.5.4 (a build
#   with USE_EAI fails the test: SMTPUTF8 is then to be turned on and
#   tested here). Without it Sendmail still passes a raw UTF-8 RCPT
#   (<nobody@bücher.example>, no SMTPUTF8) to the milter, which judges it
#   as its A-label: the same 550 5.7.1 as <nobody@xn--bcher-kva.example>;
# - the sendmail command through a Mail Submission Program (submit.cf from
#   FEATURE(`msp'), relaying by SMTP to the MTA daemon, as Debian's
#   /usr/sbin/sendmail does): to carol encrypted; to erin refused at RCPT,
#   erin gets nothing (the MSP bounces the message to its sender, alice);
# - negative control: the sendmail command with the MTA's own sendmail.cf
#   (what `sendmail -Am` or `sendmail -C /etc/mail/sendmail.cf` does)
#   delivers without any milter: Sendmail calls milters for SMTP only. The
#   message goes out in clear and the milter never sees it
#   (docs/encryption.md warns about it);
# - one milter rcpt: line per RCPT the milter saw, one verify/outbound line
#   per accepted message, no panic or error.
# Needs root, apt-get download, Postfix's smtp-sink, swaks, python3;
# skips otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Sendmail swaks smtp-sink m4 cc unshare openssl python3
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init policies out msp

echo "encrypt = required" >"$work/policies/b.example.conf"
echo "encrypt = required" >"$work/policies/bücher.example.conf"
write_config "$work/milter.conf" "socket = local:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
  "policy_dir = $work/policies"

trap 'sm_stop; stop_milter; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
if "$SMIMECTL" -c "$work/milter.conf" cert add "$work/carol-add.pem" >"$work/out/cert-add" 2>&1 &&
   grep -q '^added carol@b.example: serial 100D' "$work/out/cert-add"; then
  ok "smimectl cert add carol: $(head -1 "$work/out/cert-add")"
else
  bad "smimectl cert add: $(cat "$work/out/cert-add")"
fi
chown -R nobody "$work/state"
sm_setup "$work/sm" "$work/milter.sock"
sm_start || exit 1
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail

# sm_cmd LOG ARGS...: the sendmail command as the daemon runs (its libraries,
# host name mta.test, syslog lines appended to LOG).
sm_cmd() {
  local log=$1
  shift
  SYSLOG_CAPTURE=$log LD_PRELOAD=$SM_ROOT/syslog-capture.so \
    LD_LIBRARY_PATH=$SM_ROOT/usr/lib/x86_64-linux-gnu \
    unshare --uts sh -c 'hostname mta.test && exec "$@"' sh "$SM_BIN" "$@"
}

# mkmsg NAME TO-HEADER: text/plain whose body lines all name the message.
mkmsg() {
  {
    printf 'From: Alice <alice@a.example>\nTo: %s\nSubject: encryption test\n' "$2"
    printf 'Date: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$1"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
    printf 'Confidential note %s, first line.\n\n' "$1"
    printf 'The quarterly numbers for %s stay between us.\n' "$1"
  } >"$work/msgs/$1.eml"
}
send() {  # send NAME PORT SOURCE-ADDRESS RCPTS: output in out/NAME.swaks
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$1.eml" >"$work/msgs/$1.swaks"
  swaks --server "127.0.0.1:$2" --local-interface "$3" --from alice@a.example --to "$4" \
    --data "@$work/msgs/$1.swaks" >"$work/out/$1.swaks" 2>&1
}
expect_reply() {  # expect_reply NAME RCPT CODE XCODE TEXT: the client got that RCPT reply
  if grep -B1 "<\*\* *$3 $4 <$2>\.\.\. $5" "$work/out/$1.swaks" | grep -qF " RCPT TO:<$2>"; then
    ok "$1: RCPT TO:<$2> got $3 $4 $5"
  else
    bad "$1: RCPT TO:<$2>: expected $3 $4 $5, swaks said: $(grep -E '<(\*\*|~\*|-) ' "$work/out/$1.swaks" | tail -3)"
  fi
}
expect_accepted() {
  grep -Eq '^ *<- *250 .*Message accepted for delivery' "$work/out/$1.swaks" && ok "$1: message accepted" ||
    bad "$1: not accepted: $(grep -E '<(\*\*|~\*) ' "$work/out/$1.swaks" | tail -2)"
}

# 1. SMTP: relayed from outside, and on the ORIGINATING daemon.
mkmsg enc-relayed 'Carol <carol@b.example>'
send enc-relayed "$SM_PORT" 127.0.0.2 carol@b.example
expect_accepted enc-relayed
mkmsg enc-originating 'Carol <carol@b.example>'
send enc-originating "$SM_SUBMIT" 127.0.0.1 carol@b.example
expect_accepted enc-originating
# 2. RCPT spellings Postfix would clean up into carol@b.example.
i=0
for spelling in 'carol@b.example (x)' 'carol@ b.example' 'carol@(x)b.example'; do
  i=$((i + 1))
  mkmsg "spelled$i" 'Carol <carol@b.example>'
  send "spelled$i" "$SM_PORT" 127.0.0.2 "$spelling"
  expect_reply "spelled$i" "$spelling" 550 5.1.3 "Bad recipient address syntax"
  grep -qF "Milter: to=<$spelling>, reject=550 5.1.3" "$work/sm/maillog" &&
    ok "spelled$i: Sendmail passed <$spelling> to the milter as written and logs its refusal" ||
    bad "spelled$i: no Sendmail 'Milter: to=<$spelling>, reject=550 5.1.3' line"
done
# 3. A required recipient without a certificate, alone and next to carol.
mkmsg nocert-erin 'Erin <erin@b.example>'
send nocert-erin "$SM_PORT" 127.0.0.2 erin@b.example
expect_reply nocert-erin erin@b.example 550 5.7.1 \
  "No usable S/MIME certificate for erin@b.example: mail to this domain must be encrypted"
mkmsg mixed-erin 'Carol <carol@b.example>, Erin <erin@b.example>'
send mixed-erin "$SM_PORT" 127.0.0.2 carol@b.example,erin@b.example
expect_reply mixed-erin erin@b.example 550 5.7.1 "No usable S/MIME certificate for erin@b.example"
expect_accepted mixed-erin

# 4. IDN: SMTPUTF8 only if this Sendmail was built with USE_EAI.
sm_cmd "$work/out/d0.log" -C "$SM_BASE/sendmail.cf" -d0.1 -bv root >"$work/out/d0.1" 2>&1 </dev/null
if ! grep -q 'Compiled with:' "$work/out/d0.1"; then
  bad "sendmail -d0.1 printed no compile options: $(head -3 "$work/out/d0.1")"
fi
if grep -q 'USE_EAI' "$work/out/d0.1"; then eai=yes; else eai=no; fi
python3 - "$SM_PORT" "$eai" >"$work/out/idn.smtp" 2>&1 <<'PY'
import socket, sys
def session(cmds):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30,
                                 source_address=("127.0.0.2", 0))
    f = c.makefile("rb")
    def reply():
        lines = []
        while True:
            l = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return lines
    reply()
    for cmd in cmds:
        c.sendall(cmd.encode("utf-8") + b"\r\n")
        r = reply()
        print(cmd.split(":")[0].split(" ")[0], "|", cmd, "|", " / ".join(r))
    c.close()
session(["EHLO client.test", "MAIL FROM:<alice@a.example> SMTPUTF8",
         "RCPT TO:<nobody@b\u00fccher.example>", "QUIT"])
session(["EHLO client.test", "MAIL FROM:<alice@a.example> BODY=8BITMIME",
         "RCPT TO:<nobody@b\u00fccher.example>", "RCPT TO:<nobody@xn--bcher-kva.example>", "QUIT"])
PY
idn_reply() { grep -F "| $1 |" "$work/out/idn.smtp" | sed -n "${2:-1}p" | sed 's/.* | //'; }
R5='550 5.7.1 .*No usable S/MIME certificate for nobody@xn--bcher-kva.example: mail to this domain must be encrypted'
if [ "$eai" = no ]; then
  ok "this Sendmail is built without USE_EAI: no SMTPUTF8 to test"
  grep '^EHLO' "$work/out/idn.smtp" | head -1 | grep -q SMTPUTF8 &&
    bad "EHLO announces SMTPUTF8 without USE_EAI" || ok "EHLO does not announce SMTPUTF8"
  idn_reply 'MAIL FROM:<alice@a.example> SMTPUTF8' | grep -q '^555 5.5.4 SMTPUTF8 parameter unrecognized' &&
    ok "MAIL FROM:<..> SMTPUTF8 refused by Sendmail: 555 5.5.4 SMTPUTF8 parameter unrecognized" ||
    bad "MAIL SMTPUTF8: $(idn_reply 'MAIL FROM:<alice@a.example> SMTPUTF8')"
  idn_reply 'RCPT TO:<nobody@bücher.example>' 2 | grep -Eq "^$R5" &&
    ok "raw UTF-8 RCPT TO:<nobody@bücher.example> (no SMTPUTF8) refused by the milter like its A-label" ||
    bad "raw UTF-8 RCPT: $(idn_reply 'RCPT TO:<nobody@bücher.example>' 2)"
  n_ulabel=1
else
  # sm_setup does not turn SMTPUTF8 on (confSMTP_UTF8): say so rather than
  # pass without testing it.
  bad "this Sendmail has USE_EAI: define confSMTP_UTF8 in sendmail-lib.sh and test the U-label RCPT over SMTPUTF8"
  n_ulabel=1
fi
idn_reply 'RCPT TO:<nobody@xn--bcher-kva.example>' | grep -Eq "^$R5" &&
  ok "RCPT TO:<nobody@xn--bcher-kva.example> refused: 550 5.7.1" ||
  bad "A-label RCPT: $(idn_reply 'RCPT TO:<nobody@xn--bcher-kva.example>')"

# 5. The sendmail command through an MSP: submit.cf relays by SMTP to the
# MTA daemon (Debian's MSP uses [127.0.0.1]:25), its queue owned by the
# MSP's RunAsUser.
chown nobody "$work/msp"
mkdir -m 700 "$work/msp/q"
chown nobody "$work/msp/q"
cat >"$work/msp/submit.mc" <<MC
divert(-1)
divert(0)dnl
include(\`$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`MSP_QUEUE_DIR', \`$work/msp/q')dnl
define(\`confPID_FILE', \`$work/msp/sm-client.pid')dnl
define(\`STATUS_FILE', \`$work/msp/sm-client.st')dnl
define(\`confRUN_AS_USER', \`nobody')dnl
define(\`confDOMAIN_NAME', \`mta.test')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_BASE/service.switch')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_PORT')dnl
FEATURE(\`msp', \`[127.0.0.1]')dnl
MC
m4 "$work/msp/submit.mc" >"$work/msp/submit.cf" 2>"$work/msp/m4.err" ||
  bad "m4 submit.mc: $(cat "$work/msp/m4.err")"
mkmsg msp-carol 'Carol <carol@b.example>'
sm_cmd "$work/msp/maillog" -C "$work/msp/submit.cf" -f alice@a.example -v carol@b.example \
  <"$work/msgs/msp-carol.eml" >"$work/out/msp-carol.out" 2>&1
grep -q 'carol@b.example... Sent' "$work/out/msp-carol.out" &&
  ok "msp-carol: the MSP handed the message to the MTA daemon" ||
  bad "msp-carol: $(tail -3 "$work/out/msp-carol.out")"
mkmsg msp-erin 'Erin <erin@b.example>'
sm_cmd "$work/msp/maillog" -C "$work/msp/submit.cf" -f alice@a.example -v erin@b.example \
  <"$work/msgs/msp-erin.eml" >"$work/out/msp-erin.out" 2>&1
grep -q '550 5.7.1 <erin@b.example>... No usable S/MIME certificate for erin@b.example' \
  "$work/out/msp-erin.out" && ok "msp-erin: the MTA refused erin at RCPT: 550 5.7.1" ||
  bad "msp-erin: $(grep -E '^[0-9]{3} ' "$work/out/msp-erin.out" | tail -3)"

# 6. Negative control: the MTA's own configuration from the command line.
mkmsg direct-carol 'Carol <carol@b.example>'
sm_cmd "$work/out/direct.log" -C "$SM_BASE/sendmail.cf" -f alice@a.example carol@b.example \
  <"$work/msgs/direct-carol.eml" >"$work/out/direct.out" 2>&1

# 7. What arrived. sm_wait_sent counts stat=Sent in the daemon's maillog
# (enc-relayed, enc-originating, mixed-erin, msp-carol, the MSP's bounce to
# alice for erin).
sm_wait_sent 5 60 || bad "only $(grep -c stat=Sent "$work/sm/maillog") of 5 relayed"
sleep 1
delivered() { grep -l "^Message-ID: <$1@a.example>" "$work"/sm/sink/* 2>/dev/null; }
rcpts_of() { sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$1" | tr '\n' ' '; }
body_lines() { sed '1,/^\r*$/d' "$work/msgs/$1.eml" | tr -d '\r' | grep -v '^$'; }
encrypted() {  # encrypted NAME: one copy, for carol only, enveloped-data decrypting to the original
  local f d=$work/out/$1
  [ "$(delivered "$1" | wc -l)" -eq 1 ] || { bad "$1: $(delivered "$1" | wc -l) copies (want 1)"; return; }
  f=$(delivered "$1")
  [ "$(rcpts_of "$f")" = "carol@b.example " ] && ok "$1: relayed to carol@b.example only" ||
    bad "$1: relayed to $(rcpts_of "$f")"
  if [[ $(top_header "$f" Content-Type) == application/pkcs7-mime*smime-type=enveloped-data* ]] &&
     [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ]; then
    ok "$1: application/pkcs7-mime; smime-type=enveloped-data"
  else
    bad "$1: top-level Content-Type: $(top_header "$f" Content-Type)"
  fi
  grep -qF -f <(body_lines "$1") "$f" && bad "$1: plaintext in the relayed file" ||
    ok "$1: no line of the plaintext body in the relayed file"
  if openssl cms -decrypt -recip "$pki/carol.crt" -inkey "$pki/carol.key" -in "$f" -out "$d.dec" \
      >"$d.err" 2>&1 && [[ $(top_header "$d.dec" Content-Type) == text/plain* ]] &&
     [ "$(sed '1,/^\r*$/d' "$d.dec" | tr -d '\r' | grep -v '^$')" = "$(body_lines "$1")" ]; then
    ok "$1: openssl cms -decrypt with carol's key gives the original text/plain body"
  else
    bad "$1: decrypt: $(head -2 "$d.err"); content type $(top_header "$d.dec" Content-Type 2>/dev/null)"
  fi
}
for m in enc-relayed enc-originating mixed-erin msp-carol; do encrypted "$m"; done
for m in spelled1 spelled2 spelled3 nocert-erin; do
  [ -z "$(delivered "$m")" ] && ok "$m: nothing relayed" || bad "$m: relayed anyway"
done
# The MSP bounces the refused message to its sender (as any MTA would: the
# sender's own text back to the sender, a.example, clear by policy).
f=$(delivered msp-erin)
if [ "$(printf '%s' "$f" | grep -c .)" -eq 1 ] && [ "$(rcpts_of "$f")" = "alice@a.example " ] &&
   [[ $(top_header "$f" Content-Type) == multipart/report* ]]; then
  ok "msp-erin: only the MSP's bounce to the sender alice@a.example was relayed"
else
  bad "msp-erin: relayed: $(for x in $f; do rcpts_of "$x"; done)"
fi
grep -l '^X-Rcpt-Args: <erin@b.example>' "$work"/sm/sink/* >/dev/null 2>&1 &&
  bad "a copy for erin@b.example was relayed" || ok "no copy for erin@b.example relayed"
f=$(delivered direct-carol)
if [ -n "$f" ] && [[ $(top_header "$f" Content-Type) == text/plain* ]] &&
   grep -qF "The quarterly numbers for direct-carol" "$f" &&
   ! grep -q 'direct-carol' "$work/milter.log" && ! grep -q 'Milter' "$work/out/direct.log"; then
  ok "negative control: sendmail -C sendmail.cf (no MSP) skips the milter, carol's copy goes out in clear"
else
  bad "negative control: direct submission: $(tail -2 "$work/out/direct.log")"
fi

# 8. The milter's log: one rcpt: line per RCPT it saw.
rcpt_line() {  # rcpt_line RCPT FIELDS COUNT
  local n
  n=$(grep -Fc ": rcpt: to=<$1>, $2" "$work/milter.log")
  [ "$n" -eq "$3" ] && ok "$3 rcpt: line(s) for <$1> with $2" ||
    bad "$n rcpt: lines for <$1> with $2 (want $3): $(grep -F ": rcpt: to=<$1>" "$work/milter.log" | tr '\n' ';')"
}
rcpt_line carol@b.example 'domain=b.example, encrypt=required, cert=local, serial=100D, action=accept' 4
rcpt_line erin@b.example 'domain=b.example, encrypt=required, cert=none, cert_why=not-found, action=reject' 3
rcpt_line 'carol@b.example\x20\x28x\x29' 'syntax=whitespace, action=reject' 1
rcpt_line 'carol@\x20b.example' 'syntax=whitespace, action=reject' 1
rcpt_line 'carol@\x28x\x29b.example' 'syntax=comment, action=reject' 1
rcpt_line nobody@xn--bcher-kva.example \
  'domain=xn--bcher-kva.example, encrypt=required, cert=none, cert_why=not-found, action=reject' $((n_ulabel + 1))
rcpt_line alice@a.example 'domain=a.example, encrypt=never, action=accept' 1  # the MSP's bounce for erin
want=$((4 + 3 + 3 + n_ulabel + 1 + 1))
n=$(grep -c ': rcpt: ' "$work/milter.log")
[ "$n" -eq "$want" ] && ok "$n rcpt: lines for the $want RCPTs the milter saw" ||
  bad "$n rcpt: lines (want $want)"
n=$(grep -Ec ': (verify|outbound): .*encryption=aes256-cbc, recipients=1, encrypt_why=required' "$work/milter.log")
[ "$n" -eq 4 ] && ok "4 encrypted messages, 4 log lines with encryption" || bad "$n log lines with encryption (want 4)"
grep -Eq 'panic:|fatal:|error:' "$work/milter.log" &&
  bad "panic, fatal or error in milter log: $(grep -E 'panic:|fatal:|error:' "$work/milter.log" | head -3)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
