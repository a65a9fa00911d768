#!/usr/bin/env bash
# run-softhsm.sh: signing identities whose keys live on a PKCS#11 token.
#
# Builds a private SoftHSM2 token under $work (SOFTHSM2_CONF), imports
# alice's RSA key and bob's P-256 key (with their certificates: libp11 needs
# the public half of an EC key on the token), lists them in an identities
# file as pkcs11: URIs and has `smimectl process --outbound` sign with them
# (clear, opaque, RSA-PSS; 20 in a row with bench); the output must verify with `openssl cms -verify` and pass our own inbound
# check. Then the refusals, each exit 78 with a clear message: wrong PIN,
# no such object, a PIN file others can read, no pkcs11_module, no PIN file,
# a PIN in the URI. Skips (77) only without softhsm2-util, pkcs11-tool or
# libp11's OpenSSL engine (Debian: softhsm2, opensc,
# libengine-pkcs11-openssl; contrib/install-deps.sh installs them).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
  [ -r "$m" ] && { module=$m; break; }
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null; then
  skip_or_fail "softhsm2 not installed"
fi
command -v pkcs11-tool >/dev/null || skip_or_fail "pkcs11-tool (opensc) not installed"
openssl engine pkcs11 >/dev/null 2>&1 || skip_or_fail "OpenSSL engine pkcs11 (libengine-pkcs11-openssl) not installed"
make_pki
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# --- a private token ---------------------------------------------------------
umask 077  # the token, the key copies on their way in, the PIN files
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" \
  >"$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label "smime test" --so-pin 87654321 --pin 123456 >/dev/null ||
  { echo "FAIL cannot create a SoftHSM2 token"; exit 1; }
p11() { pkcs11-tool --module "$module" --token-label "smime test" --login --pin 123456 "$@" >/dev/null; }
for who in alice:01 bob:02; do
  name=${who%%:*} id=${who#*:}
  openssl pkey -in "$pki/$name.key" -outform DER -out "$work/$name.key.der"
  openssl x509 -in "$pki/$name.crt" -outform DER -out "$work/$name.crt.der"
  if ! p11 --write-object "$work/$name.key.der" --type privkey --label "$name" --id "$id" ||
     ! p11 --write-object "$work/$name.crt.der" --type cert --label "$name" --id "$id"; then
    echo "FAIL cannot import $name into the token"; exit 1
  fi
done
rm -f "$work"/*.key.der

printf '123456\n' >"$work/pin"
printf '999999\n' >"$work/wrong-pin"
cp "$work/pin" "$work/open-pin" && chmod 0644 "$work/open-pin"
mkdir -p "$work/policies"
printf 'alice alice@a.example\nbob bob@a.example\n' >"$work/signing-users"
tok="pkcs11:token=smime%20test;object"
ids() {  # ids LINE...: writes the identities file
  printf '%s\n' "$@" >"$work/identities"
}
conf() {  # conf FILE SIGN-MODE [EXTRA LINES...]
  local f=$1 mode=$2
  shift 2
  write_config "$f" "sign = $mode" "signing_identities = $work/identities" \
    "signing_users = $work/signing-users" "policy_dir = $work/policies" "$@"
}
conf "$work/sign.conf" clear
conf "$work/pss.conf" clear "signing_rsa_padding = pss"
conf "$work/opaque.conf" opaque
write_config "$work/verify.conf" "policy_dir = $work/policies"
ids "alice@a.example $pki/alice.crt $tok=alice pkcs11_module=$module pin_file=$work/pin chain=$pki/alice.chain.pem" \
    "bob@a.example $pki/bob.crt $tok=bob pkcs11_module=$module pin_file=$work/pin chain=$pki/bob.chain.pem"

# --- signing with token keys -------------------------------------------------
# sign_as NAME CONF [NOTE]: signs a message from NAME@a.example, checks it both ways.
sign_as() {
  local name=$1 cf=$2 label="$1 signs with the token key${3:+ ($3)}" out=$work/$1.signed
  local want=multipart/signed
  [ "${3:-}" = opaque ] && want=application/pkcs7-mime
  sed "s/^From: .*/From: ${name^} <$name@a.example>/" "$top/tests/golden/message.eml" >"$work/$name.eml"
  if ! "$SMIMECTL" -c "$cf" process --outbound --sasl-user "$name" --now "$NOW" "$work/$name.eml" \
      >"$out" 2>"$work/err"; then
    bad "$label: smimectl failed: $(head -c 400 "$work/err")"
  elif ! grep -q "$want" "$out"; then
    bad "$label: output is not $want: $(head -c 400 "$work/err")"
  elif ! openssl cms -verify -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign -in "$out" \
      -out /dev/null -signer "$work/$name.signer" 2>"$work/err"; then
    bad "$label: openssl cms -verify: $(head -n 2 "$work/err" | tr '\n' ' ')"
  elif ! cmp -s <(openssl x509 -in "$work/$name.signer" -outform DER) \
      <(openssl x509 -in "$pki/$name.crt" -outform DER); then
    bad "$label: signer is not $name"
  elif [ "$(verdict_of "$work/verify.conf" "$out")" != "pass " ]; then
    bad "$label: inbound verdict '$(verdict_of "$work/verify.conf" "$out")'"
  else
    ok "$label"
  fi
}
sign_as alice "$work/sign.conf"
sign_as bob "$work/sign.conf"
sign_as bob "$work/opaque.conf" opaque
sign_as alice "$work/pss.conf" "RSA-PSS"
if openssl cms -cmsout -print -in "$work/alice.signed" 2>/dev/null | grep -q rsassaPss; then
  ok "signing_rsa_padding = pss gives an RSASSA-PSS signature from the token"
