#!/usr/bin/env bash
# run-decryption-interop.sh: mail that OTHER implementations encrypted to our
# users comes out of `smimectl process --inbound --rcpt ...` decrypted, with
# the inner signature judged (docs/decryption.md) - and stays encrypted,
# with the reason, where the rules say so.
#
# Our users (decryption_keys, decrypt = yes for a.example): alice@a.example
# (test PKI, RSA 2048) and bob@a.example (test PKI, EC P-256); zed@a.example
# has no key; b.example does not decrypt. The sender is carol@b.example
# (test PKI), who clear-signs the inner entity with `openssl cms -sign`
# (tests/interop/sign-openssl.sh) for the signed cases; "triple" rows are
# signed, encrypted and signed again by carol (RFC 2634 triple wrapping).
# Encrypters: openssl cms -encrypt (AES-128/256-CBC, AES-128/256-GCM, RSA
# PKCS#1 v1.5, RSA-OAEP with SHA-256, ECDH P-256), gpgsm --encrypt (RSA,
# its default CBC cipher), NSS cmsutil -E (RSA, CBC) and Bouncy Castle
# (bc/SmimeTool.java encrypt: AES-GCM AuthEnvelopedData, RSA PKCS#1 v1.5 and
# OAEP, ECDH P-256, CBC; all its messages made in one JVM run before the
# table is checked). A missing gpgsm, NSS or Java/Bouncy Castle is a skip (a
# failure in strict mode, tests/skip.sh).
#
# The table below (cases) is one line per message: NAME ENCRYPTER OPTIONS
# SIGNED RCPTS EXPECT, where EXPECT is "decrypted VERDICT" or "kept REASON".
# To add an implementation (e.g. Bouncy Castle), add a TOOL to
# tests/interop/encrypt-tool.sh and lines to the table.
# Per decrypted case: the delivered message carries the marker text, no
# application/pkcs7-mime, the sender's headers, the verdict (--report) and a
# log line with decrypted= and key=; per kept case: the output is the input
# byte for byte, the log says decrypted=no, decrypt_why=REASON, the marker is absent.
# Output: "ok   ..." / "FAIL ..." / "skip ..." lines and a summary; exit 1 on
# any failure.
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
make_pki
# shellcheck disable=SC2119
find_decoders

[ -n "${KEEP:-}" ] && trap - EXIT

# ---------------------------------------------------------------- configuration
mkdir -p "$work/policies" "$work/m"
echo "decrypt = yes" >"$work/policies/a.example.conf"
cat >"$work/keys" <<EOF
alice@a.example $pki/alice.crt $pki/alice.key
bob@a.example $pki/bob.crt $pki/bob.key
EOF
write_config "$work/smime.conf" "policy_dir = $work/policies" "decryption_keys = $work/keys" \
  "harvest_certificates = no"

# ---------------------------------------------------------------- encrypters
# encrypt TOOL OPTIONS IN OUT.der RECIPIENT...: tests/interop/encrypt-tool.sh
encrypt() {
  local tool=$1 opts=$2 in=$3 out=$4 r names=()
  shift 4
  for r in "$@"; do names+=("${r%%@*}"); done
  "$top/tests/interop/encrypt-tool.sh" "$tool" "$pki" "$in" "$out" "$opts" "${names[@]}"
}

marker="Secret-$RANDOM$RANDOM-for-our-users"
printf 'From: Carol <carol@b.example>\nTo: Alice <alice@a.example>\nSubject: decryption test\nDate: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <dec@b.example>\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
  "$marker" >"$work/m/plain.eml"
"$top/tests/interop/sign-openssl.sh" "$pki" carol "$work/m/plain.eml" >"$work/m/signed.eml" ||
  bad "signing the inner entity failed"
mkdir -p "$work/m/plain" "$work/m/signed"
split_message "$work/m/plain.eml" "$work/m/plain"
split_message "$work/m/signed.eml" "$work/m/signed"

