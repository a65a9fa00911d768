#!/usr/bin/env bash
# run-cert-import.sh: `smimectl cert import` (PKCS#12, modern and legacy, to
# ADDR.crt + ADDR.key 0600, refusals, and the written files sign) and the
# identity loader's key checks (mode, encrypted PEM keys and passphrases);
# --decryption and the same checks for decryption_keys.
. "$(dirname "$0")/../lib.sh"
make_pki
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
expect() {  # expect LABEL WANT_RC WANT_OUTPUT_SUBSTRING CMD...
  local label=$1 want=$2 text=$3 rc=0
  shift 3
  "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$work/err" "$work/out"; then
    ok "$label"
  else
    bad "$label: rc=$rc (want $want), output: $(head -c 400 "$work/err" "$work/out")"
  fi
}
mode_of() { stat -c %a "$1"; }
me=$(id -un)
umask 022

# Secrets: the passphrase files must be 0600 to be accepted.
printf 'correct horse\n' >"$work/pass"
printf 'wrong horse\n' >"$work/wrong"
chmod 600 "$work/pass" "$work/wrong"
printf 'correct horse\n' >"$work/pass-open"
chmod 644 "$work/pass-open"

p12() {  # p12 OUT [openssl pkcs12 options]: alice's key, certificate and chain
  local out=$1
  shift
  openssl pkcs12 -export "$@" -in "$pki/alice.crt" -inkey "$pki/alice.key" \
    -certfile "$pki/alice.chain.pem" -name alice -passout file:"$work/pass" -out "$out" 2>"$work/p12.err"
}
p12 "$work/modern.p12" || { echo "FAIL cannot create a PKCS#12 file: $(cat "$work/p12.err")"; exit 1; }
have_legacy=yes
p12 "$work/legacy.p12" -legacy -provider legacy -provider default || have_legacy=no

# The default output folder is the one of signing_identities.
mkdir -p "$work/ids" "$work/policies" "$work/out1" "$work/out2"
write_config "$work/import.conf" "signing_identities = $work/ids/identities"

expect "modern (AES) PKCS#12 imported into the identities folder" 0 \
  "alice@a.example $work/ids/alice@a.example.crt $work/ids/alice@a.example.key" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass"
cp "$work/out" "$work/import.out"
expect "import names the identities file" 0 "add this line to $work/ids/identities:" cat "$work/import.out"
expect "import reminds to chown and reload" 0 "chown smime-milter $work/ids/alice@a.example.key" \
  cat "$work/import.out"
if [ "$(mode_of "$work/ids/alice@a.example.key")" = 600 ]; then
  ok "written key has mode 0600"
else
  bad "written key has mode $(mode_of "$work/ids/alice@a.example.key")"
fi
if head -1 "$work/ids/alice@a.example.key" | grep -qx -- '-----BEGIN PRIVATE KEY-----' &&
   openssl pkey -in "$work/ids/alice@a.example.key" -noout 2>/dev/null; then
  ok "written key is unencrypted PKCS#8 PEM"
else
  bad "written key is not an unencrypted PKCS#8 PEM key"
fi
# The certificate file: alice first, then the intermediate.
openssl x509 -in "$work/ids/alice@a.example.crt" -noout -fingerprint >"$work/first.fp"
openssl x509 -in "$pki/alice.crt" -noout -fingerprint >"$work/alice.fp"
if cmp -s "$work/first.fp" "$work/alice.fp" &&
   [ "$(grep -c 'BEGIN CERTIFICATE' "$work/ids/alice@a.example.crt")" -eq 2 ] &&
   tail -n +2 "$work/ids/alice@a.example.crt" | sed -n '/BEGIN CERT/,$p' | cmp -s - "$pki/alice.chain.pem"; then
  ok "certificate file: leaf, then chain"
else
  bad "certificate file is not leaf then chain"
fi

expect "existing output refused" 78 "refusing to overwrite $work/ids/alice@a.example.crt (use --force)" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass"
expect "--force overwrites" 0 "wrote $work/ids/alice@a.example.key" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass" --force
if [ "$(mode_of "$work/ids/alice@a.example.key")" = 600 ] && [ -z "$(ls -A "$work/ids" | grep '^\.')" ]; then
  ok "overwritten key still 0600, no temporary file left"
else
  bad "after --force: mode $(mode_of "$work/ids/alice@a.example.key"), files: $(ls -A "$work/ids")"
fi

if [ "$have_legacy" = yes ] &&
   openssl pkcs12 -info -noout -in "$work/legacy.p12" -passin file:"$work/pass" 2>&1 |
     grep -q 'pbeWithSHA1And40BitRC2-CBC'; then
  expect "legacy (RC2-40/3DES) PKCS#12 imported" 0 "alice@a.example $work/out1/alice@a.example.crt" \
    "$SMIMECTL" -c "$work/import.conf" cert import "$work/legacy.p12" --passphrase-file "$work/pass" \
    --out-dir "$work/out1"
  if cmp -s "$work/out1/alice@a.example.crt" "$work/ids/alice@a.example.crt" &&
     [ "$(mode_of "$work/out1/alice@a.example.key")" = 600 ]; then
    ok "legacy import gives the same certificate file and a 0600 key"
  else
    bad "legacy import differs"
  fi
