#!/usr/bin/env bash
# run-bc-interop.sh: Bouncy Castle (Debian's bcprov/bcpkix/bcmail 1.72 with
# javax.mail) as an S/MIME partner, through our own tool
# tests/interop/bc/SmimeTool.java (compiled here with javac; bc/bc.sh).
# The Bouncy Castle work of this test runs in one JVM (a batch file built
# below) plus one for verify-bc.sh: a JVM start costs about a
# second and CI has 2 cores.
#
# 1. Our signatures in BC: smimectl process --outbound signs ten message
#    kinds (plain 7-bit, 8-bit UTF-8 body, multipart/mixed with 8-bit text
#    and a binary attachment, lines over 998 characters, raw UTF-8 and RFC
#    2047 header fields, quoted-printable with lines starting "From ",
#    multipart with preamble and epilogue text, a forwarded message/rfc822
#    with multipart/alternative inside, an empty body) in clear and opaque mode as alice (RSA PKCS#1
#    v1.5), alice (RSA-PSS) and bob (ECDSA P-256), plus SHA-384 (RSA) and
#    SHA-512 (ECDSA) on fewer kinds. BC (javax.mail parsing,
#    bcmail SMIMESigned, PKIX path to root.crt at the pinned time $NOW)
#    must verify each, name the signer, digest and signature algorithm, and the
#    content BC extracts must decode to the original text (and attachment).
#    A tampered copy of every one (tests/interop/tamper.sh) must fail.
# 2. BC's signatures in our engine: BC signs three kinds (the QP sample,
#    plain 7-bit, multipart with a base64 attachment) clear and opaque with
#    the same three identities; smimectl process --inbound must say pass
#    (openssl cms -verify too, as a cross-check), tampered copies fail.
# 3. Our encryption in BC: to carol (RSA 2048, test PKI) and erin (EC
#    P-256 with keyAgreement, issued here by the test intermediate):
#    RSA PKCS#1 v1.5 and RSA-OAEP, ECDH (sha256 KDF), AES-256-CBC
#    (EnvelopedData) and AES-256-GCM (AuthEnvelopedData), signed (sign =
#    clear) and unsigned, one and two recipients. BC must decrypt with the
#    recipient's key to openssl's plaintext byte for byte, report the
#    expected content cipher and key transport/agreement OIDs, and verify
#    the inner signature (alice) with the text intact. Negative: a key that
#    is not a recipient's gets nothing; a changed AES-GCM ciphertext byte is
#    refused.
# 4. SmimeTool encrypt (BC-made EnvelopedData/AuthEnvelopedData, the input
#    of decryption interop tests): openssl cms -decrypt must read each.
# 5. tests/interop/verify-bc.sh (the verifier entry point for other tests):
#    a pass line for a good signature, a fail line and exit 1 for a
#    tampered one.
# Needs java, javac, the jars above and python3 (mimetool.py); missing:
# skip (a failure in strict mode, tests/skip.sh).
# Output: "ok   ..." / "FAIL ..." lines and a summary; exit 1 on a failure.
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=bc/bc.sh
. "$(dirname "$0")/bc/bc.sh"
command -v python3 >/dev/null || skip_or_fail "python3 missing"
bc_setup "$build/tests/.work/bc-classes" ||
  skip_or_fail "Bouncy Castle interop needs default-jdk-headless, libbcmail-java (bcprov, bcpkix, bcutil, javax.mail); missing:$bc_missing"
make_pki
here=$top/tests/interop
one_line() { tr '\r\n' '  ' | head -c 300; }
batch=$work/batch
: >"$batch"
# bc LINE: one SmimeTool command for the single JVM run.
bc() { echo "$*" >>"$batch"; }

