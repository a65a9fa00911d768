#!/usr/bin/env bash
# run-sendmail-decryption.sh: inbound decryption end to end through Sendmail
# 8.17 (Debian's packages, unpacked privately; sendmail-lib.sh) relaying to
# smtp-sink, with the real smime-milter (user nobody) over a local socket
# (docs/decryption.md). The Postfix counterpart is run-postfix-decryption.sh;
# this one checks that Sendmail applies the same edits (smfi_chgheader,
# smfi_addheader, smfi_replacebody) the same way.
#
# Our users at a.example (decrypt = yes; keys in decryption_keys, owned by
# nobody): alice (test PKI, RSA) and bob (test PKI, EC P-256); zed@a.example
# has no key. Mail arrives from outside (127.0.0.2 on the MTA daemon, not in
# internal_hosts); envelopes from tests/interop/encrypt-tool.sh (openssl):
# - signed by carol@b.example, then AES-256-CBC to alice: relayed decrypted
#   (the marker readable, multipart/signed, no pkcs7-mime, one Content-Type),
#   `smime=pass (decrypted)` for carol, a log line with decrypted= and key=;
# - the oracle rule: the same ciphertext with RCPT alice and zed in one
#   transaction: relayed still encrypted (recipient-without-matching-key);
# - unsigned AES-256-CBC to alice: still encrypted (unauthenticated-cbc);
# - unsigned AES-256-GCM to bob (ECDH): decrypted, smime=none (decrypted);
# - RFC 9788: a message made by `smimectl process --outbound` (carol signs,
#   encrypted to alice, header_protection = cipher: outer Subject [...],
#   Keywords only inside) is relayed with the real Subject and Keywords, one
#   Subject, From: as sent, our Authentication-Results before them.
# Needs root, apt-get download, Postfix's smtp-sink, swaks, openssl, perl;
# skips otherwise (a failure in strict mode).
# ok/bad return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# split_message (before milter-lib.sh, whose ok/bad and counters win)
# shellcheck source=../interop/common.sh
. "$(dirname "$0")/../interop/common.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Sendmail swaks smtp-sink m4 cc unshare openssl perl
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init keys policies out hp

nobody_keys alice bob
printf 'alice@a.example %s %s\nbob@a.example %s %s\n' "$pki/alice.crt" "$work/keys/alice.key" \
  "$pki/bob.crt" "$work/keys/bob.key" >"$work/decryption-keys"
echo "decrypt = yes" >"$work/policies/a.example.conf"
write_config "$work/milter.conf" "socket = local:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
  "policy_dir = $work/policies" "decryption_keys = $work/decryption-keys" \
  "harvest_certificates = no"

trap 'sm_stop; stop_milter; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
sm_setup "$work/sm" "$work/milter.sock"
sm_start || exit 1

