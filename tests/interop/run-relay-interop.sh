#!/usr/bin/env bash
# run-relay-interop.sh: what WE sign must survive transit (docs/signing.md,
# "What gets signed"): every message kind below, signed by `smimectl process
# --outbound` in clear and opaque mode, must verify in every verifier both
# as sent and after a simulated relay (relay.py: mbox ">From " quoting of
# every line that starts "From ", folding of every line over 998 octets),
# and our own engine (smimectl process --inbound) must say pass on the
# relayed copy. Also checked: the relay changes nothing in our output
# (relay-proof), the signed content decodes to the input's content part by
# part, and the log's reencoded= names exactly the expected changes.
# Message kinds: plain (7-bit), 8bit (UTF-8 text, 8bit), qp-from (quoted-
# printable with a "From " line), preamble (multipart whose preamble and
# epilogue have "From " lines), long-base64 (one 4000-column line),
# long-qp (a 2500-octet quoted-printable line), long-header (a part header
# line of 1100 octets), binary (a binary part),
# forward (message/rfc822 that begins with its mbox "From " separator line
# and holds 8-bit text with a "From " line and a long quoted-printable
# line), empty (no body).
# Controls: the relay simulation does change the raw inputs that have such
# lines, and a naive signature (openssl cms -sign over the input as it
# came) of qp-from and preamble verifies as sent and fails after the relay.
# Encrypt-only: an 8-bit UTF-8 body without MIME headers, encrypted for
# carol, decrypts with openssl to charset=utf-8 with a 7-bit transfer
# encoding, "From " armoured, and the same text.
# Verifiers: every tests/interop/verify-NAME.sh (openssl, gpgsm, nss, bc;
# the interface is described in verify-openssl.sh), so another one is added
# by dropping in its script. A verifier whose `capabilities` prints "batch"
# (Bouncy Castle: a JVM start per message would cost a second each) gets
# every message at the end in one `batch STATE MSG...` call, whose "pass
# MSG ..." / "fail MSG: WHY" lines are checked per message. A verifier whose tool is missing is skipped (a
# failure in strict mode, tests/skip.sh). Needs python3 and openssl.
# Output: one "ok   ..." / "FAIL ..." line per check and a summary; exit 1 on
# any failure.
# ok/bad/skip always return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || skip_or_fail "python3 missing"
command -v openssl >/dev/null || skip_or_fail "openssl missing"
make_pki
here=$top/tests/interop
rl() { python3 "$here/relay.py" "$@"; }
export PKI=$pki NOW
# Bouncy Castle's classes: compiled once per build tree (verify-bc.sh).
export SMIME_BC_CLASSES=${SMIME_BC_CLASSES:-$build/tests/.work/bc-classes}

