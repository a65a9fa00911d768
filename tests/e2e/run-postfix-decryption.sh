#!/usr/bin/env bash
# run-postfix-decryption.sh: inbound decryption end to end through a real
# Postfix with the milter as nobody (docs/decryption.md).
#
# Our users at a.example (decrypt = yes; keys in decryption_keys, owned by
# nobody): alice (test PKI, RSA) and bob (test PKI, EC P-256); zed@a.example
# has a mailbox but no key. Mail arrives from outside (127.0.0.1 on the MTA
# port, not in internal_hosts), made with `openssl cms -encrypt`:
# - signed by carol@b.example (tests/interop/sign-openssl.sh), then AES-256-
#   CBC to alice, RCPT alice: delivered decrypted (the marker text readable,
#   multipart/signed, no pkcs7-mime), `smime=pass (decrypted)` for carol, and
#   a milter log line with decrypted=aes-256-cbc and key=;
# - the oracle rule: the same ciphertext (to alice only) with RCPT alice and
#   zed in ONE transaction: both copies arrive still encrypted, with
#   `not decrypted: recipient-without-matching-key`, the marker nowhere;
# - unsigned AES-256-CBC to alice: stays encrypted (unauthenticated-cbc);
# - unsigned AES-256-GCM (AuthEnvelopedData) to bob (ECDH): decrypted;
# - sign-then-encrypt made by gpgsm and by NSS cmsutil (RSA, CBC) and by
#   Bouncy Castle (AES-256-GCM, RSA-OAEP; one JVM) to alice: decrypted,
#   smime=pass for carol (a missing tool is a skip, a failure in strict
#   mode);
# - RFC 9788: a message we produced (`smimectl process --outbound`, carol
#   signs, encrypted to alice, header_protection = cipher: the outer Subject
#   is [...], Keywords only inside) arrives decrypted with the real Subject
#   and Keywords back in the outer header, From: untouched, smime=pass for
#   carol, and the log says hp_restored=Subject+Keywords.
# Envelopes come from tests/interop/encrypt-tool.sh.
# Needs root, Postfix and swaks (skips otherwise, a failure in strict mode).
# ok/bad return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# split_message (before milter-lib.sh, whose ok/bad and counters win)
# shellcheck source=../interop/common.sh
. "$(dirname "$0")/../interop/common.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix swaks openssl perl
e2e_init keys policies out

nobody_keys alice bob
printf 'alice@a.example %s %s\nbob@a.example %s %s\n' "$pki/alice.crt" "$work/keys/alice.key" \
  "$pki/bob.crt" "$work/keys/bob.key" >"$work/decryption-keys"
echo "decrypt = yes" >"$work/policies/a.example.conf"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
  "policy_dir = $work/policies" "decryption_keys = $work/decryption-keys" \
  "harvest_certificates = no"

trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
cat >"$work/pf/etc/vmailbox" <<EOF
alice@a.example a/alice/
bob@a.example a/bob/
zed@a.example a/zed/
EOF
postconf -c "$work/pf/etc" -e "virtual_mailbox_domains = a.example, b.example"
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

marker="Decrypt-e2e-$RANDOM$RANDOM"
# mkenc NAME TO-HEADER signed|plain TOOL OPTIONS RECIPIENT: $work/msgs/NAME.eml,
# carol's message (signed or not) encrypted by TOOL (tests/interop/encrypt-tool.sh)
# to the test PKI's RECIPIENT, Message-ID <NAME@b.example>.
mkenc() {
  local name=$1 to=$2 signed=$3 tool=$4 cipher=$5 rcpt=$6 src type=enveloped-data
  printf 'From: Carol <carol@b.example>\nTo: %s\nSubject: decryption e2e\nDate: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@b.example>\nContent-Type: text/plain; charset=us-ascii\n\n%s in %s\n' \
    "$to" "$name" "$marker" "$name" >"$work/msgs/$name.plain"
  src=$work/msgs/$name.plain
  if [ "$signed" = signed ]; then
    "$top/tests/interop/sign-openssl.sh" "$pki" carol "$src" >"$work/msgs/$name.signed" || return 1
    src=$work/msgs/$name.signed
  fi
  mkdir -p "$work/msgs/$name.parts"
  split_message "$src" "$work/msgs/$name.parts"
  "$top/tests/interop/encrypt-tool.sh" "$tool" "$pki" "$work/msgs/$name.parts/inner" \
    "$work/msgs/$name.der" "$cipher" "$rcpt" || return 1
  [[ $cipher == *gcm* ]] && type=authEnveloped-data
  {
    cat "$work/msgs/$name.parts/outer"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\n' "$type"
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    base64 -w 76 "$work/msgs/$name.der" | sed 's/$/\r/'
  } >"$work/msgs/$name.eml"
}
send() {  # send NAME RCPTS: from outside to the MTA port
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$1.eml" >"$work/msgs/$1.swaks"
  swaks --server "127.0.0.1:$PF_PORT" --from carol@b.example --to "$2" \
    --data "@$work/msgs/$1.swaks" >"$work/out/$1.swaks" 2>&1
}
delivered() {  # delivered NAME MAILBOX: the file delivered to a/MAILBOX with NAME's Message-ID
  grep -l "^Message-ID: <$1@b.example>" "$work/pf/mail/a/$2/new/"* 2>/dev/null | head -1
}