# message NAME TOOL OPTIONS SIGNED RCPT...: $work/m/NAME.eml, the outer
# headers and one application/pkcs7-mime body. Bouncy Castle's envelopes
# are made beforehand, in one batch (below).
message() {
  local name=$1 tool=$2 opts=$3 signed=$4 type=enveloped-data
  shift 4
  local src=$work/m/plain
  [ "$signed" != plain ] && src=$work/m/signed
  if [ "$tool" = bc ]; then
    [ -s "$work/m/$name.der" ] || { echo "no envelope from the Bouncy Castle batch" \
      >"$work/m/$name.enc.log"; return 1; }
  else
    encrypt "$tool" "$opts" "$src/inner" "$work/m/$name.der" "$@" >"$work/m/$name.enc.log" 2>&1 ||
      return 1
  fi
  [[ $opts == *gcm* ]] && type=authEnveloped-data
  {
    cat "$src/outer"
    printf 'MIME-Version: 1.0\r\n'
    printf 'Content-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\n' "$type"
    printf 'Content-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
    base64 -w 76 "$work/m/$name.der" | crlf
  } >"$work/m/$name.eml"
  # triple: signed, encrypted, then signed again by carol (RFC 2634).
  if [ "$signed" = triple ]; then
    "$top/tests/interop/sign-openssl.sh" "$pki" carol "$work/m/$name.eml" >"$work/m/$name.triple" &&
      mv "$work/m/$name.triple" "$work/m/$name.eml"
  fi
}