# ---------------------------------------------------------------- verifiers
verifiers=()
for v in "$here"/verify-*.sh; do
  name=$(basename "$v" .sh)
  name=${name#verify-}
  if ! why=$("$v" available 2>&1); then skip "$name: $why"; continue; fi
  mkdir -p "$work/v-$name"
  if ! why=$("$v" setup "$work/v-$name" 2>&1); then bad "$name: setup: $why"; continue; fi
  verifiers+=("$name")
  [ "$("$v" capabilities 2>/dev/null)" = batch ] && : >"$work/v-$name.batch"
done
cleanup() {
  local n
  for n in "${verifiers[@]}"; do "$here/verify-$n.sh" teardown "$work/v-$n" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT
ok "verifiers: ${verifiers[*]}"

# ---------------------------------------------------------------- messages
# $m/KIND.eml (CRLF) and the reencoded= value its signing must log.
m=$work/msg
mkdir -p "$m"
declare -A want
hdrs() {  # hdrs SUBJECT
  printf 'From: Alice <alice@a.example>\nTo: Carol <carol@c.example>\nSubject: %s\n' "$1"
  printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$RANDOM$RANDOM"
}
mime() { printf 'MIME-Version: 1.0\nContent-Type: %s\n' "$1"; }

{ hdrs plain; mime 'text/plain; charset=us-ascii'; echo
  printf 'Hello Carol,\n\nplain 7-bit text; a line with >From is fine.\n'; } | crlf >"$m/plain.eml"
want[plain]=no

{ hdrs 8bit; mime 'text/plain; charset=utf-8'; printf 'Content-Transfer-Encoding: 8bit\n\n'
  printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, the caf\xc3\xa9 is open.\nSecond line.\n'; } |
  crlf >"$m/8bit.eml"
want[8bit]=8bit-to-qp

{ hdrs qp-from; mime 'text/plain; charset=utf-8'
  printf 'Content-Transfer-Encoding: quoted-printable\n\n'
  printf 'Dear Carol,\nFrom now on the price is 10 =E2=82=AC.=\n Soft break.\nFrom the team\n'; } |
  crlf >"$m/qp-from.eml"
want[qp-from]=from-armour

{ hdrs preamble; mime 'multipart/mixed; boundary="pre-B"'; echo
  printf 'From the preamble: this is a MIME message.\n\n--pre-B\n'
  printf 'Content-Type: text/plain; charset=us-ascii\n\nThe only part.\n--pre-B--\n'
  printf 'From the epilogue, goodbye.\n'; } | crlf >"$m/preamble.eml"
want[preamble]=preamble-from

head -c 3000 /dev/urandom >"$work/random.bin"
{ hdrs long-base64; mime 'multipart/mixed; boundary="b64-B"'; echo
  printf -- '--b64-B\nContent-Type: text/plain; charset=us-ascii\n\nSee the attachment.\n'
  printf -- '--b64-B\nContent-Type: application/octet-stream; name="r.bin"\n'
  printf 'Content-Transfer-Encoding: base64\n\n'
  base64 -w 0 "$work/random.bin"; printf '\n--b64-B--\n'; } | crlf >"$m/long-base64.eml"
want[long-base64]=long-lines

{ hdrs long-qp; mime 'text/plain; charset=us-ascii'
  printf 'Content-Transfer-Encoding: quoted-printable\n\nShort first line.\n'
  for i in $(seq 1 250); do printf 'word%04d=20' "$i"; done; printf '\nLast line.\n'; } |
  crlf >"$m/long-qp.eml"
want[long-qp]=long-lines

head -c 2000 /dev/urandom | tr -d '\r\n' >"$work/binary.bin"  # SMTP cannot carry bare CR/LF
{ hdrs binary; mime 'multipart/mixed; boundary="bin-B"'; echo
  printf -- '--bin-B\nContent-Type: text/plain; charset=us-ascii\n\nBinary attached.\n'
  printf -- '--bin-B\nContent-Type: application/octet-stream; name="b.bin"\n'
  printf 'Content-Transfer-Encoding: binary\n\n'; } | crlf >"$m/binary.eml"
cat "$work/binary.bin" >>"$m/binary.eml"
printf '\r\n--bin-B--\r\n' >>"$m/binary.eml"
want[binary]=8bit-to-base64+long-lines  # one line: no CR or LF in it

{ hdrs forward; mime 'multipart/mixed; boundary="fwd-B"'; echo
  printf -- '--fwd-B\nContent-Type: text/plain; charset=us-ascii\n\nForwarded below.\n'
  printf -- '--fwd-B\nContent-Type: message/rfc822\n\n'
  printf 'From dave@d.example Mon Jun  1 00:00:00 2026\n'  # its mbox separator, still there
  printf 'From: Dave <dave@d.example>\nSubject: inner\nMIME-Version: 1.0\n'
  printf 'Content-Type: multipart/alternative; boundary="in-B"\n\n--in-B\n'
  printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
  printf 'Inner text, gr\xc3\xbc\xc3\x9fe.\nFrom Dave with love.\n--in-B\n'
  printf 'Content-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n'
  printf '<p>'; for i in $(seq 1 300); do printf 'cell%03d ' "$i"; done; printf '</p>\n--in-B--\n'
  printf -- '\n--fwd-B--\n'; } | crlf >"$m/forward.eml"
want[forward]=8bit-to-qp+from-armour+long-lines+mbox-marker

{ hdrs long-header; mime 'multipart/mixed; boundary="lh-B"'; echo
  printf -- '--lh-B\nContent-Type: text/plain; charset=us-ascii\n\nA file with a long name.\n'
  printf -- '--lh-B\nContent-Type: application/octet-stream\n'
  printf 'Content-Disposition: attachment; filename="%s.txt"\n\n' "$(head -c 1100 /dev/zero | tr '\0' n)"
  printf 'data\n--lh-B--\n'; } | crlf >"$m/long-header.eml"
want[long-header]=long-headers

{ hdrs empty; mime 'text/plain; charset=us-ascii'; echo; } | crlf >"$m/empty.eml"
want[empty]=no

kinds="plain 8bit qp-from preamble long-base64 long-qp long-header binary forward empty"

# Control: the relay simulation bites on the inputs with such lines.
for k in qp-from preamble long-base64 long-qp long-header forward; do
  rl proof "$m/$k.eml" 2>/dev/null && bad "control $k: the relay changes nothing in the raw input" ||
    ok "control $k: the relay changes the raw input"
done

# ---------------------------------------------------------------- configs
echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
for mode in clear opaque; do
  write_config "$work/$mode.conf" "sign = $mode" "signing_identities = $work/ids" \
    "signing_users = $work/users"
done
inconf=$work/inbound.conf
write_config "$inconf"

# verify_everywhere LABEL MSG: every verifier and our engine must pass MSG.
verify_everywhere() {
  local l=$1 msg=$2 n why v
  for n in "${verifiers[@]}"; do
    # Batch verifiers: checked after the matrix (run_batches).
    if [ -f "$work/v-$n.batch" ]; then
      printf '%s\t%s\n' "$msg" "$l" >>"$work/v-$n.batch"
      continue
    fi
    why=$("$here/verify-$n.sh" verify "$work/v-$n" "$msg" 2>&1) && ok "$l: $n verifies" ||
      bad "$l: $n: $why"
  done
  v=$(verdict_of "$inconf" "$msg")
  [ "${v%% *}" = pass ] && ok "$l: smimectl --inbound: $v" || bad "$l: smimectl --inbound: $v"
}

# ---------------------------------------------------------------- the matrix
for mode in clear opaque; do
  for k in $kinds; do
    l=$mode/$k out=$work/$mode-$k.eml
    "$SMIMECTL" -c "$work/$mode.conf" process --outbound --sasl-user alice --rcpt carol@c.example \
      --now "$NOW" "$m/$k.eml" >"$out" 2>"$out.log"
    rc=$?
    if [ $rc -ne 0 ] || ! grep -q 'action=signed' "$out.log"; then
      bad "$l: smimectl --outbound exit $rc: $(head -c 300 "$out.log")"
      continue
    fi
    got=$(sed -n 's/.*reencoded=\([^,]*\).*/\1/p' "$out.log")
    [ "$got" = "${want[$k]}" ] && ok "$l: log reencoded=$got" ||
      bad "$l: log reencoded=$got, expected ${want[$k]}"
    if grep -q 'relay_unsafe=' "$out.log"; then bad "$l: log: $(head -c 300 "$out.log")"; fi
    err=$(mt wire "$out" 2>&1) && ok "$l: wire-safe (CRLF, 7-bit, lines <= 998)" || bad "$l: $err"
    err=$(rl proof "$out" 2>&1) && ok "$l: relay-proof (the relay changes nothing)" || bad "$l: $err"
    if openssl cms -verify -in "$out" -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign \
        -out "$out.content" >/dev/null 2>&1; then
      err=$(rl same "$m/$k.eml" "$out.content" 2>&1) && ok "$l: signed content = input content" ||
        bad "$l: signed content: $err"
    else
      bad "$l: openssl cannot extract the signed content"
    fi
    verify_everywhere "$l as sent" "$out"
    rl relay "$out" "$out.relayed"
    verify_everywhere "$l after relay" "$out.relayed"
  done
done

# run_batches: each batch verifier gets all its messages in one call; every
# message needs its own "pass MSG" line.
run_batches() {
  local n msg l out line
  local -a msgs
  for n in "${verifiers[@]}"; do
    [ -s "$work/v-$n.batch" ] || continue
    mapfile -t msgs < <(cut -f1 "$work/v-$n.batch")
    out=$("$here/verify-$n.sh" batch "$work/v-$n" "${msgs[@]}" 2>&1)
    while IFS=$'\t' read -r msg l; do
      line=$(awk -v m="$msg" '($1 == "pass" || $1 == "fail") && ($2 == m || $2 == m ":") \
        { print; exit }' <<<"$out")
      case $line in
        "pass $msg"*) ok "$l: $n verifies" ;;
        "") bad "$l: $n: no verdict in the batch output ($(head -c 200 <<<"$out" | tr '\n' ' '))" ;;
        *) bad "$l: $n: ${line#fail "$msg": }" ;;
      esac
    done <"$work/v-$n.batch"
  done
}
run_batches

