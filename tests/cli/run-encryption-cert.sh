#!/usr/bin/env bash
# run-encryption-cert.sh: an identity with a separate encryption
# certificate (identities option encryption_cert=FILE). alice signs through
# `smimectl process --outbound`; the signature must carry her
# keyEncipherment-only certificate and name its serial in
# SMIMEEncryptionKeyPreference; `openssl cms` encrypts a reply to the
# certificate taken from the signature, which only the encryption key opens
# (not the signing key); our own inbound verification still passes. Start-up
# refuses an encryption certificate for another address. `smimectl cert
# import --encryption-cert` writes it next to the identity and names it.
# Inputs: the build tree (lib.sh), openssl. Exit: 0 all passed, 1 some failed.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
make_pki
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
command -v openssl >/dev/null || skip_or_fail "openssl missing"

# alice's encryption certificate, issued by the test intermediate with the
# fixed validity of the test PKI (openssl ca: start and end dates).
ca=$work/ca
mkdir -p "$ca"
: >"$ca/index.txt"
echo 5001 >"$ca/serial"
printf '%s\n' "[ca]" "default_ca = c" "[c]" "database = $ca/index.txt" "new_certs_dir = $ca" \
  "serial = $ca/serial" "default_md = sha256" "policy = p" "unique_subject = no" \
  "[p]" "commonName = supplied" "[enc]" "basicConstraints = critical,CA:FALSE" \
  "keyUsage = critical,keyEncipherment" "extendedKeyUsage = emailProtection" \
  "subjectAltName = email:\$ENV::ADDR" "subjectKeyIdentifier = hash" \
  "authorityKeyIdentifier = keyid" "[signonly]" "basicConstraints = critical,CA:FALSE" \
  "keyUsage = critical,digitalSignature" "extendedKeyUsage = emailProtection" \
  "subjectAltName = email:\$ENV::ADDR" >"$ca/ca.cnf"
# enc NAME ADDR [SECTION]: $work/NAME.crt + .key for ADDR, keyEncipherment
# only (SECTION signonly: digitalSignature only).
enc() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$work/$1.key" -subj "/CN=$2 encryption" \
    -out "$work/$1.csr" 2>/dev/null &&
    ADDR=$2 openssl ca -batch -config "$ca/ca.cnf" -cert "$pki/inter.crt" -keyfile "$pki/inter.key" \
      -in "$work/$1.csr" -out "$work/$1.crt" -startdate 20250101000000Z -enddate 20300101000000Z \
      -extensions "${3:-enc}" -notext 2>"$work/ca.err"
}
if ! enc alice-enc alice@a.example || ! enc bob-enc bob@a.example ||
  ! enc alice-signonly alice@a.example signonly; then
  echo "FAIL cannot issue encryption certificates: $(cat "$work/ca.err")"
  exit 1
fi

echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" \
  "encryption_cert=$work/alice-enc.crt" >"$work/ids"
write_config "$work/out.conf" "sign = clear" "signing_identities = $work/ids" \
  "signing_users = $work/users"
sed 's/^From: .*/From: Alice <alice@a.example>/' "$top/tests/golden/message.eml" >"$work/in.eml"
if "$SMIMECTL" -c "$work/out.conf" process --outbound --sasl-user alice --rcpt partner@c.example \
  --now "$NOW" "$work/in.eml" >"$work/signed.eml" 2>"$work/signed.log" &&
  grep -q 'action=signed' "$work/signed.log"; then
  ok "alice signs with encryption_cert"
else
  bad "signing: $(cat "$work/signed.log")"
fi

if ! openssl smime -pk7out -in "$work/signed.eml" -out "$work/sig.pem" 2>/dev/null ||
  ! openssl pkcs7 -print_certs -in "$work/sig.pem" -out "$work/carried.pem" 2>/dev/null; then
  bad "cannot read the signature's certificates"
fi
# The carried certificate with alice-enc's fingerprint, as its own file.
want=$(openssl x509 -in "$work/alice-enc.crt" -noout -fingerprint -sha256)
awk -v d="$work" '/BEGIN CERT/{n++} n{print > (d "/carried-" n ".pem")}' "$work/carried.pem"
found=
for f in "$work"/carried-*.pem; do
  [ "$(openssl x509 -in "$f" -noout -fingerprint -sha256 2>/dev/null)" = "$want" ] && found=$f
done
if [ -n "$found" ]; then
  ok "the signature carries the encryption certificate"
else
  bad "encryption certificate not carried: $(grep -c BEGIN "$work/carried.pem") certificates"
fi
openssl cms -cmsout -print -in "$work/sig.pem" -inform PEM >"$work/sig.txt" 2>/dev/null
serial=$(openssl x509 -in "$work/alice-enc.crt" -noout -serial | sed 's/serial=//')
# openssl prints the attribute's value (IssuerAndSerialNumber) as a hex dump
# under its name: the serial's bytes must be in it.
if grep -i -A14 "encrypKeyPref\|Encryption Key Preference" "$work/sig.txt" | tr -d ' :\n-' |
  grep -qi "$serial"; then
  ok "SMIMEEncryptionKeyPreference names the encryption certificate's serial"