# ---------------------------------------------------------------- cases
# NAME ENCRYPTER OPTIONS SIGNED RCPTS(comma) EXPECT...
cases="
cbc256-pkcs1-signed    openssl -aes-256-cbc                                             signed   alice@a.example                 decrypted pass
cbc128-oaep-signed     openssl -aes-128-cbc,-keyopt,rsa_padding_mode:oaep,-keyopt,rsa_oaep_md:sha256 signed alice@a.example decrypted pass
gcm256-pkcs1-signed    openssl -aes-256-gcm                                             signed   alice@a.example                 decrypted pass
gcm128-oaep-unsigned   openssl -aes-128-gcm,-keyopt,rsa_padding_mode:oaep,-keyopt,rsa_oaep_md:sha256 plain alice@a.example decrypted none
gcm256-ecdh-unsigned   openssl -aes-256-gcm                                             plain    bob@a.example                   decrypted none
cbc256-ecdh-signed     openssl -aes-256-cbc                                             signed   bob@a.example                   decrypted pass
two-keys-gcm           openssl -aes-256-gcm                                             signed   alice@a.example,bob@a.example   decrypted pass
cbc-unsigned           openssl -aes-256-cbc                                             plain    alice@a.example                 kept unauthenticated-cbc
oracle-zed             openssl -aes-256-gcm                                             signed   alice@a.example,zed@a.example:alice kept recipient-without-matching-key
oracle-other-domain    openssl -aes-256-gcm                                             signed   alice@a.example,carol@b.example:alice kept recipient-domain-does-not-decrypt
not-to-bob             openssl -aes-256-gcm                                             signed   alice@a.example,bob@a.example:alice kept recipient-without-matching-key
gpgsm-rsa-signed       gpgsm   -                                                        signed   alice@a.example                 decrypted pass
gpgsm-rsa-unsigned     gpgsm   -                                                        plain    alice@a.example                 kept unauthenticated-cbc
nss-rsa-signed         nss     -                                                        signed   alice@a.example                 decrypted pass
triple-wrapped-cbc     openssl -aes-256-cbc                                             triple   alice@a.example                 decrypted pass
triple-wrapped-oracle  openssl -aes-256-gcm                                             triple   alice@a.example,zed@a.example:alice kept recipient-without-matching-key
bc-gcm256-signed       bc      aes256-gcm                                               signed   alice@a.example                 decrypted pass
bc-gcm128-oaep-unsigned bc     aes128-gcm,oaep                                          plain    alice@a.example                 decrypted none
bc-cbc256-oaep-signed  bc      aes256-cbc,oaep                                          signed   alice@a.example                 decrypted pass
bc-gcm256-ecdh-unsigned bc     aes256-gcm                                               plain    bob@a.example                   decrypted none
bc-cbc128-ecdh-signed  bc      aes128-cbc                                               signed   bob@a.example                   decrypted pass
bc-cbc256-pkcs1-signed bc      aes256-cbc                                               signed   alice@a.example                 decrypted pass
bc-cbc-unsigned        bc      aes256-cbc                                               plain    alice@a.example                 kept unauthenticated-cbc
bc-oracle-zed          bc      aes256-gcm                                               signed   alice@a.example,zed@a.example:alice kept recipient-without-matching-key
"
# enc_to RCPTS[:LOCAL,...]: sets rcpts (the envelope recipients) and enc_to
# (whom it is encrypted to: the recipients, or the local parts at a.example).
enc_to() {
  local to=${1#*:}
  rcpts=${1%%:*}
  [ "$to" = "$rcpts" ] && to=$rcpts || to=${to//,/@a.example,}@a.example
  IFS=, read -ra enc_to <<<"$to"
}

# Bouncy Castle: every bc row's envelope in one JVM run.
have_bc=1
: >"$work/m/bc.list"
while read -r name tool opts signed rcpts _; do
  [ "$tool" = bc ] || continue
  enc_to "$rcpts"
  src=$work/m/plain
  [ "$signed" != plain ] && src=$work/m/signed
  echo "$src/inner $work/m/$name.der $opts ${enc_to[*]%%@*}" >>"$work/m/bc.list"
done <<<"$cases"
bc_rc=0
SMIME_BC_CLASSES=$build/tests/.work/bc-classes \
  "$top/tests/interop/encrypt-tool.sh" bc-batch "$pki" "$work/m/bc.list" >"$work/m/bc.log" 2>&1 ||
  bc_rc=$?
if [ "$bc_rc" = 77 ]; then
  have_bc=0
  skip "bc: $(head -c 300 "$work/m/bc.log")"
elif [ "$bc_rc" != 0 ]; then
  bad "bc: the encryption batch failed: $(tr '\n' ' ' <"$work/m/bc.log" | head -c 300)"
fi

while read -r name tool opts signed rcpts expect what; do
  [ -n "$name" ] || continue
  [ "$tool" = gpgsm ] && [ "$have_gpgsm" = 0 ] && continue
  [ "$tool" = nss ] && [ "$have_nss" = 0 ] && continue
  [ "$tool" = bc ] && [ "$have_bc" = 0 ] && continue
  enc_to "$rcpts"
  if ! message "$name" "$tool" "$opts" "$signed" "${enc_to[@]}"; then
    bad "$name: $tool could not encrypt: $(tr '\n' ' ' <"$work/m/$name.enc.log" | head -c 300)"
    continue
  fi
  args=()
  IFS=, read -ra rs <<<"$rcpts"
  for r in "${rs[@]}"; do args+=(--rcpt "$r"); done
  in=$work/m/$name.eml out=$work/m/$name.out
  "$SMIMECTL" -c "$work/smime.conf" process --inbound --now "$NOW" "${args[@]}" "$in" \
    >"$out" 2>"$out.log" || { bad "$name: smimectl process failed: $(head -c 300 "$out.log")"; continue; }
  report=$("$SMIMECTL" -c "$work/smime.conf" process --inbound --now "$NOW" "${args[@]}" --report \
    "$in" 2>/dev/null)
  verdict=$(printf '%s' "$report" | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
  log=$(cat "$out.log")
  if [ "$expect" = decrypted ]; then
    problems=""
    grep -qF "$marker" "$out" || problems+=" marker-missing"
    grep -qi '^Content-Type: application/pkcs7-mime' "$out" && problems+=" still-pkcs7-mime"
    grep -q '^Subject: decryption test' "$out" || problems+=" subject-lost"
    [ "$verdict" = "$what" ] || problems+=" verdict=$verdict"
    [[ $log == *"decrypted="*"key="* ]] || problems+=" log-without-decrypted/key"
    grep -q '^Authentication-Results: .*smime=[a-z]* (decrypted' "$out" ||
      grep -A1 '^Authentication-Results:' "$out" | grep -q '(decrypted' || problems+=" ar-without-comment"
    [ -z "$problems" ] && ok "$name: $tool decrypted, smime=$verdict" ||
      bad "$name:$problems ($(head -c 300 "$out.log"))"
  else
    problems=""
    grep -qF "$marker" "$out" && problems+=" plaintext-leaked"
    # The message is unchanged apart from our Authentication-Results.
    diff <(crlf <"$in") <(crlf <"$out" | awk '/^Authentication-Results: mx.test;/ {skip=1; next}
      skip && /^[ \t]/ {next} {skip=0; print}') >/dev/null || problems+=" message-changed"
    [[ $log == *"decrypted=no, decrypt_why=$what"* ]] || problems+=" log-reason"
    [ -z "$problems" ] && ok "$name: kept encrypted ($what)" ||
      bad "$name:$problems ($(head -c 300 "$out.log"))"
  fi
done <<<"$cases"

# policy explain lists the keys of an address.
explain=$("$SMIMECTL" -c "$work/smime.conf" policy explain alice@a.example 2>&1)
[[ $explain == *"decryption keys:"*"alice@a.example  # $work/keys:1"* ]] &&
  ok "policy explain shows alice's decryption key" || bad "policy explain: $explain"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