# ---------------------------------------------------------------- naive control
# The input signed as it came (no re-encoding): verifies as sent, breaks in
# the relay, so the relay simulation would catch an unprotected signature.
for k in qp-from preamble; do
  d=$work/naive-$k
  mkdir -p "$d"
  split_message "$m/$k.eml" "$d"
  if ! openssl cms -sign -binary -in "$d/inner" -signer "$pki/alice.crt" -inkey "$pki/alice.key" \
      -certfile "$pki/alice.chain.pem" -outform DER -out "$d/sig.der" 2>"$d/log"; then
    bad "naive $k: openssl cms -sign: $(head -c 200 "$d/log")"
    continue
  fi
  wrap_detached "$d" "$d/sig.der" >"$d/signed.eml"
  rl relay "$d/signed.eml" "$d/relayed.eml"
  openssl cms -verify -in "$d/signed.eml" -CAfile "$pki/root.crt" -attime "$NOW" \
    -purpose smimesign -out /dev/null >/dev/null 2>&1 && ok "naive $k: verifies as sent" ||
    bad "naive $k: does not verify even as sent"
  openssl cms -verify -in "$d/relayed.eml" -CAfile "$pki/root.crt" -attime "$NOW" \
    -purpose smimesign -out /dev/null >/dev/null 2>&1 && bad "naive $k: survived the relay" ||
    ok "naive $k: broken by the relay (as expected without re-encoding)"
