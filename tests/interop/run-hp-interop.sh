#!/usr/bin/env bash
# run-hp-interop.sh: Header Protection (RFC 9788, docs/header-protection.md)
# of what WE sign and encrypt (smimectl process --outbound), read by the
# openssl command line, and by our own inbound verification.
#   clear: b.example asks for header_protection = clear; the signed message
#     verifies with `openssl cms -verify`, whose content (the signed entity)
#     carries hp="clear" and the protected fields; the outer header is
#     unchanged; our inbound side says pass with the hp comment.
#   cipher: b.example asks for encrypt = required and header_protection =
#     cipher; the outer Subject is [...], the real one and Keywords appear
#     nowhere outside; `openssl cms -decrypt` with carol's key, then
#     `openssl cms -verify`, give the signed entity with hp="cipher", the real
#     fields and HP-Outer lines (User-Agent too: every field the author
#     wrote), and hp-legacy-display="1" with the real Subject as the first
#     line of the text (RFC 9788 section 5.2.2).
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$top/tests/interop/common.sh"
command -v openssl >/dev/null || skip_or_fail "openssl not installed"
make_pki

cp "$pki/alice.key" "$work/alice.key"
chmod 600 "$work/alice.key"
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
echo "alice alice@a.example" >"$work/users"
mkdir -p "$work/pol-clear" "$work/pol-cipher"
echo "header_protection = clear" >"$work/pol-clear/b.example.conf"
printf '%s\n' "encrypt = required" "header_protection = cipher" >"$work/pol-cipher/b.example.conf"
for p in clear cipher; do
  write_config "$work/$p.conf" "sign = clear" "signing_identities = $work/identities" \
    "signing_users = $work/users" "policy_dir = $work/pol-$p"
done
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol.pem"
"$SMIMECTL" -c "$work/cipher.conf" cert add "$work/carol.pem" >/dev/null 2>&1 ||
  bad "cert add carol.pem failed"

printf '%s\r\n' "From: Alice <alice@a.example>" "To: Carol <carol@b.example>" \
  "Subject: figures for Q4" "Keywords: finance" "Date: Mon, 01 Jun 2026 00:00:00 +0000" \
  "Message-ID: <hp-interop@a.example>" "User-Agent: Sample MUA 1.0" "MIME-Version: 1.0" \
  "Content-Type: text/plain; charset=us-ascii" "" "Hello Carol," "the figures." >"$work/in.eml"

# has FILE TEXT: FILE contains the fixed string TEXT.
has() { grep -qF -- "$2" "$1"; }

# ---------------------------------------------------------------- clear
"$SMIMECTL" -c "$work/clear.conf" process --outbound --sasl-user alice --rcpt carol@b.example \
  --now "$NOW" "$work/in.eml" >"$work/signed.eml" 2>"$work/signed.log" ||
  bad "clear: smimectl --outbound failed: $(one_line <"$work/signed.log")"
has "$work/signed.log" "hp=clear" && ok "clear: log says hp=clear" ||
  bad "clear: log: $(one_line <"$work/signed.log")"
if openssl cms -verify -CAfile "$pki/trust.pem" -attime "$NOW" -in "$work/signed.eml" \
    -out "$work/signed.content" 2>"$work/verify.err"; then
  ok "clear: openssl cms -verify"
else
  bad "clear: openssl cms -verify: $(one_line <"$work/verify.err")"
fi
for want in 'hp="clear"' "From: Alice <alice@a.example>" "To: Carol <carol@b.example>" \
    "Subject: figures for Q4" "Keywords: finance" "Message-ID: <hp-interop@a.example>"; do
  has "$work/signed.content" "$want" && ok "clear: signed entity has $want" ||
    bad "clear: signed entity lacks $want"
done
has "$work/signed.content" "HP-Outer" && bad "clear: HP-Outer in a signed-only message" ||
  ok "clear: no HP-Outer"
has "$work/signed.eml" $'Subject: figures for Q4\r' && ok "clear: outer Subject unchanged" ||
  bad "clear: outer Subject changed"
"$SMIMECTL" -c "$work/clear.conf" process --inbound --now "$NOW" "$work/signed.eml" \
  >"$work/back.eml" 2>"$work/back.log"
if tr -d '\r' <"$work/back.eml" | sed '/^$/q' | tr -d '\n\t' |
    grep -qF 'smime=pass (hp=clear protects From To Subject Keywords Date Message-ID and 1 other fields)'; then
  ok "clear: our inbound verdict is pass with the hp comment"
else
  bad "clear: inbound: $(one_line <"$work/back.log")"
fi

# ---------------------------------------------------------------- cipher
"$SMIMECTL" -c "$work/cipher.conf" process --outbound --sasl-user alice --rcpt carol@b.example \
  --now "$NOW" "$work/in.eml" >"$work/enc.eml" 2>"$work/enc.log" ||
  bad "cipher: smimectl --outbound failed: $(one_line <"$work/enc.log")"
has "$work/enc.log" "hp=cipher" && ok "cipher: log says hp=cipher" ||
  bad "cipher: log: $(one_line <"$work/enc.log")"
has "$work/enc.eml" $'Subject: [...]\r' && ok "cipher: outer Subject is [...]" ||
  bad "cipher: outer Subject is not [...]"
for secret in "figures" "Keywords" "finance"; do
  has "$work/enc.eml" "$secret" && bad "cipher: '$secret' outside the encryption" ||
    ok "cipher: '$secret' not outside"
done
if openssl cms -decrypt -recip "$pki/carol.crt" -inkey "$pki/carol.key" -in "$work/enc.eml" \
    -out "$work/dec.eml" 2>"$work/decrypt.err"; then
  ok "cipher: openssl cms -decrypt"
else
  bad "cipher: openssl cms -decrypt: $(one_line <"$work/decrypt.err")"
fi
if openssl cms -verify -CAfile "$pki/trust.pem" -attime "$NOW" -in "$work/dec.eml" \
    -out "$work/inner" 2>"$work/verify2.err"; then
  ok "cipher: openssl cms -verify of the decrypted message"
else
  bad "cipher: openssl cms -verify: $(one_line <"$work/verify2.err")"
fi
for want in 'hp="cipher"' 'hp-legacy-display="1"' "Subject: figures for Q4" "Keywords: finance" \
    "HP-Outer: Subject: [...]" "HP-Outer: From: Alice <alice@a.example>" \
    "User-Agent: Sample MUA 1.0" "HP-Outer: User-Agent: Sample MUA 1.0"; do
  has "$work/inner" "$want" && ok "cipher: inner entity has $want" ||
    bad "cipher: inner entity lacks $want"
done
has "$work/inner" "HP-Outer: Keywords" && bad "cipher: HP-Outer records a removed Keywords" ||
  ok "cipher: no HP-Outer for the removed Keywords"

first=$(tr -d '\r' <"$work/inner" | sed '1,/^$/d' | head -n 1)
[ "$first" = "Subject: figures for Q4" ] && ok "cipher: the text starts with the Legacy Display Element" ||
  bad "cipher: first line of the text: $first"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