mkenc enc-alice 'Alice <alice@a.example>' signed openssl -aes-256-cbc alice ||
  bad "building enc-alice"
cp "$work/msgs/enc-alice.eml" "$work/msgs/oracle.eml"
sed -i 's/^Message-ID: <enc-alice@b.example>/Message-ID: <oracle@b.example>/' "$work/msgs/oracle.eml"
mkenc cbc-unsigned 'Alice <alice@a.example>' plain openssl -aes-256-cbc alice ||
  bad "building cbc-unsigned"
mkenc gcm-bob 'Bob <bob@a.example>' plain openssl -aes-256-gcm bob || bad "building gcm-bob"
# The other implementations (RSA, their default CBC cipher), signed inside.
others=()
if command -v gpgsm >/dev/null && command -v gpgconf >/dev/null; then others+=(gpgsm); else
  skip_part "gpgsm not installed"; fi
if command -v cmsutil >/dev/null && command -v certutil >/dev/null; then others+=(nss); else
  skip_part "NSS cmsutil/certutil not installed"; fi
if "$top/tests/interop/verify-bc.sh" available >/dev/null; then others+=(bc); else
  skip_part "Bouncy Castle: $("$top/tests/interop/verify-bc.sh" available)"; fi
export SMIME_BC_CLASSES=$build/tests/.work/bc-classes
for t in "${others[@]}"; do
  opts=-
  [ "$t" = bc ] && opts=aes256-gcm,oaep
  mkenc "$t-alice" 'Alice <alice@a.example>' signed "$t" "$opts" alice || bad "building $t-alice"
done

# Header protection: carol's gateway (smimectl with its own configuration)
# signs and encrypts to alice with header_protection = cipher.
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
    grep -q 'hp=cipher' "$hp/out.log" && grep -q $'^Subject: \[\.\.\.\]\r' "$work/msgs/hp-cipher.eml" &&
    ! grep -qF "$marker" "$work/msgs/hp-cipher.eml"; then
  ok "hp-cipher: built with the outer Subject [...], nothing secret outside"
else
  bad "hp-cipher: building: $(cat "$hp/add.log" "$hp/out.log" | tr '\r\n' '  ' | head -c 300)"
fi