else
  bad "cannot create a legacy PKCS#12 file with this openssl: $(cat "$work/p12.err")"
fi

expect "wrong passphrase" 78 "wrong passphrase for $work/modern.p12" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/wrong" \
  --out-dir "$work/out2"
if [ "$have_legacy" = yes ]; then
  expect "wrong passphrase, legacy file" 78 "wrong passphrase for $work/legacy.p12" \
    "$SMIMECTL" -c "$work/import.conf" cert import "$work/legacy.p12" --passphrase-file "$work/wrong" \
    --out-dir "$work/out2"
fi
expect "no passphrase file: empty passphrase tried" 78 "wrong passphrase for $work/modern.p12" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --out-dir "$work/out2"
expect "passphrase file 0644 refused with owner and mode" 78 "refusing $work/pass-open (owner $me, mode 0644)" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass-open" \
  --out-dir "$work/out2"
expect "address the certificate does not name" 78 "does not name bob@a.example (it names: alice@a.example)" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass" \
  --out-dir "$work/out2" --address bob@a.example
expect "not a PKCS#12 file" 78 "is not a PKCS#12 file" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$pki/alice.crt" --out-dir "$work/out2"
expect "missing file argument is a usage error" 64 "import needs a PKCS#12 file" \
  "$SMIMECTL" -c "$work/import.conf" cert import
if [ -z "$(ls -A "$work/out2")" ]; then ok "failed imports wrote nothing"; else bad "failed imports left: $(ls -A "$work/out2")"; fi

# The imported identity signs: the printed line is the identities file.
grep '^alice@a.example ' "$work/import.out" >"$work/ids/identities"
printf 'alice alice@a.example\n' >"$work/signing-users"
write_config "$work/sign.conf" "sign = clear" "signing_identities = $work/ids/identities" \
  "signing_users = $work/signing-users" "policy_dir = $work/policies"
expect "config with the imported identity loads" 0 "ok (" "$SMIMECTL" -c "$work/sign.conf" config check
"$SMIMECTL" -c "$work/sign.conf" process --outbound --sasl-user alice --now "$NOW" \
  "$top/tests/golden/message.eml" >"$work/signed.eml" 2>"$work/sign.err" || true
if grep -qi 'multipart/signed' "$work/signed.eml" &&
   openssl cms -verify -in "$work/signed.eml" -CAfile "$pki/root.crt" -attime "$NOW" \
     -out /dev/null 2>"$work/verify.err"; then
  ok "imported identity signs and openssl verifies"
else
  bad "signing with the imported identity: $(head -c 300 "$work/sign.err") $(head -c 300 "$work/verify.err" 2>/dev/null)"
fi

# RFC 8550 2.3: the chain stops below the trust anchor. A bundle that holds
# the root too (as many CA exports do) is written without it, and an
# identity whose chain file holds the root does not send it.
cat "$pki/alice.chain.pem" "$pki/root.crt" >"$work/with-root.pem"
openssl pkcs12 -export -in "$pki/alice.crt" -inkey "$pki/alice.key" -certfile "$work/with-root.pem" \
  -name alice -passout file:"$work/pass" -out "$work/with-root.p12" 2>"$work/p12.err"
mkdir -p "$work/out3"
expect "bundle with the root: the root is left out" 0 "left out 1 self-signed root certificate" \
  "$SMIMECTL" -c "$work/import.conf" cert import "$work/with-root.p12" --passphrase-file "$work/pass" \
  --out-dir "$work/out3"
root_fp=$(openssl x509 -in "$pki/root.crt" -noout -fingerprint -sha256)
crt_fps() {  # the SHA-256 fingerprints of every certificate in a PEM file
  local f=$1
  while openssl x509 -noout -fingerprint -sha256 2>/dev/null; do :; done <"$f"
}
if [ "$(grep -c 'BEGIN CERTIFICATE' "$work/out3/alice@a.example.crt")" -eq 2 ] &&
   ! crt_fps "$work/out3/alice@a.example.crt" | grep -qxF "$root_fp" &&
   cmp -s "$work/out3/alice@a.example.crt" "$work/ids/alice@a.example.crt"; then
  ok "bundle with the root: written file is leaf and intermediate only"
else
  bad "bundle with the root: written file holds $(grep -c 'BEGIN CERTIFICATE' "$work/out3/alice@a.example.crt") certificates"
fi
printf 'alice@a.example %s %s chain=%s\n' "$pki/alice.crt" "$work/ids/alice@a.example.key" \
  "$work/with-root.pem" >"$work/ids/identities-root"
