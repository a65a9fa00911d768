#!/usr/bin/env bash
# run-golden.sh: golden tests through `smimectl process`, message in, message
# and log out. For every case in cases.tsv it builds the input (signed with
# `openssl cms` on the generated test PKI, clock pinned), checks the verdict
# from --report, and compares the header changes and the log line with
# expected/NAME.out; the body must come out byte for byte as it went in.
# SMIME_GOLDEN_UPDATE=1 rewrites the expected files instead of comparing.
. "$(dirname "$0")/../lib.sh"
make_pki
here=$top/tests/golden
sign=$top/tests/interop/sign-openssl.sh
write_config "$work/default.conf"
write_config "$work/small.conf" "max_message_size = 2048"
write_config "$work/onesigner.conf" "max_signers = 1"
write_config "$work/sha1.conf" "allow_sha1 = yes"
write_config "$work/sender.conf" "match_sender_header = yes"
pass=0 failed=0

# build NAME SIGNER MODE FROM > message
build() {
  local name=$1 signer=$2 mode=$3 from=$4 in=$work/$1.plain
  case $mode in
    # The column is the whole From: (or Sender:) value, written as it is.
    raw-from) FROM=$from awk '/^From: /{ print "From: " ENVIRON["FROM"]; next } { print }' \
      "$here/message.eml" >"$in" ;;
    sender) SENDER=$from awk '/^From: /{ print "From: Carol <carol@b.example>"
      print "Sender: " ENVIRON["SENDER"]; next } { print }' "$here/message.eml" >"$in" ;;
    *) sed "s/^From: .*/From: Sender <$from>/" "$here/message.eml" >"$in" ;;
  esac
  case $mode in
    none) cat "$in" ;;
    clear|clear-allow-sha1|raw-from|sender) "$sign" "$pki" "$signer" "$in" ;;
    opaque) "$sign" --opaque "$pki" "$signer" "$in" ;;
    clear-sha1) SIGN_MD=sha1 "$sign" "$pki" "$signer" "$in" ;;
    tampered) "$sign" "$pki" "$signer" "$in" | sed 's/this message is signed/this message is changed/' ;;
    forged-ar)
      "$sign" "$pki" "$signer" "$in" | awk '
        NR == 2 {
          printf "Authentication-Results: MX.TEST; smime=pass\r\n"
          printf "Authentication-Results: other.example; dkim=pass header.d=a.example\r\n"
          printf "Authentication-Results: mx.test.;\r\n\tsmime=pass body.smime-identifier=ceo@a.example\r\n"
          printf "Authentication-Results: (forged) mx.test; smime=pass\r\n"
        }
        { print }' ;;
    two-from) "$sign" "$pki" "$signer" "$in" | awk 'NR == 1 { print "From: <ceo@a.example>\r" } { print }' ;;
    big)
      { cat "$in"; for i in $(seq 60); do echo "padding line $i of a message larger than the configured limit"; done; } >"$work/$name.big"
      "$sign" "$pki" "$signer" "$work/$name.big" ;;
    deep)
      head -6 "$in"
      for i in $(seq 40); do printf 'Content-Type: multipart/mixed; boundary="b%s"\n\n--b%s\n' "$i" "$i"; done
      printf 'Content-Type: text/plain\n\ndeep\n'
      for i in $(seq 40 -1 1); do printf -- '--b%s--\n' "$i"; done ;;
    garbage)
      head -6 "$in"
      printf 'MIME-Version: 1.0\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=X\n\n'
      printf -- '--X\nContent-Type: text/plain\n\nhello\n--X\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMIIBAAAAAAAAAAAAAAAA\n--X--\n' ;;
    frame-*)  # the unsigned frame rewritten so that parsers could read it two ways
      "$sign" "$pki" "$signer" "$in" | python3 -c '
import re, sys
mode = sys.argv[1]
m = sys.stdin.buffer.read()
head, body = m.split(b"\r\n\r\n", 1)
b = re.search(rb"boundary=\"?([^\";\r\n]+)", head).group(1)
lie = b"Content-Type: text/plain\r\n\r\nPlease pay invoice 4711 to the new account.\r\n"
if mode == "frame-dup-ct":  # Thunderbird reads the first Content-Type, GMime the last
    head = b"Content-Type: text/plain\r\n" + head
elif mode == "frame-2231":  # the boundary twice: plainly and as RFC 2231 continuations
    head = head.replace(b"boundary=", b"boundary*0=\"X\"; boundary*1=\"Y\"; boundary=", 1)
elif mode == "frame-comment":  # a boundary= inside a comment
    head = head.replace(b"multipart/signed;", b"multipart/signed; (boundary=\"X\");", 1)