done

# ---------------------------------------------------------------- encrypt-only
# An 8-bit body without MIME headers, encrypted only: the entity inside says
# charset=utf-8 with a 7-bit transfer encoding.
e=$work/enc
mkdir -p "$e/pol" "$e/state"
echo "encrypt = required" >"$e/pol/b.example.conf"
write_config "$e/enc.conf" "sign = none" "policy_dir = $e/pol" "state_dir = $e/state"
# carol's certificate, then its chain (the intermediate, as a path hint).
if out=$("$SMIMECTL" -c "$e/enc.conf" cert add "$pki/carol.crt" 2>&1) &&
    out=$("$SMIMECTL" -c "$e/enc.conf" cert add "$pki/carol.chain.pem" 2>&1); then
  { printf 'From: Alice <alice@a.example>\nTo: Carol <carol@b.example>\nSubject: enc\n\n'
    printf 'Gr\xc3\xbc\xc3\x9fe, Carol: the caf\xc3\xa9 opens at nine.\nFrom Alice.\n'; } |
    crlf >"$e/in.eml"
  "$SMIMECTL" -c "$e/enc.conf" process --outbound --sasl-user alice --rcpt carol@b.example \
    --now "$NOW" "$e/in.eml" >"$e/out.eml" 2>"$e/log"
  rc=$?
  if [ $rc -eq 0 ] && grep -q 'encryption=aes' "$e/log"; then
    grep -q 'reencoded=8bit-to-qp+from-armour,' "$e/log" &&
      ok "encrypt-only: log reencoded=8bit-to-qp+from-armour" ||
      bad "encrypt-only: log: $(head -c 300 "$e/log")"
    if openssl cms -decrypt -in "$e/out.eml" -recip "$pki/carol.crt" -inkey "$pki/carol.key" \
        -out "$e/inner" 2>"$e/dec.log"; then
      ok "encrypt-only: openssl cms -decrypt"
      h=$(sed '/^\r\?$/q' "$e/inner" | tr -d '\r')
      grep -qi '^Content-Type: text/plain; charset=utf-8$' <<<"$h" &&
        ok "encrypt-only: charset=utf-8" || bad "encrypt-only: inner header: $h"
      grep -Eqi '^Content-Transfer-Encoding: (quoted-printable|base64)$' <<<"$h" &&
        ok "encrypt-only: 7-bit transfer encoding" || bad "encrypt-only: inner header: $h"
      err=$(mt wire "$e/inner" 2>&1) && ok "encrypt-only: inner entity 7-bit, CRLF" ||
        bad "encrypt-only: $err"
      err=$(rl proof "$e/inner" 2>&1) && ok "encrypt-only: inner entity relay-proof" ||
        bad "encrypt-only: $err"
      err=$(rl same "$e/in.eml" "$e/inner" 2>&1) && ok "encrypt-only: text = input" ||
        bad "encrypt-only: $err"
    else
      bad "encrypt-only: openssl cms -decrypt: $(head -c 300 "$e/dec.log")"
    fi
  else
    bad "encrypt-only: smimectl --outbound exit $rc: $(head -c 300 "$e/log")"
  fi
else
  bad "encrypt-only: cert add carol.crt/carol.chain.pem: $out"
fi

echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
[ "$failed" -eq 0 ]