marker="Decrypt-sendmail-$RANDOM$RANDOM"
# mkenc NAME TO-HEADER signed|plain OPTIONS RECIPIENT: $work/msgs/NAME.eml,
# carol's message (signed or not) encrypted by openssl to RECIPIENT.
mkenc() {
  local name=$1 to=$2 signed=$3 cipher=$4 rcpt=$5 src type=enveloped-data
  printf 'From: Carol <carol@b.example>\nTo: %s\nSubject: decryption e2e\nDate: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@b.example>\nContent-Type: text/plain; charset=us-ascii\n\n%s in %s\n' \
    "$to" "$name" "$marker" "$name" >"$work/msgs/$name.plain"
  src=$work/msgs/$name.plain
  if [ "$signed" = signed ]; then
    "$top/tests/interop/sign-openssl.sh" "$pki" carol "$src" >"$work/msgs/$name.signed" || return 1
    src=$work/msgs/$name.signed
  fi
  mkdir -p "$work/msgs/$name.parts"
  split_message "$src" "$work/msgs/$name.parts"
  "$top/tests/interop/encrypt-tool.sh" openssl "$pki" "$work/msgs/$name.parts/inner" \
    "$work/msgs/$name.der" "$cipher" "$rcpt" || return 1
  [[ $cipher == *gcm* ]] && type=authEnveloped-data
  {
    cat "$work/msgs/$name.parts/outer"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\n' "$type"
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    base64 -w 76 "$work/msgs/$name.der" | sed 's/$/\r/'
  } >"$work/msgs/$name.eml"
}
send() {  # send NAME RCPTS: from outside to the MTA daemon
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$1.eml" >"$work/msgs/$1.swaks"
  swaks --server "127.0.0.1:$SM_PORT" --local-interface 127.0.0.2 --from carol@b.example \
    --to "$2" --data "@$work/msgs/$1.swaks" >"$work/out/$1.swaks" 2>&1
}
relayed() {  # relayed NAME: the sink file with NAME's Message-ID
  grep -l "^Message-ID: <$1@b.example>" "$work"/sm/sink/* 2>/dev/null | head -1
}
show() { [ -n "$1" ] && headers_of "$1" | head -20 | tr '\r\n' '  ' || echo missing; }

mkenc enc-alice 'Alice <alice@a.example>' signed -aes-256-cbc alice || bad "building enc-alice"
sed 's/^Message-ID: <enc-alice@b.example>/Message-ID: <oracle@b.example>/' \
  "$work/msgs/enc-alice.eml" >"$work/msgs/oracle.eml"
mkenc cbc-unsigned 'Alice <alice@a.example>' plain -aes-256-cbc alice || bad "building cbc-unsigned"
mkenc gcm-bob 'Bob <bob@a.example>' plain -aes-256-gcm bob || bad "building gcm-bob"

# Header protection: carol's gateway (smimectl, its own configuration).
hp=$work/hp
mkdir -p "$hp/pol" "$hp/state"
printf '%s\n' "encrypt = required" "header_protection = cipher" >"$hp/pol/a.example.conf"
cp "$pki/carol.key" "$hp/carol.key"
chmod 600 "$hp/carol.key"
echo "carol@b.example $pki/carol.crt $hp/carol.key chain=$pki/carol.chain.pem" >"$hp/ids"
echo "carol carol@b.example" >"$hp/users"
write_config "$hp/out.conf" "sign = clear" "signing_identities = $hp/ids" \
  "signing_users = $hp/users" "policy_dir = $hp/pol" "state_dir = $hp/state"
cat "$pki/alice.crt" "$pki/alice.chain.pem" >"$hp/alice.pem"
printf '%s\r\n' "From: Carol <carol@b.example>" "To: Alice <alice@a.example>" \
  "Subject: figures $marker" "Keywords: finance" "Date: Tue, 01 Dec 2026 00:00:00 +0000" \
  "Message-ID: <hp-cipher@b.example>" "MIME-Version: 1.0" \
  "Content-Type: text/plain; charset=us-ascii" "" "$marker in hp-cipher" >"$hp/in.eml"
if "$SMIMECTL" -c "$hp/out.conf" cert add "$hp/alice.pem" >"$hp/add.log" 2>&1 &&
    "$SMIMECTL" -c "$hp/out.conf" process --outbound --sasl-user carol --rcpt alice@a.example \
      --now "$NOW" "$hp/in.eml" >"$work/msgs/hp-cipher.eml" 2>"$hp/out.log" &&
    grep -q $'^Subject: \\[\\.\\.\\.\\]\r' "$work/msgs/hp-cipher.eml" &&
    ! grep -qF "$marker" "$work/msgs/hp-cipher.eml"; then
  ok "hp-cipher: built with the outer Subject [...], nothing secret outside"
else
  bad "hp-cipher: building: $(cat "$hp/add.log" "$hp/out.log" | tr '\r\n' '  ' | head -c 300)"
fi

send enc-alice alice@a.example
send oracle alice@a.example,zed@a.example
send cbc-unsigned alice@a.example
send gcm-bob bob@a.example
send hp-cipher alice@a.example
sm_wait_sent 5 60 || bad "only $(grep -c stat=Sent "$work/sm/maillog") of 5 relayed"
sleep 1

# 1. Sign-then-encrypt to alice: decrypted, pass for carol.
f=$(relayed enc-alice)
if [ -n "$f" ] && grep -qF "$marker in enc-alice" "$f" &&
   [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ] &&
   [[ $(top_header "$f" Content-Type) == multipart/signed* ]] &&
   [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted)"*"carol@b.example"* ]]; then
  ok "enc-alice: relayed decrypted (multipart/signed), smime=pass (decrypted) for carol"
else
  bad "enc-alice: $(show "$f")"
fi
grep -q "decrypted=aes-256-cbc, key=.*signer=<carol@b.example>.*result=pass" "$work/milter.log" &&
  ok "enc-alice: the log names the cipher and the key" ||
  bad "enc-alice log: $(grep 'verify:' "$work/milter.log" | head -3)"

# 2. The oracle rule: alice + zed (no key) in one transaction: encrypted.
f=$(relayed oracle)
if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
   [[ $(top_header "$f" Content-Type) == application/pkcs7-mime* ]] &&
   [[ $(top_header "$f" Authentication-Results) == *"not decrypted: recipient-without-matching-key"* ]]; then
  ok "oracle: relayed still encrypted (recipient-without-matching-key)"
else
  bad "oracle: $(show "$f")"
fi

# 3. Unsigned CBC: stays encrypted.
f=$(relayed cbc-unsigned)
if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
   [[ $(top_header "$f" Authentication-Results) == *"not decrypted: unauthenticated-cbc"* ]]; then
  ok "cbc-unsigned: still encrypted (unauthenticated-cbc)"
else
  bad "cbc-unsigned: $(show "$f")"
fi

# 4. Unsigned GCM to bob (ECDH): decrypted.
f=$(relayed gcm-bob)
if [ -n "$f" ] && grep -qF "$marker in gcm-bob" "$f" &&
   [[ $(top_header "$f" Authentication-Results) == *"smime=none (decrypted)"* ]]; then
  ok "gcm-bob: AuthEnvelopedData via ECDH relayed decrypted"
else
  bad "gcm-bob: $(show "$f")"
fi

# 5. Header protection: the real Subject and Keywords are back, From: as sent.
f=$(relayed hp-cipher)
if [ -n "$f" ] && grep -qF "$marker in hp-cipher" "$f"; then
  h=$(headers_of "$f" | tr -d '\r')
  problems=""
  [ "$(grep -ci '^Subject:' <<<"$h")" = 1 ] && grep -qx "Subject: figures $marker" <<<"$h" ||
    problems+=" subject"
  grep -qx 'Keywords: finance' <<<"$h" || problems+=" keywords"
  [ "$(grep -ci '^From:' <<<"$h")" = 1 ] && grep -qx 'From: Carol <carol@b.example>' <<<"$h" ||
    problems+=" from"
  grep -qi '^HP-Outer:' <<<"$h" && problems+=" hp-outer-outside"
  [ "$(grep -n -m1 '^Authentication-Results:' <<<"$h" | cut -d: -f1)" -lt \
    "$(grep -n -m1 '^Subject:' <<<"$h" | cut -d: -f1)" ] 2>/dev/null || problems+=" ar-order"
  [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted"*"carol@b.example"* ]] ||
    problems+=" verdict"
  [ -z "$problems" ] && ok "hp-cipher: decrypted, real Subject and Keywords restored, pass for carol" ||
    bad "hp-cipher:$problems: $(head -20 <<<"$h" | tr '\n' ' ')"
else
  bad "hp-cipher: $(show "$f")"
fi
grep -q 'hp_restored=Subject+Keywords' "$work/milter.log" &&
  ok "hp-cipher: log hp_restored=Subject+Keywords" ||
  bad "hp-cipher log: $(grep 'hp_restored' "$work/milter.log" | head -2)"

grep -Eq 'panic:|fatal:|error:' "$work/milter.log" &&
  bad "panic, fatal or error in milter log: $(grep -E 'panic:|fatal:|error:' "$work/milter.log" | head -3)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