elif mode == "frame-epilogue":  # a delimiter after the close delimiter
    body = body + b"--" + b + b"\r\n" + lie + b"--" + b + b"--\r\n"
elif mode == "frame-trailing-cr":  # the first delimiter ends in CR CR LF
    body = body.replace(b"--" + b + b"\r\n", b"--" + b + b"\r\r\n", 1)
sys.stdout.buffer.write(head + b"\r\n\r\n" + body)
' "$mode" ;;
    two-signers*)
      sed -n '1,/^$/{/^Content-Type:/d;/^MIME-Version:/d;/^$/d;p}' "$in"
      printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Carol,\r\n' >"$work/$name.inner"
      openssl cms -sign -binary -crlfeol -md sha256 -in "$work/$name.inner" \
        -signer "$pki/alice.crt" -inkey "$pki/alice.key" -signer "$pki/carol.crt" -inkey "$pki/carol.key" \
        -certfile "$pki/inter.crt" | sed "s/\r*$/\r/" ;;
    hp-*)  # RFC 9788: protected copies inside the signed entity, hp="clear"
      # (docs/header-protection.md); hp-from-mismatch protects another From:.
      inner_from="Sender <$from>"
      [ "$mode" = hp-from-mismatch ] && inner_from="CEO <ceo@a.example>"
      sed -n '1,/^$/{/^Content-Type:/d;/^MIME-Version:/d;/^$/d;p}' "$in" | sed 's/\r*$/\r/'
      {
        printf 'Content-Type: text/plain; charset=us-ascii; hp="clear"\r\n'
        printf 'From: %s\r\n' "$inner_from"
        sed -n '1,/^$/p' "$in" | grep -E '^(To|Subject|Date|Message-ID):' | sed 's/\r*$/\r/'
        printf '\r\nHello Carol,\r\n'
      } >"$work/$name.inner"
      openssl cms -sign -binary -crlfeol -md sha256 -in "$work/$name.inner" \
        -signer "$pki/$signer.crt" -inkey "$pki/$signer.key" \
        -certfile "$pki/inter.crt" | sed "s/\r*$/\r/" ;;
  esac
}

while IFS=$'\t' read -r name signer mode from expected; do
  case $name in ''|'#'*) continue ;; esac
  msg=$work/$name.eml
  if ! build "$name" "$signer" "$mode" "$from" >"$msg" 2>"$work/$name.builderr"; then
    failed=$((failed + 1)); echo "FAIL $name: could not build input: $(head -c 300 "$work/$name.builderr")"; continue
  fi
  conf=$work/default.conf
  case $mode in
    big) conf=$work/small.conf ;;
    two-signers-limit) conf=$work/onesigner.conf ;;
    clear-allow-sha1) conf=$work/sha1.conf ;;
    sender) conf=$work/sender.conf ;;
  esac
  got=$(verdict_of "$conf" "$msg")
  case "$got " in
    "$expected "*) ;;
    *) failed=$((failed + 1)); echo "FAIL $name: verdict: expected '$expected', got '$got'"; continue ;;
  esac
  rc=0
  "$SMIMECTL" -c "$conf" process --inbound --now "$NOW" "$msg" >"$work/$name.out" 2>"$work/$name.log" || rc=$?
  if [ "$rc" -ne 0 ]; then failed=$((failed + 1)); echo "FAIL $name: exit $rc"; continue; fi
  if ! head -1 "$work/$name.out" | grep -q '^Authentication-Results: mx.test;'; then
    failed=$((failed + 1)); echo "FAIL $name: our Authentication-Results is not the first header"; continue
  fi
  # Header changes (input vs output header sections) and the log line.
  tr -d '\r' <"$msg" | sed '/^$/q' >"$work/in.h"
  tr -d '\r' <"$work/$name.out" | sed '/^$/q' >"$work/out.h"
  actual=$work/$name.actual
  {
    echo "# headers: < removed, > added"
    diff "$work/in.h" "$work/out.h" | grep '^[<>]' || true
    echo "# log"
    sed 's/ms=[0-9]*/ms=N/' "$work/$name.log"
  } >"$actual"
  if ! cmp -s <(sed '1,/^\r*$/d' "$msg") <(sed '1,/^\r*$/d' "$work/$name.out"); then
    failed=$((failed + 1)); echo "FAIL $name: body changed"; continue
  fi
  if [ "${SMIME_GOLDEN_UPDATE:-0}" = 1 ]; then
    cp "$actual" "$here/expected/$name.out"
  elif ! diff -u "$here/expected/$name.out" "$actual"; then
    failed=$((failed + 1)); echo "FAIL $name: output differs from expected/$name.out"; continue
  fi
  pass=$((pass + 1)); echo "ok   $name: $got"
done <"$here/cases.tsv"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