else
  bad "signing_rsa_padding = pss: no RSASSA-PSS signature"
fi
# Several signatures in one process from one token: bench runs the whole
# outbound engine back to back.
if "$SMIMECTL" -c "$work/sign.conf" bench -n 20 --now "$NOW" --outbound --sasl-user alice \
    "$work/alice.eml" >"$work/bench" 2>&1 && grep -q 'action=signed' "$work/bench"; then
  ok "20 signatures in one process"
else
  bad "bench with a token key: $(head -c 300 "$work/bench")"
fi

# --- refusals ----------------------------------------------------------------
expect78() {  # expect78 LABEL STDERR_SUBSTRING IDENTITY_LINE
  local label=$1 text=$2 rc=0
  ids "$3"
  "$SMIMECTL" -c "$work/sign.conf" process --outbound --sasl-user alice --now "$NOW" \
    "$work/alice.eml" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  if [ "$rc" -eq 78 ] && grep -qF -- "$text" "$work/err"; then
    ok "$label"
  else
    bad "$label: rc=$rc (want 78), stderr: $(head -c 400 "$work/err")"
  fi
}
line="alice@a.example $pki/alice.crt"
opts="pkcs11_module=$module chain=$pki/alice.chain.pem"
expect78 "wrong PIN refused" "identities:1: wrong PIN in $work/wrong-pin" \
  "$line $tok=alice $opts pin_file=$work/wrong-pin"
expect78 "missing object refused" "identities:1: no private key at $tok=carol" \
  "$line $tok=carol $opts pin_file=$work/pin"
expect78 "unknown token refused" "no private key at pkcs11:token=nosuch;object=alice" \
  "$line pkcs11:token=nosuch;object=alice $opts pin_file=$work/pin"
expect78 "PIN file mode 0644 refused" "refusing $work/open-pin (owner $(id -un), mode 0644)" \
  "$line $tok=alice $opts pin_file=$work/open-pin"
expect78 "pkcs11_module required" "needs pkcs11_module=FILE" \
  "$line $tok=alice pin_file=$work/pin"
expect78 "pin_file required" "needs pin_file=FILE" \
  "$line $tok=alice $opts"
expect78 "PIN in the URI refused" "keep the PIN out of the URI (pin-value)" \
  "$line $tok=alice;pin-value=123456 $opts pin_file=$work/pin"
expect78 "missing module named" "PKCS#11 module $work/none.so: No such file or directory" \
  "$line $tok=alice pkcs11_module=$work/none.so pin_file=$work/pin"
expect78 "token key of another certificate refused" "does not belong to the certificate" \
  "$line $tok=bob $opts pin_file=$work/pin"
expect78 "pin_file on a key file refused" "pkcs11_module and pin_file are for token keys" \
  "$line $pki/alice.key pin_file=$work/pin"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