# ---------------------------------------------------------------- messages
m=$work/msg
mkdir -p "$m"
hdrs() {  # hdrs FROM SUBJECT
  printf 'From: Signer <%s>\nTo: Partner <partner@c.example>\nSubject: %s\n' "$1" "$2"
  printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$RANDOM$RANDOM"
}
# mkmsgs FROM: $m/KIND-FROM.eml for every kind; texts in $m/KIND.txt.
printf 'Hello Partner,\n\nthis is plain 7-bit text.\nFrom the milter with love.\n-- \nSigner\n' | crlf >"$m/plain.txt"
printf 'Grüße aus Köln – naïve café, Ærø\n日本語のテキスト, Ελληνικά\n\nEnd ✓\n' | crlf >"$m/utf8.txt"
printf 'Dear Partner,\n\nthe attachment is binary. Größe: 3000 Bytes.\n' | crlf >"$m/multipart.txt"
head -c 3000 /dev/urandom >"$m/att.bin"
{ printf 'A short line.\n'
  for i in $(seq 1 150); do printf 'word%03d ' "$i"; done; echo
  head -c 2500 /dev/zero | tr '\0' 'x'; echo
  printf 'The end.\n'; } | crlf >"$m/longline.txt"
printf 'Header test.\n' | crlf >"$m/hdr-utf8.txt"
cp "$m/hdr-utf8.txt" "$m/hdr-2047.txt"
printf 'Hi,\nFrom the start: Größe.\nFrom here on\n' | crlf >"$m/from-qp.txt"
printf 'Body between preamble and epilogue.\nFrom a line too.\n' | crlf >"$m/preamble.txt"
printf 'See the forwarded message.\n' | crlf >"$m/forward.txt"
: >"$m/empty.txt"
mkmsgs() {
  local f=$1
  { hdrs "$f" plain; printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'; } | crlf >"$m/plain-$f.eml"
  cat "$m/plain.txt" >>"$m/plain-$f.eml"
  { hdrs "$f" '8-bit body'; echo; } | crlf >"$m/utf8-$f.eml"
  cat "$m/utf8.txt" >>"$m/utf8-$f.eml"
  { hdrs "$f" multipart
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="outer-XYZ"\n\n'
    printf 'This is a multi-part message in MIME format.\n\n--outer-XYZ\n'
    printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
    cat "$m/multipart.txt"
    printf '\n--outer-XYZ\nContent-Type: application/octet-stream; name="data.bin"\n'
    printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="data.bin"\n\n'
    base64 -w 76 "$m/att.bin"
    printf '\n--outer-XYZ--\n'; } | crlf >"$m/multipart-$f.eml"
  { hdrs "$f" 'long lines'; echo; } | crlf >"$m/longline-$f.eml"
  cat "$m/longline.txt" >>"$m/longline-$f.eml"
  { hdrs "$f" 'Grüße – 日本語 (raw UTF-8)'; echo; cat "$m/hdr-utf8.txt"; } | crlf >"$m/hdr-utf8-$f.eml"
  { hdrs "$f" '=?UTF-8?B?R3LDvMOfZSDigJMg5pel5pys6Kqe?= and =?ISO-8859-1?Q?caf=E9?='
    echo; cat "$m/hdr-2047.txt"; } | crlf >"$m/hdr-2047-$f.eml"
  { hdrs "$f" 'QP with From'
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
    printf 'Content-Transfer-Encoding: quoted-printable\n\n'
    printf 'Hi,\nFrom the start: Gr=C3=B6=C3=9Fe.\nFrom here on\n'; } | crlf >"$m/from-qp-$f.eml"
  { hdrs "$f" 'preamble and epilogue'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="pre-XYZ"\n\n'
    printf 'Preamble line.\nFrom the preamble.\n\n--pre-XYZ\nContent-Type: text/plain; charset=us-ascii\n\n'
    cat "$m/preamble.txt"
    printf '\n--pre-XYZ--\nEpilogue line.\nFrom the epilogue.\n'; } | crlf >"$m/preamble-$f.eml"
  { hdrs "$f" 'Fwd: nested'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="fwd-XYZ"\n\n'
    printf -- '--fwd-XYZ\nContent-Type: text/plain; charset=us-ascii\n\n'
    cat "$m/forward.txt"
    printf -- '\n--fwd-XYZ\nContent-Type: message/rfc822\n\n'
    printf 'From: Old <old@c.example>\nSubject: original\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/alternative; boundary="alt-XYZ"\n\n--alt-XYZ\n'
    printf 'Content-Type: text/plain; charset=us-ascii\n\nthe original text\n--alt-XYZ\n'
    printf 'Content-Type: text/html; charset=us-ascii\n\n<p>the original text</p>\n--alt-XYZ--\n'
    printf -- '\n--fwd-XYZ--\n'; } | crlf >"$m/forward-$f.eml"
  { hdrs "$f" empty; printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'; } |
    crlf >"$m/empty-$f.eml"
}
mkmsgs alice@a.example
mkmsgs bob@a.example
kinds="plain utf8 multipart longline hdr-utf8 hdr-2047 from-qp preamble forward empty"

cat >"$work/users" <<EOF
alice alice@a.example
bob bob@a.example
EOF
cp "$pki/alice.key" "$work/alice.key"
chmod 600 "$work/alice.key"
cat >"$work/ids" <<EOF
alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem
bob@a.example $pki/bob.crt $pki/bob.key chain=$pki/bob.chain.pem
EOF
inconf=$work/inbound.conf
write_config "$inconf"

# ---------------------------------------------------------------- 1. our signatures
# profile NAME LOGIN SIGALG-OID DIGEST-OID KINDS [CONFIG LINE...]
ours=$work/ours
mkdir -p "$ours" "$ours/content"
declare -A sigoid=() digestoid=() login_of=()
ours_files=() tampered_files=()
profile() {
  local name=$1 login=$2 oid=$3 doid=$4 ks=$5 mode conf k in out rc
  shift 5
  for mode in clear opaque; do
    conf=$work/$name-$mode.conf
    write_config "$conf" "sign = $mode" "signing_identities = $work/ids" "signing_users = $work/users" "$@"
    for k in $ks; do
      in=$m/$k-$login@a.example.eml out=$ours/$name-$mode-$k.eml
      "$SMIMECTL" -c "$conf" process --outbound --sasl-user "$login" --rcpt partner@c.example \
        --now "$NOW" "$in" >"$out" 2>"$out.log"
      rc=$?
      if [ $rc -ne 0 ] || ! grep -q 'action=signed' "$out.log"; then
        bad "ours $name/$mode/$k: smimectl --outbound exit $rc: $(one_line <"$out.log")"
        continue
      fi
      sigoid[$out]=$oid digestoid[$out]=$doid login_of[$out]=$login
      ours_files+=("$out")
      if "$here/tamper.sh" "$out" >"$ours/t-$name-$mode-$k.eml" 2>"$out.tlog" &&
          ! cmp -s "$out" "$ours/t-$name-$mode-$k.eml"; then
        tampered_files+=("$ours/t-$name-$mode-$k.eml")
      else
        bad "ours $name/$mode/$k: tamper.sh failed: $(one_line <"$out.tlog")"
      fi
    done
  done
}
sha256=2.16.840.1.101.3.4.2.1 sha384=2.16.840.1.101.3.4.2.2 sha512=2.16.840.1.101.3.4.2.3
profile rsa alice 1.2.840.113549.1.1.1 $sha256 "$kinds"
profile pss alice 1.2.840.113549.1.1.10 $sha256 "$kinds" "signing_rsa_padding = pss"
profile ecdsa bob 1.2.840.10045.4.3.2 $sha256 "$kinds"
profile rsa384 alice 1.2.840.113549.1.1.1 $sha384 "plain multipart" "signing_digest = sha384"
profile ecdsa512 bob 1.2.840.10045.4.3.4 $sha512 "plain" "signing_digest = sha512"
[ ${#ours_files[@]} -gt 0 ] && bc verify --at "$NOW" --out "$ours/content" "$pki/root.crt" "${ours_files[@]}"
[ ${#tampered_files[@]} -gt 0 ] && bc verify --at "$NOW" "$pki/root.crt" "${tampered_files[@]}"
# BC's path check is real: the same signature under another anchor, and at a
# time after alice's certificate expired (2030-01-01), must fail.
anchor_probe=$ours/rsa-clear-plain.eml
if [ -s "$anchor_probe" ]; then
  cp "$anchor_probe" "$ours/probe-anchor.eml"
  cp "$anchor_probe" "$ours/probe-late.eml"
  bc verify --at "$NOW" "$pki/fake-root.crt" "$ours/probe-anchor.eml"
  bc verify --at 1924992000 "$pki/root.crt" "$ours/probe-late.eml"
fi

# ---------------------------------------------------------------- 2. BC's signatures
theirs=$work/theirs
mkdir -p "$theirs"
cp "$here/sample.eml" "$m/sample.eml"
# The sample's text as mimetool.py decodes it (QP, a trailing space).
python3 -c 'import email, sys
sys.stdout.buffer.write(email.message_from_bytes(open(sys.argv[1], "rb").read()).get_payload(decode=True))' \
  "$m/sample.eml" >"$m/sample.txt"
# The QP sample, plain 7-bit and multipart (a 7-bit text part and the base64
# attachment), From: the signer.
for login in alice bob; do
  sed 's/Größe/Groesse/; s/Content-Transfer-Encoding: 8bit/Content-Transfer-Encoding: 7bit/' \
    "$m/multipart-$login@a.example.eml" >"$m/multipart7-$login@a.example.eml"
  sed "s/^From: .*/From: Signer <$login@a.example>/" "$m/sample.eml" >"$m/sample-$login@a.example.eml"
done
sed 's/Größe/Groesse/' "$m/multipart.txt" >"$m/multipart7.txt"
theirs_kinds="sample plain multipart7 utf8"
theirs_files=()
for spec in rsa:alice:rsa pss:alice:pss ecdsa:bob:ecdsa; do
  IFS=: read -r name login alg <<<"$spec"
  for mode in clear opaque; do
    args=()
    for k in $theirs_kinds; do
      args+=("$m/$k-$login@a.example.eml" "$theirs/$name-$mode-$k.eml")
      theirs_files+=("$theirs/$name-$mode-$k.eml")
    done
    [ $mode = opaque ] && args=(--opaque "${args[@]}")
    bc sign --cert "$pki/$login.crt" --key "$pki/$login.key" --chain "$pki/$login.chain.pem" \
      --alg "$alg" --at "$NOW" "${args[@]}"
  done
done

# ---------------------------------------------------------------- 3. our encryption
certs=$work/certs
mkdir -p "$certs" "$work/ca/new"
cp "$pki/carol.crt" "$pki/carol.key" "$certs/"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s\nnew_certs_dir = %s\nserial = %s\n' \
  "$work/ca/index.txt" "$work/ca/new" "$work/ca/serial" >"$work/ca/ca.cnf"
printf 'default_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\norganizationName = optional\n[req]\ndistinguished_name = dn\n[dn]\n' >>"$work/ca/ca.cnf"
printf '[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyAgreement\nextendedKeyUsage = emailProtection\nsubjectAltName = email:erin@b.example\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >"$work/ca/ext.cnf"
: >"$work/ca/index.txt"
echo 3001 >"$work/ca/serial"
if openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
      -out "$certs/erin.key" 2>"$work/ca/log" &&
    openssl req -new -config "$work/ca/ca.cnf" -key "$certs/erin.key" -subj "/O=smime-milter tests/CN=Erin" \
      -out "$work/ca/erin.csr" 2>>"$work/ca/log" &&
    openssl ca -batch -notext -config "$work/ca/ca.cnf" -cert "$pki/inter.crt" -keyfile "$pki/inter.key" \
      -startdate 20250101000000Z -enddate 20300101000000Z -extfile "$work/ca/ext.cnf" -extensions leaf \
      -in "$work/ca/erin.csr" -out "$certs/erin.crt" >>"$work/ca/log" 2>&1; then
  ok "setup: erin@b.example (EC P-256, keyAgreement) issued by the test intermediate"
else
  bad "setup: cannot issue erin: $(tail -n 3 "$work/ca/log" | one_line)"
fi
state=$work/state
mkdir -p "$state"
echo "alice alice@a.example" >"$work/enc-users"
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/enc-ids"
# mkconf NAME SIGN [POLICY LINE...]: b.example requires encryption.
mkconf() {
  local name=$1 sign=$2
  shift 2
  mkdir -p "$work/pol-$name"
  printf '%s\n' "encrypt = required" "$@" >"$work/pol-$name/b.example.conf"
  write_config "$work/$name.conf" "sign = $sign" "signing_identities = $work/enc-ids" \
    "signing_users = $work/enc-users" "policy_dir = $work/pol-$name" "state_dir = $state"
}
mkconf cbc clear
mkconf oaep-cbc clear "encryption_rsa_padding = oaep"
mkconf gcm clear "encryption_algorithm = aes256-gcm"
mkconf oaep-gcm clear "encryption_algorithm = aes256-gcm" "encryption_rsa_padding = oaep"
mkconf unsigned-cbc none
mkconf unsigned-gcm none "encryption_algorithm = aes256-gcm"
for name in carol erin; do
  cat "$certs/$name.crt" "$pki/inter.crt" >"$certs/$name.pem"
  out=$("$SMIMECTL" -c "$work/cbc.conf" cert add "$certs/$name.pem" 2>&1) ||
    bad "cert add $name.pem: $(one_line <<<"$out")"
done
enc=$work/enc
mkdir -p "$enc"
# Expected OIDs: content cipher, key transport / agreement.
aes256cbc=2.16.840.1.101.3.4.1.42 aes256gcm=2.16.840.1.101.3.4.1.46
rsa15=1.2.840.113549.1.1.1 oaep=1.2.840.113549.1.1.7 ecdh256=1.3.132.1.11.1
enc_cases=()
# enc_case LABEL CONF MSG CONTENT-OID "NAME:KEY-OID ..."
enc_case() {
  local l=$1 conf=$2 msg=$3 coid=$4 rcpts=$5 r name rargs=() to="" d=$enc/$1 rc
  mkdir -p "$d" "$d/content"
  for r in $rcpts; do
    name=${r%%:*}
    rargs+=(--rcpt "$name@b.example")
    to="${to:+$to, }$name@b.example"
  done
  sed -e "s/^To: .*/To: $to/" "$m/$msg-alice@a.example.eml" >"$d/in.eml"
  "$SMIMECTL" -c "$conf" process --outbound --sasl-user alice "${rargs[@]}" --now "$NOW" "$d/in.eml" \
    >"$d/out.eml" 2>"$d/log"
  rc=$?
  if [ $rc -ne 0 ] || ! grep -q 'encryption=' "$d/log"; then
    bad "enc $l: smimectl --outbound exit $rc: $(one_line <"$d/log")"
    return
  fi
  enc_cases+=("$l|$msg|$coid|$rcpts|$conf")
  for r in $rcpts; do
    name=${r%%:*}
    bc decrypt --cert "$certs/$name.crt" --key "$certs/$name.key" "$d/out.eml" "$d/bc-$name"
    openssl cms -decrypt -in "$d/out.eml" -recip "$certs/$name.crt" -inkey "$certs/$name.key" \
      -out "$d/openssl-$name" >"$d/openssl-$name.log" 2>&1 ||
      bad "enc $l: openssl cannot decrypt for $name (reference): $(one_line <"$d/openssl-$name.log")"
  done
}
enc_case rsa-pkcs1-cbc "$work/cbc.conf" plain $aes256cbc "carol:$rsa15"
enc_case rsa-pkcs1-cbc-multipart "$work/cbc.conf" multipart $aes256cbc "carol:$rsa15"
enc_case rsa-oaep-cbc "$work/oaep-cbc.conf" utf8 $aes256cbc "carol:$oaep"
enc_case rsa-pkcs1-gcm "$work/gcm.conf" plain $aes256gcm "carol:$rsa15"
enc_case rsa-oaep-gcm "$work/oaep-gcm.conf" multipart $aes256gcm "carol:$oaep"
enc_case ec-cbc "$work/cbc.conf" plain $aes256cbc "erin:$ecdh256"
enc_case ec-gcm "$work/gcm.conf" multipart $aes256gcm "erin:$ecdh256"
enc_case rsa-ec-cbc "$work/cbc.conf" multipart $aes256cbc "carol:$rsa15 erin:$ecdh256"
enc_case oaep-ec-gcm "$work/oaep-gcm.conf" plain $aes256gcm "carol:$oaep erin:$ecdh256"
enc_case unsigned-rsa-cbc "$work/unsigned-cbc.conf" plain $aes256cbc "carol:$rsa15"
enc_case unsigned-ec-gcm "$work/unsigned-gcm.conf" multipart $aes256gcm "erin:$ecdh256"
# The inner signatures of the signed cases, after BC decrypted them (the
# content BC sees in CASE/inner/).
for c in "${enc_cases[@]}"; do
  IFS='|' read -r l _ _ rcpts conf <<<"$c"
  [[ $conf == */unsigned-* ]] && continue
  inner=()
  for r in $rcpts; do inner+=("$enc/$l/bc-${r%%:*}"); done
  mkdir -p "$enc/$l/inner"
  bc verify --at "$NOW" --out "$enc/$l/inner" "$pki/root.crt" "${inner[@]}"
done
# Negative: keys that are not a recipient's.
neg=()
[ -s "$enc/ec-cbc/out.eml" ] && neg+=(ec-cbc:bob)
[ -s "$enc/rsa-pkcs1-cbc/out.eml" ] && neg+=(rsa-pkcs1-cbc:alice)
[ -s "$enc/ec-gcm/out.eml" ] && neg+=(ec-gcm:carol)
for n in "${neg[@]}"; do
  c=${n%%:*} name=${n#*:}
  key=$pki/$name.key
  [ "$name" = alice ] && key=$work/alice.key
  cert=$pki/$name.crt
  [ -f "$certs/$name.crt" ] && cert=$certs/$name.crt key=$certs/$name.key
  bc decrypt --cert "$cert" --key "$key" "$enc/$c/out.eml" "$enc/$c/third-$name"
done
# carol's certificate with alice's key: the RecipientInfo matches, the key does not.
[ -s "$enc/rsa-pkcs1-cbc/out.eml" ] &&
  bc decrypt --cert "$certs/carol.crt" --key "$work/alice.key" "$enc/rsa-pkcs1-cbc/out.eml" "$enc/rsa-pkcs1-cbc/wrongkey"
# AES-GCM with one changed ciphertext byte.
for c in rsa-pkcs1-gcm ec-gcm; do
  d=$enc/$c
  [ -s "$d/out.eml" ] || continue
  mt opaque "$d/out.eml" "$d/p7m.der" >/dev/null && mt flip "$d/p7m.der" "$d/flipped.der" 40 || continue
  { sed '/^\r\?$/q' "$d/out.eml"; base64 -w 76 "$d/flipped.der" | crlf; } >"$d/flipped.eml"
  name=carol
  [ $c = ec-gcm ] && name=erin
  bc decrypt --cert "$certs/$name.crt" --key "$certs/$name.key" "$d/flipped.eml" "$d/flipped-out"
done

# ---------------------------------------------------------------- 4. SmimeTool encrypt
bcenc=$work/bcenc
mkdir -p "$bcenc"
bcenc_cases="aes256-cbc:-:carol aes256-cbc:--oaep:carol aes256-gcm:-:carol aes256-gcm:--oaep:carol aes256-cbc:-:erin aes256-gcm:-:erin"
for c in $bcenc_cases; do
  IFS=: read -r cipher pad name <<<"$c"
  padopt=()
  [ "$pad" = - ] || padopt=("$pad")
  bc encrypt --cipher "$cipher" "${padopt[@]}" --recip "$certs/$name.crt" \
    "$m/sample.eml" "$bcenc/$cipher$pad-$name.eml"
done

# ---------------------------------------------------------------- the one JVM run
bc_tool batch "$batch" >"$work/bc.out" 2>"$work/bc.err"
rc=$?
[ $rc -le 1 ] && ok "SmimeTool batch ran ($(grep -c . "$batch") commands, exit $rc)" ||
  bad "SmimeTool batch exit $rc: $(one_line <"$work/bc.err")"
# result FILE: BC's line for FILE (pass/fail/signed/encrypted/decrypted ...).
result() { awk -v f="$1" '$2 == f || $2 == f ":" { print; exit }' "$work/bc.out"; }

# 1. our signatures in BC
for f in "${ours_files[@]}"; do
  l="ours ${f#"$ours"/}"
  l=${l%.eml}
  r=$(result "$f")
  case $r in
    pass*) ok "$l: BC verifies" ;;
    *) bad "$l: BC: ${r:-no result}"; continue ;;
  esac
  want="signer=CN=${login_of[$f]^},O=smime-milter_tests"
  [[ $r == *" $want "* ]] && ok "$l: BC names the signer (${want#signer=})" || bad "$l: BC: $r, expected $want"
  [[ $r == *" digest=${digestoid[$f]} sig=${sigoid[$f]}"* ]] &&
    ok "$l: BC sees digest ${digestoid[$f]}, signature algorithm ${sigoid[$f]}" ||
    bad "$l: BC: $r, expected digest=${digestoid[$f]} sig=${sigoid[$f]}"
  k=${f##*/} k=${k%.eml} k=${k#*-} k=${k#*-}
  got=$(mt text "$ours/content/${f##*/}.content" "$m/$k.txt" 2>&1) && ok "$l: BC's content decodes to the original text" ||
    bad "$l: BC's content: $got"
  if [ "$k" = multipart ]; then
    got=$(mt attachment "$ours/content/${f##*/}.content" "$m/att.bin" 2>&1) &&
      ok "$l: BC's content has the attachment bytes" || bad "$l: $got"
  fi
done
for f in "${tampered_files[@]}"; do
  l="ours ${f#"$ours"/}"
  r=$(result "$f")
  case $r in
    fail*) ok "${l%.eml}: BC rejects (${r#*: })" ;;
    *) bad "${l%.eml}: BC: ${r:-no result}, expected fail" ;;
  esac
done

for p in anchor late; do
  [ -s "$ours/probe-$p.eml" ] || continue
  r=$(result "$ours/probe-$p.eml")
  [[ $r == fail*"no path"* ]] && ok "BC path check ($p): ${r#*: }" | cut -c1-200 ||
    bad "BC path check ($p): ${r:-no result}, expected no path"
done

# 2. BC's signatures in our engine
for f in "${theirs_files[@]}"; do
  l="BC ${f#"$theirs"/}"
  l=${l%.eml}
  if [ -z "$(awk -v f="$f" '$1 == "signed" && $4 == f' "$work/bc.out")" ] || [ ! -s "$f" ]; then
    bad "$l: SmimeTool sign: $(grep -- "^fail .*" "$work/bc.out" | head -n1 | one_line)"
    continue
  fi
  v=$(verdict_of "$inconf" "$f")
  [ "${v%% *}" = pass ] && ok "$l: smimectl --inbound: $v" || bad "$l: smimectl --inbound: $v"
  openssl cms -verify -in "$f" -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign \
    -out "$f.content" >/dev/null 2>"$f.ossl" && ok "$l: openssl cms -verify" ||
    bad "$l: openssl cms -verify: $(one_line <"$f.ossl")"
  k=${f##*/} k=${k%.eml} k=${k#*-*-}
  if [ -s "$f.content" ]; then
    got=$(mt text "$f.content" "$m/$k.txt" 2>&1) && ok "$l: signed content decodes to the original text" ||
      bad "$l: $got"
  fi
  if "$here/tamper.sh" "$f" >"$f.t" 2>"$f.tlog" && ! cmp -s "$f" "$f.t"; then
    v=$(verdict_of "$inconf" "$f.t")
    [ "${v%% *}" = fail ] && ok "$l tampered: smimectl --inbound: $v" ||
      bad "$l tampered: smimectl --inbound: $v, expected fail"
  else
    bad "$l: tamper.sh failed: $(one_line <"$f.tlog")"
  fi
done

# 3. our encryption in BC
for c in "${enc_cases[@]}"; do
  IFS='|' read -r l msg coid rcpts conf <<<"$c"
  d=$enc/$l
  for r in $rcpts; do
    name=${r%%:*} koid=${r#*:}
    res=$(grep -F "decrypted $d/out.eml -> $d/bc-$name " "$work/bc.out" ||
      grep -F "fail $d/out.eml:" "$work/bc.out" | head -n1)
    if [[ $res != decrypted* ]]; then bad "enc $l: BC cannot decrypt for $name: ${res:-no result}"; continue; fi
    ok "enc $l: BC decrypts with $name's key"
    [[ $res == *" content=$coid "* ]] && ok "enc $l: BC sees content cipher $coid" ||
      bad "enc $l: BC: $res, expected content=$coid"
    [[ $res == *" key=$koid" ]] && ok "enc $l: BC sees key algorithm $koid for $name" ||
      bad "enc $l: BC: $res, expected key=$koid"
    cmp -s "$d/bc-$name" "$d/openssl-$name" && ok "enc $l: BC's plaintext = openssl's" ||
      bad "enc $l: BC's plaintext for $name differs from openssl's"
    if [[ $conf == */unsigned-* ]]; then
      got=$(mt text "$d/bc-$name" "$m/$msg.txt" 2>&1) && ok "enc $l: BC's plaintext has the original text" ||
        bad "enc $l: $got"
    else
      r2=$(result "$d/bc-$name")
      case $r2 in
        pass*signer=CN=Alice,*) ok "enc $l: BC verifies the inner signature (alice)" ;;
        *) bad "enc $l: inner signature in BC: ${r2:-no result}"; continue ;;
      esac
      got=$(mt text "$d/inner/bc-$name.content" "$m/$msg.txt" 2>&1) &&
        ok "enc $l: inner text = original (BC)" || bad "enc $l: inner: $got"
    fi
    if [ "$msg" = multipart ]; then
      src=$d/bc-$name
      [[ $conf == */unsigned-* ]] || src=$d/inner/bc-$name.content
      got=$(mt attachment "$src" "$m/att.bin" 2>&1) && ok "enc $l: attachment bytes = original (BC)" ||
        bad "enc $l: $got"
    fi
  done
done
for n in "${neg[@]}"; do
  c=${n%%:*} name=${n#*:}
  r=$(awk -v f="$enc/$c/out.eml" -v o="$enc/$c/third-$name" \
    '($1 == "decrypted" && $2 == f && $4 == o) { print; exit }' "$work/bc.out")
  if [ -n "$r" ] || [ -s "$enc/$c/third-$name" ]; then bad "enc $c: BC decrypts with $name's key (not a recipient)"
  else ok "enc $c: BC cannot decrypt with $name's key"; fi
done
if [ -s "$enc/rsa-pkcs1-cbc/out.eml" ]; then
  [ -s "$enc/rsa-pkcs1-cbc/wrongkey" ] && bad "enc rsa-pkcs1-cbc: carol's certificate with alice's key decrypts" ||
    ok "enc rsa-pkcs1-cbc: carol's certificate with alice's key: no plaintext"
fi
for c in rsa-pkcs1-gcm ec-gcm; do
  d=$enc/$c
  [ -s "$d/out.eml" ] || continue
  if [ ! -s "$d/flipped.eml" ]; then bad "enc $c: cannot build the changed copy"; continue; fi
  r=$(result "$d/flipped.eml")
  [[ $r == fail* ]] && [ ! -s "$d/flipped-out" ] &&
    ok "enc $c: BC refuses a changed AES-GCM ciphertext byte (${r#*: })" ||
    bad "enc $c: BC on a changed AES-GCM ciphertext: ${r:-no result}"
done

# 4. SmimeTool encrypt, read by openssl
for c in $bcenc_cases; do
  IFS=: read -r cipher pad name <<<"$c"
  f=$bcenc/$cipher$pad-$name.eml
  l="BC encrypt $cipher${pad#-} to $name"
  if ! grep -qF "encrypted $m/sample.eml -> $f" "$work/bc.out"; then
    bad "$l: $(grep -F "fail $m/sample.eml" "$work/bc.out" | head -n1 | one_line)"
    continue
  fi
  if openssl cms -decrypt -in "$f" -recip "$certs/$name.crt" -inkey "$certs/$name.key" \
      -out "$f.plain" >/dev/null 2>"$f.log"; then
    got=$(mt text "$f.plain" "$m/sample.txt" 2>&1) && ok "$l: openssl decrypts to the original text" ||
      bad "$l: openssl's plaintext: $got"
  else
    bad "$l: openssl cms -decrypt: $(one_line <"$f.log")"
  fi
done

# 5. verify-bc.sh, the entry point other tests use (the second JVM run):
# a pass line for the good signature, a fail line and exit 1 for the tampered one.
good=$ours/ecdsa-opaque-plain.eml tampered=$ours/t-rsa-clear-multipart.eml
if [ -s "$good" ] && [ -s "$tampered" ]; then
  out=$("$here/verify-bc.sh" --at "$NOW" "$pki/root.crt" "$good" "$tampered" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && grep -q "^pass $good " <<<"$out" && grep -q "^fail $tampered: " <<<"$out" &&
    ok "verify-bc.sh: pass + fail lines, exit 1" ||
    bad "verify-bc.sh with a tampered copy: exit $rc: $(one_line <<<"$out")"
else
  bad "verify-bc.sh: no signed messages to check"
fi

echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
[ "$failed" -eq 0 ]