else
  bad "key preference does not name serial $serial: $(grep -i -A14 'KeyPref\|Key Preference' "$work/sig.txt" | head -20)"
fi

printf 'Re: figures\r\n' >"$work/reply.txt"
if [ -n "$found" ] &&
  openssl cms -encrypt -aes256 -in "$work/reply.txt" -out "$work/reply.p7m" "$found" 2>/dev/null &&
  openssl cms -decrypt -in "$work/reply.p7m" -inkey "$work/alice-enc.key" -out "$work/reply.out" 2>/dev/null &&
  cmp -s "$work/reply.txt" "$work/reply.out"; then
  ok "openssl cms encrypts to the carried certificate; its key decrypts"
else
  bad "encrypt/decrypt round trip through the carried certificate"
fi
if openssl cms -decrypt -in "$work/reply.p7m" -inkey "$pki/alice.key" -out /dev/null 2>/dev/null; then
  bad "the signing key opened a reply meant for the encryption key"
else
  ok "the signing key does not open it"
fi

write_config "$work/in.conf"
v=$(verdict_of "$work/in.conf" "$work/signed.eml")
if [ "$v" = "pass " ]; then ok "our inbound verification passes it"; else bad "inbound verdict: $v"; fi

# Start-up refuses another address's certificate, with file:line.
echo "alice@a.example $pki/alice.crt $pki/alice.key encryption_cert=$work/bob-enc.crt" >"$work/ids-bad"
write_config "$work/bad.conf" "sign = clear" "signing_identities = $work/ids-bad" \
  "signing_users = $work/users"
if "$SMIMECTL" -c "$work/bad.conf" process --outbound --sasl-user alice --now "$NOW" \
  "$work/in.eml" >/dev/null 2>"$work/bad.log"; then
  bad "an encryption certificate for bob was accepted for alice"
elif grep -qF "ids-bad:1: encryption certificate $work/bob-enc.crt does not name alice@a.example" \
  "$work/bad.log"; then
  ok "another address's encryption certificate refused at start-up"
else
  bad "refusal text: $(cat "$work/bad.log")"
fi

# smimectl cert import --encryption-cert writes ADDR.enc.crt and names it
# in the identities line; the line loads and signs as above.
printf 'pw\n' >"$work/pass"
chmod 600 "$work/pass"
openssl pkcs12 -export -in "$pki/alice.crt" -inkey "$pki/alice.key" -certfile "$pki/alice.chain.pem" \
  -passout file:"$work/pass" -out "$work/alice.p12" 2>/dev/null || bad "cannot make alice.p12"
mkdir -p "$work/imp"
"$SMIMECTL" -c "$work/out.conf" cert import "$work/alice.p12" --passphrase-file "$work/pass" \
  --out-dir "$work/imp" --encryption-cert "$work/alice-enc.crt" >"$work/imp.out" 2>&1
line="alice@a.example $work/imp/alice@a.example.crt $work/imp/alice@a.example.key encryption_cert=$work/imp/alice@a.example.enc.crt"
if grep -qxF "$line" "$work/imp.out" &&
  cmp -s <(openssl x509 -in "$work/imp/alice@a.example.enc.crt" -outform DER) \
    <(openssl x509 -in "$work/alice-enc.crt" -outform DER); then
  ok "cert import --encryption-cert writes the certificate and the identities line"
else
  bad "cert import --encryption-cert: $(cat "$work/imp.out")"
fi
echo "$line" >"$work/ids-imp"
write_config "$work/imp.conf" "sign = clear" "signing_identities = $work/ids-imp" \
  "signing_users = $work/users"
if "$SMIMECTL" -c "$work/imp.conf" process --outbound --sasl-user alice --rcpt partner@c.example \
  --now "$NOW" "$work/in.eml" 2>"$work/imp.log" | openssl smime -pk7out 2>/dev/null |
  openssl pkcs7 -print_certs 2>/dev/null | grep -q "alice@a.example encryption"; then
  ok "the imported line signs and carries the encryption certificate"
else
  bad "imported line: $(cat "$work/imp.log")"
fi
if "$SMIMECTL" -c "$work/out.conf" cert import "$work/alice.p12" --passphrase-file "$work/pass" \
  --out-dir "$work/imp" --encryption-cert "$work/bob-enc.crt" --force >"$work/imp2.out" 2>&1; then
  bad "cert import accepted bob's encryption certificate for alice"
elif grep -qF "bob-enc.crt does not name alice@a.example" "$work/imp2.out"; then
  ok "cert import refuses an encryption certificate for another address"
else
  bad "cert import refusal: $(cat "$work/imp2.out")"
fi
if "$SMIMECTL" -c "$work/out.conf" cert import "$work/alice.p12" --passphrase-file "$work/pass" \
  --out-dir "$work/imp" --encryption-cert "$work/alice-signonly.crt" --force >"$work/imp3.out" 2>&1; then
  bad "cert import accepted a signing-only certificate as encryption certificate"
elif grep -qF "is not fit for S/MIME encryption" "$work/imp3.out"; then
  ok "cert import refuses a certificate unfit for encryption"
else
  bad "cert import refusal: $(cat "$work/imp3.out")"
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