write_config "$work/sign-root.conf" "sign = opaque" "signing_identities = $work/ids/identities-root" \
  "signing_users = $work/signing-users" "policy_dir = $work/policies"
"$SMIMECTL" -c "$work/sign-root.conf" process --outbound --sasl-user alice --now "$NOW" \
  "$top/tests/golden/message.eml" >"$work/signed-root.eml" 2>"$work/sign.err" || true
if openssl cms -verify -in "$work/signed-root.eml" -CAfile "$pki/root.crt" -attime "$NOW" \
     -out /dev/null -certsout "$work/carried.pem" 2>"$work/verify.err" &&
   [ "$(grep -c 'BEGIN CERTIFICATE' "$work/carried.pem")" = 2 ] &&
   ! crt_fps "$work/carried.pem" | grep -qxF "$root_fp"; then
  ok "signature carries leaf and intermediate, not the root, and verifies"
else
  bad "signature with a root in the chain file: $(head -c 300 "$work/verify.err") $(grep -c 'BEGIN CERTIFICATE' "$work/carried.pem" 2>/dev/null) certificates"
fi

# --- the identity loader ------------------------------------------------------
ident_conf() {  # ident_conf NAME LINE: a config whose identities file is LINE
  printf '%s\n' "$2" >"$work/$1.ids"
  write_config "$work/$1.conf" "signing_identities = $work/$1.ids" \
    "signing_users = $work/signing-users" "policy_dir = $work/policies"
}
cp "$pki/alice.key" "$work/open.key"
chmod 644 "$work/open.key"
ident_conf open "alice@a.example $pki/alice.crt $work/open.key chain=$pki/alice.chain.pem"
expect "key file 0644 refused with owner and mode" 78 "refusing $work/open.key (owner $me, mode 0644)" \
  "$SMIMECTL" -c "$work/open.conf" config check

openssl pkey -in "$pki/alice.key" -aes256 -passout file:"$work/pass" -out "$work/enc.key"
chmod 600 "$work/enc.key"
ident_conf enc "alice@a.example $pki/alice.crt $work/enc.key chain=$pki/alice.chain.pem passphrase_file=$work/pass"
expect "encrypted PEM key with passphrase_file loads" 0 "ok (" "$SMIMECTL" -c "$work/enc.conf" config check
ident_conf encwrong "alice@a.example $pki/alice.crt $work/enc.key passphrase_file=$work/wrong"
expect "encrypted key, wrong passphrase" 78 "wrong passphrase" "$SMIMECTL" -c "$work/encwrong.conf" config check
ident_conf encnopass "alice@a.example $pki/alice.crt $work/enc.key"
expect "encrypted key without passphrase_file" 78 "is encrypted" "$SMIMECTL" -c "$work/encnopass.conf" config check
ident_conf encopenpass "alice@a.example $pki/alice.crt $work/enc.key passphrase_file=$work/pass-open"
expect "passphrase_file 0644 refused" 78 "refusing $work/pass-open (owner $me, mode 0644)" \
  "$SMIMECTL" -c "$work/encopenpass.conf" config check

# --- a decryption key (docs/decryption.md) ---------------------------------------
# --decryption: ADDR.SERIAL.crt/.key in the folder of decryption_keys, the
# line for that file, and the files load as a decryption key (encrypted
# PEM keys with passphrase_file too: the identities' loader).
mkdir -p "$work/dk"
write_config "$work/dk.conf" "decryption_keys = $work/dk/decryption-keys" \
  "policy_dir = $work/policies"
expect "--decryption imports into the decryption_keys folder, named by serial" 0 \
  "alice@a.example $work/dk/alice@a.example.1001.crt $work/dk/alice@a.example.1001.key" \
  "$SMIMECTL" -c "$work/dk.conf" cert import "$work/modern.p12" --passphrase-file "$work/pass" --decryption
cp "$work/out" "$work/dk-import.out"
expect "--decryption names the decryption_keys file" 0 "add this line to $work/dk/decryption-keys:" \
  cat "$work/dk-import.out"
grep '^alice@a.example ' "$work/dk-import.out" >"$work/dk/decryption-keys"
expect "the imported decryption key loads and policy explain lists it" 0 \
  "alice@a.example  # $work/dk/decryption-keys:1" \
  "$SMIMECTL" -c "$work/dk.conf" policy explain alice@a.example
printf 'alice@a.example %s %s passphrase_file=%s\n' "$pki/alice.crt" "$work/enc.key" "$work/pass" \
  >"$work/dk/decryption-keys"
expect "encrypted decryption key with passphrase_file loads" 0 "ok (" \
  "$SMIMECTL" -c "$work/dk.conf" config check
printf 'alice@a.example %s %s\n' "$pki/alice.crt" "$work/open.key" >"$work/dk/decryption-keys"
expect "decryption key file 0644 refused" 78 "decryption-keys:1: refusing $work/open.key" \
  "$SMIMECTL" -c "$work/dk.conf" config check

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