send enc-alice alice@a.example
send oracle alice@a.example,zed@a.example
send cbc-unsigned alice@a.example
send gcm-bob bob@a.example
for t in "${others[@]}"; do send "$t-alice" alice@a.example; done
send hp-cipher alice@a.example
want=$((6 + ${#others[@]}))
pf_wait_delivered "$want" 60 || bad "only $(pf_delivered) of $want deliveries arrived"

# 1. Sign-then-encrypt to alice: decrypted, pass for carol.
f=$(delivered enc-alice alice)
if [ -n "$f" ] && grep -qF "$marker in enc-alice" "$f" &&
   ! grep -qi '^Content-Type: application/pkcs7-mime' "$f" &&
   [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted)"*"carol@b.example"* ]]; then
  ok "enc-alice: delivered decrypted, smime=pass (decrypted) for carol"
else
  bad "enc-alice: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ')"
fi
grep -q "decrypted=aes-256-cbc, key=.*signer=<carol@b.example>.*result=pass" "$work/milter.log" &&
  ok "enc-alice: the log names the cipher and the key" ||
  bad "enc-alice log: $(grep 'verify:' "$work/milter.log" | head -3)"

# 2. The oracle rule: alice + zed (no key) in one transaction: both encrypted.
for who in alice zed; do
  f=$(delivered oracle "$who")
  if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
     grep -qi '^Content-Type: application/pkcs7-mime' "$f" &&
     [[ $(top_header "$f" Authentication-Results) == *"not decrypted: recipient-without-matching-key"* ]]; then
    ok "oracle: $who's copy still encrypted (recipient-without-matching-key)"
  else
    bad "oracle: $who's copy: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ' || echo missing)"
  fi
done
grep -q 'decrypted=no, decrypt_why=recipient-without-matching-key.*detail=zed@a.example' "$work/milter.log" &&
  ok "oracle: the log names the recipient without a key" ||
  bad "oracle log: $(grep 'recipient-without' "$work/milter.log" | head -2)"

# 3. Unsigned CBC: stays encrypted.
f=$(delivered cbc-unsigned alice)
if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
   [[ $(top_header "$f" Authentication-Results) == *"not decrypted: unauthenticated-cbc"* ]]; then
  ok "cbc-unsigned: still encrypted (unauthenticated-cbc)"
else
  bad "cbc-unsigned: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ' || echo missing)"
fi

# 4. Unsigned GCM to bob (ECDH): decrypted.
f=$(delivered gcm-bob bob)
if [ -n "$f" ] && grep -qF "$marker in gcm-bob" "$f" &&
   [[ $(top_header "$f" Authentication-Results) == *"smime=none (decrypted)"* ]]; then
  ok "gcm-bob: AuthEnvelopedData via ECDH delivered decrypted"
else
  bad "gcm-bob: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ' || echo missing)"
fi

# 5. gpgsm, NSS and Bouncy Castle encrypted (sign-then-encrypt) to alice:
#    decrypted, pass.
for t in "${others[@]}"; do
  f=$(delivered "$t-alice" alice)
  if [ -n "$f" ] && grep -qF "$marker in $t-alice" "$f" &&
     [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted)"*"carol@b.example"* ]]; then
    ok "$t-alice: $t's envelope delivered decrypted, smime=pass for carol"
  else
    bad "$t-alice: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ' || echo missing)"
  fi
done

# 6. Header protection: the real Subject and Keywords are back, From: as sent.
f=$(delivered hp-cipher alice)
if [ -n "$f" ] && grep -qF "$marker in hp-cipher" "$f"; then
  h=$(headers_of "$f" | tr -d '\r')
  problems=""
  [ "$(grep -ci '^Subject:' <<<"$h")" = 1 ] && grep -qx "Subject: figures $marker" <<<"$h" ||
    problems+=" subject"
  grep -qx 'Keywords: finance' <<<"$h" || problems+=" keywords"
  [ "$(grep -ci '^From:' <<<"$h")" = 1 ] && grep -qx 'From: Carol <carol@b.example>' <<<"$h" ||
    problems+=" from"
  grep -qi '^HP-Outer:' <<<"$h" && problems+=" hp-outer-outside"
  # Our verdict comes before the restored fields (inserted at the top).
  [ "$(grep -n -m1 '^Authentication-Results:' <<<"$h" | cut -d: -f1)" -lt \
    "$(grep -n -m1 '^Subject:' <<<"$h" | cut -d: -f1)" ] 2>/dev/null || problems+=" ar-order"
  [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted"*"carol@b.example"* ]] ||
    problems+=" verdict"
  [ -z "$problems" ] && ok "hp-cipher: decrypted, real Subject and Keywords restored, pass for carol" ||
    bad "hp-cipher:$problems: $(head -20 <<<"$h" | tr '\n' ' ')"
else
  bad "hp-cipher: $( [ -n "$f" ] && headers_of "$f" | head -20 | tr '\r\n' '  ' || echo missing)"
fi
grep -q 'hp_restored=Subject+Keywords' "$work/milter.log" && ok "hp-cipher: log hp_restored=Subject+Keywords" ||
  bad "hp-cipher log: $(grep 'hp-cipher\|hp_restored' "$work/milter.log" | head -2)"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
