#!/usr/bin/env bash
# run-signing-interop.sh: what WE sign (smimectl process --outbound) must
# verify in other S/MIME implementations and in our own engine.
#
# Signers: alice RSA PKCS#1 v1.5, alice RSA-PSS (signing_rsa_padding = pss),
# bob ECDSA P-256, plus SHA-384/SHA-512 cases; Ed25519 (ed) must be refused at
# start-up (exit 78, "needs OpenSSL 3.2") with OpenSSL < 3.2, else it must
# sign and verify (openssl, our engine; gpgsm/NSS are reported, not counted).
# Modes: sign = clear, sign = opaque, and sign = clear with a recipient domain
# policy recipient_signing = opaque (output must be application/pkcs7-mime).
# Messages (CRLF, built here): plain 7-bit text; 8-bit UTF-8 body without
# MIME headers; multipart/mixed with an 8-bit text part and a random binary
# attachment; lines longer than 998 characters; raw UTF-8 and RFC 2047
# encoded header fields.
# Verifiers: openssl cms -verify (-attime $NOW, root.crt only), gpgsm
# --verify (throw-away GNUPGHOME trusting root.crt, --faked-system-time),
# NSS cmsutil -D (throw-away db trusting root.crt), smimectl process
# --inbound (verdict pass). Also checked: the signed content decodes to the
# original text/attachment, the body is 7-bit with lines <= 998, header
# fields are kept byte for byte, the signed attributes (signingTime = $NOW,
# SMIMECapabilities without DES/RC2, signingCertificateV2 naming the signer
# certificate), the intermediate certificate is included, digest and
# signature algorithms, micalg = the digest. Negative controls: one changed
# byte of the signed content (clear and opaque) must fail everywhere.
# A verifier whose tool is missing is skipped (skip line; a failure in strict mode, tests/skip.sh). Needs python3
# (MIME splitting/decoding); exit 77 without it.
# Output: one "ok   ..." / "FAIL ..." line per check and a summary; exit 1 on
# any failure.
# Helpers (ok/bad/skip, find_decoders, crlf, mt = mimetool.py, root_fpr,
# nss_trust_db) come from common.sh.
# ok/bad/skip always return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || skip_or_fail "python3 missing"
make_pki
here=$top/tests/interop

find_decoders

export GNUPGHOME=$work/gnupg
cleanup() {
  [ "$have_gpgsm" = 1 ] && [ -d "$GNUPGHOME" ] && gpgconf --kill gpg-agent 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- messages
# Each message NAME is a template $work/msg/NAME.eml (From: @FROM@) with the
# expected decoded text in NAME.txt and, for multipart, the attachment in att.bin.
mkdir -p "$work/msg"
m=$work/msg
hdrs() {  # hdrs SUBJECT-LINE
  printf 'From: Signer <@FROM@>\nTo: Partner <partner@@RCPTDOM@>\n%s\n' "$1"
  printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$RANDOM$RANDOM"
}

printf 'Hello Partner,\n\nthis is plain 7-bit text.\nFrom the milter with love.\n-- \nSigner\n' >"$m/plain.txt"
{ hdrs 'Subject: plain'; printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
  cat "$m/plain.txt"; } | crlf >"$m/plain.eml"
crlf <"$m/plain.txt" >"$m/plain.tmp" && mv "$m/plain.tmp" "$m/plain.txt"

printf 'Grüße aus Köln – naïve café, Ærø, Œuvre\n日本語のテキスト, Ελληνικά, Русский\n\nEnd ✓\n' | crlf >"$m/utf8.txt"
{ hdrs 'Subject: 8-bit body'; echo; } | crlf >"$m/utf8.eml"
cat "$m/utf8.txt" >>"$m/utf8.eml"

head -c 3000 /dev/urandom >"$m/att.bin"
printf 'Dear Partner,\n\nthe attachment is binary. Größe: 3000 Bytes.\n' | crlf >"$m/multipart.txt"
{ hdrs 'Subject: multipart'
  printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="outer-XYZ"\n\n'
  printf 'This is a multi-part message in MIME format.\n\n--outer-XYZ\n'
  printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
  cat "$m/multipart.txt"
  printf '\n--outer-XYZ\nContent-Type: application/octet-stream; name="data.bin"\n'
  printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="data.bin"\n\n'
  base64 -w 76 "$m/att.bin"
  printf '\n--outer-XYZ--\n'; } | crlf >"$m/multipart.eml"

{ printf 'A short line.\n'
  for i in $(seq 1 150); do printf 'word%03d ' "$i"; done; echo     # 1200 chars
  head -c 2500 /dev/zero | tr '\0' 'x'; echo                       # 2500 chars
  printf 'The end.\n'; } | crlf >"$m/longline.txt"
{ hdrs 'Subject: long lines'; echo; } | crlf >"$m/longline.eml"
cat "$m/longline.txt" >>"$m/longline.eml"

printf 'Header test.\n' | crlf >"$m/hdr-utf8.txt"
{ hdrs 'Subject: Grüße – 日本語 (raw UTF-8)'; echo; cat "$m/hdr-utf8.txt"; } | crlf >"$m/hdr-utf8.eml"
cp "$m/hdr-utf8.txt" "$m/hdr-2047.txt"
{ hdrs 'Subject: =?UTF-8?B?R3LDvMOfZSDigJMg5pel5pys6Kqe?= and =?ISO-8859-1?Q?caf=E9?='
  echo; cat "$m/hdr-2047.txt"; } | sed 's/^From: Signer/From: =?UTF-8?Q?S=C3=AFgner?=/' | crlf >"$m/hdr-2047.eml"

all_msgs="plain utf8 multipart longline hdr-utf8 hdr-2047"

# ---------------------------------------------------------------- configs
pol=$work/pol
mkdir -p "$pol"
echo "recipient_signing = opaque" >"$pol/b.example.conf"
cat >"$work/users" <<EOF
alice alice@a.example
bob bob@a.example
ed ed@a.example
EOF
cat >"$work/ids" <<EOF
alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem
bob@a.example $pki/bob.crt $pki/bob.key chain=$pki/bob.chain.pem
EOF
echo "ed@a.example $pki/ed.crt $pki/ed.key chain=$pki/ed.chain.pem" >"$work/ids-ed"
inconf=$work/inbound.conf
write_config "$inconf"

# signing_conf FILE SIGN IDS [EXTRA LINES...]
signing_conf() {
  local f=$1 s=$2 ids=$3
  shift 3
  write_config "$f" "sign = $s" "signing_identities = $ids" "signing_users = $work/users" \
    "policy_dir = $pol" "$@"
}

# ---------------------------------------------------------------- verifier setup
if [ "$have_gpgsm" = 1 ]; then
  mkdir -m 700 "$GNUPGHOME"
  echo "$(root_fpr) S relax" >"$GNUPGHOME/trustlist.txt"
  # Only the root: the intermediate must come from the signatures.
  gpgsm --batch --disable-dirmngr --import "$pki/root.crt" >/dev/null 2>&1 ||
    bad "gpgsm setup: cannot import root.crt"
fi
nssdb=sql:$work/nss
if [ "$have_nss" = 1 ]; then
  mkdir "$work/nss"
  nss_trust_db "$nssdb" >"$work/nss.log" 2>&1 || bad "nss setup: $(head -c 300 "$work/nss.log")"
fi
gpgsm_time=$(date -u -d "@$NOW" +%Y%m%dT%H%M%S)
openssl_time=$(date -u -d "@$NOW" '+%b %e %H:%M:%S %Y GMT')

gs_verify() {  # gs_verify DIR ARGS...: status lines in DIR/gpgsm.status, rc returned
  local d=$1
  shift
  gpgsm --batch --disable-dirmngr --disable-crl-checks --disable-policy-checks \
    --faked-system-time "$gpgsm_time" --status-fd 1 "$@" >"$d/gpgsm.status" 2>"$d/gpgsm.log"
}
nss_verify() {  # nss_verify DIR: prints cmsutil's header lines, rc returned
  local d=$1
  if [ -f "$d/p7m.der" ]; then
    cmsutil -D -d "$nssdb" -i "$d/p7m.der" -h 1 -n 2>&1
  else
    cmsutil -D -d "$nssdb" -i "$d/sig.der" -c "$d/part" -h 1 -n 2>&1
  fi
}

# ---------------------------------------------------------------- checks
# verify_all LABEL OUT.eml IN.eml MSG KIND DIGEST SIGALG HASHNO CERT [lenient]
#   KIND clear|opaque; DIGEST sha256|...; SIGALG openssl's signatureAlgorithm
#   name; HASHNO gpgsm's hash algorithm number; CERT the signer cert file;
#   lenient: gpgsm/NSS failures are reported as limit lines (Ed25519).
verify_all() {
  local l=$1 out=$2 in=$3 msg=$4 kind=$5 digest=$6 sigalg=$7 hashno=$8 cert=$9 lenient=${10:-}
  local d=$out.d got micalg err v
  mkdir -p "$d"
  if ! got=$(mt split "$out" "$d" 2>&1); then bad "$l: cannot split output: $got"; return; fi
  micalg=${got#* }
  case $kind/${got%% *} in
    clear/clear) ok "$l: multipart/signed" ;;
    opaque/opaque)
      if [ "$micalg" = signed-data ]; then ok "$l: application/pkcs7-mime; smime-type=signed-data"
      else bad "$l: smime-type=$micalg"; fi ;;
    *) bad "$l: expected $kind signing, got: $got"; return ;;
  esac
  err=$(mt wire "$out" 2>&1) && ok "$l: wire-safe (CRLF, 7-bit body, lines <= 998)" || bad "$l: wire: $err"
  case $msg in
    hdr-*)
      for h in subject from to; do
        err=$(mt header "$in" "$out" "$h" 2>&1) && ok "$l: $h header kept" || bad "$l: $err"
      done ;;
  esac

  # openssl
  if openssl cms -verify -in "$out" -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign \
      -out "$d/content" >/dev/null 2>"$d/openssl.log"; then
    ok "$l: openssl cms -verify"
    err=$(mt text "$d/content" "$m/$msg.txt" 2>&1) && ok "$l: decoded text = original" ||
      bad "$l: $err"
    if [ "$msg" = multipart ]; then
      err=$(mt attachment "$d/content" "$m/att.bin" 2>&1) && ok "$l: attachment bytes = original" ||
        bad "$l: $err"
    fi
  else
    bad "$l: openssl cms -verify: $(head -c 300 "$d/openssl.log")"
  fi

  # signed attributes and certificates
  if openssl cms -cmsout -print -noout -in "$out" >"$d/print" 2>"$d/print.log"; then
    local attrs sc caps hash
    attrs=$(sed -n '/signedAttrs:/,/signatureAlgorithm:/p' "$d/print")
    grep -A2 'object: signingTime' <<<"$attrs" | grep -qF "TIME:$openssl_time" &&
      ok "$l: signingTime = $openssl_time" || bad "$l: signingTime is not $openssl_time"
    caps=$(sed -n '/object: S\/MIME Capabilities/,/^ *$/p' <<<"$attrs")
    if [ -z "$caps" ]; then bad "$l: no SMIMECapabilities"
    elif grep -Eiq 'OBJECT *:(des|rc2)' <<<"$caps"; then bad "$l: SMIMECapabilities offer DES/RC2"
    elif ! grep -q 'OBJECT *:aes-' <<<"$caps"; then bad "$l: SMIMECapabilities without AES"
    else ok "$l: SMIMECapabilities (AES, no DES/RC2)"; fi
    # ESSCertIDv2: hashAlgorithm (absent = sha256) and the signer certificate's hash.
    sc=$(sed -n '/signingCertificateV2/,/^ *$/p' <<<"$attrs")
    v=$(grep -o 'OBJECT *:sha[0-9]*' <<<"$sc" | head -n1 | sed 's/.*://')
    hash=$(openssl x509 -in "$cert" -outform DER | openssl dgst "-${v:-sha256}" -r | cut -d' ' -f1)
    if [ -z "$sc" ]; then bad "$l: no signingCertificateV2"
    elif grep -qi "HEX DUMP\]:$hash\$" <<<"$sc"; then
      ok "$l: signingCertificateV2 names the signer (${v:-sha256})"
    else bad "$l: signingCertificateV2 does not hold the signer certificate's ${v:-sha256} hash"; fi
    grep -q 'subject: O=smime-milter tests, CN=smime-milter Test Intermediate CA' "$d/print" &&
      ok "$l: intermediate certificate included" || bad "$l: intermediate certificate missing"
    v=$(sed -n '/signerInfos:/,$p' "$d/print" | sed -n '/digestAlgorithm:/{n;p;q}' | awk '{print $2}')
    [ "$v" = "$digest" ] && ok "$l: digestAlgorithm $v" || bad "$l: digestAlgorithm $v, expected $digest"
    v=$(sed -n '/signerInfos:/,$p' "$d/print" | sed -n '/signatureAlgorithm:/{n;p;q}' | awk '{print $2}')
    [ "$v" = "$sigalg" ] && ok "$l: signatureAlgorithm $v" || bad "$l: signatureAlgorithm $v, expected $sigalg"
    if [ "$sigalg" = rsassaPss ]; then
      v=$(sed -n '/signerInfos:/,$p' "$d/print" | sed -n '/signatureAlgorithm:/,/signature:/p' |
        grep -o 'OBJECT *:[a-z0-9-]*' | sed 's/.*://' | tr '\n' ' ')
      [ "$v" = "$digest mgf1 $digest " ] && ok "$l: PSS parameters ($v)" ||
        bad "$l: PSS parameters are '$v', expected hash and MGF1 $digest"
    fi
    if [ "$kind" = clear ]; then
      [ "$micalg" = "sha-${digest#sha}" ] && ok "$l: micalg=$micalg" ||
        bad "$l: micalg=$micalg for digest $digest"
    fi
  else
    bad "$l: openssl cms -cmsout -print: $(head -c 300 "$d/print.log")"
  fi

  # gpgsm
  if [ "$have_gpgsm" = 1 ]; then
    if [ "$kind" = clear ]; then gs_verify "$d" --verify "$d/sig.der" "$d/part"
    else gs_verify "$d" -o "$d/gpgsm.content" --verify "$d/p7m.der"; fi
    local rc=$?
    if [ $rc -eq 0 ] && grep -q '^\[GNUPG:\] GOODSIG' "$d/gpgsm.status" &&
        grep -q '^\[GNUPG:\] TRUST_FULLY' "$d/gpgsm.status" &&
        grep -Eq "^\[GNUPG:\] VALIDSIG [0-9A-F]+ [0-9-]+ $gpgsm_time .* $hashno 00\$" "$d/gpgsm.status"; then
      ok "$l: gpgsm --verify"
      if [ "$kind" = opaque ]; then
        cmp -s "$d/gpgsm.content" "$d/content" && ok "$l: gpgsm content = openssl content" ||
          bad "$l: gpgsm's content differs from openssl's"
      fi
    elif [ -n "$lenient" ]; then
      limit "$l: gpgsm --verify failed (not counted, $lenient): $(tr '\n' ' ' <"$d/gpgsm.log" | head -c 200)"
    else
      bad "$l: gpgsm --verify (rc $rc): $(grep -v '^gpgsm: WARNING: running with faked' "$d/gpgsm.log" | tr '\n' ' ' | head -c 300) $(tr '\n' ' ' <"$d/gpgsm.status")"
    fi
  fi

  # NSS
  if [ "$have_nss" = 1 ]; then
    got=$(nss_verify "$d")
    local rc=$?
    if [ $rc -eq 0 ] && grep -q 'signer0.status=GoodSignature;' <<<"$got"; then
      ok "$l: nss cmsutil -D"
    elif [ -n "$lenient" ]; then
      limit "$l: nss cmsutil -D failed (not counted, $lenient): $(tr '\n' ' ' <<<"$got" | head -c 200)"
    else
      bad "$l: nss cmsutil -D (rc $rc): $(tr '\n' ' ' <<<"$got" | head -c 300)"
    fi
  fi

  # our engine
  v=$(verdict_of "$inconf" "$out")
  [ "${v%% *}" = pass ] && ok "$l: smimectl --inbound: $v" || bad "$l: smimectl --inbound: $v"
}

# reject_all LABEL TAMPERED.eml KIND: every verifier must reject.
reject_all() {
  local l=$1 out=$2 kind=$3 d=$2.d got v
  mkdir -p "$d"
  mt split "$out" "$d" >/dev/null 2>&1 || { bad "$l: cannot split"; return; }
  if openssl cms -verify -in "$out" -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign \
      -out /dev/null >/dev/null 2>&1; then bad "$l: openssl accepted a changed message"
  else ok "$l: openssl rejects"; fi
  v=$(verdict_of "$inconf" "$out")
  [ "${v%% *}" = fail ] && ok "$l: smimectl --inbound: $v" || bad "$l: smimectl --inbound: $v, expected fail"
  if [ "$have_gpgsm" = 1 ]; then
    local rc
    if [ "$kind" = clear ]; then gs_verify "$d" --verify "$d/sig.der" "$d/part"
    else gs_verify "$d" -o "$d/gpgsm.content" --verify "$d/p7m.der"; fi
    rc=$?
    if [ $rc -ne 0 ] && ! grep -q '^\[GNUPG:\] GOODSIG' "$d/gpgsm.status"; then ok "$l: gpgsm rejects"
    else bad "$l: gpgsm accepted a changed message"; fi
  fi
  if [ "$have_nss" = 1 ]; then
    got=$(nss_verify "$d")
    grep -q 'status=GoodSignature' <<<"$got" && bad "$l: nss accepted a changed message" ||
      ok "$l: nss rejects"
  fi
}

# ---------------------------------------------------------------- the matrix
# profile: NAME LOGIN IDS DIGEST SIGALG HASHNO MODES MSGS [EXTRA CONFIG LINE]
run_profile() {
  local name=$1 login=$2 ids=$3 digest=$4 sigalg=$5 hashno=$6 modes=$7 msgs=$8 extra=${9:-} lenient=${10:-}
  local mode sign rcpt kind msg conf in out rc extras=()
  [ "$digest" != sha256 ] && extras+=("signing_digest = $digest")
  [ -n "$extra" ] && extras+=("$extra")
  for mode in $modes; do
    case $mode in
      clear) sign=clear rcpt=c.example kind=clear ;;
      opaque) sign=opaque rcpt=c.example kind=opaque ;;
      rcpt-opaque) sign=clear rcpt=b.example kind=opaque ;;
    esac
    conf=$work/$name-$mode.conf
    signing_conf "$conf" "$sign" "$ids" "${extras[@]}"
    for msg in $msgs; do
      in=$work/$name-$mode-$msg.in.eml out=$work/$name-$mode-$msg.eml
      sed -e "s/@FROM@/$login@a.example/" -e "s/@RCPTDOM@/$rcpt/" "$m/$msg.eml" >"$in"
      "$SMIMECTL" -c "$conf" process --outbound --sasl-user "$login" --rcpt "partner@$rcpt" \
        --now "$NOW" "$in" >"$out" 2>"$out.log"
      rc=$?
      if [ $rc -ne 0 ] || ! grep -q 'action=signed' "$out.log"; then
        bad "$name/$mode/$msg: smimectl --outbound exit $rc: $(head -c 300 "$out.log")"
        continue
      fi
      verify_all "$name/$mode/$msg" "$out" "$in" "$msg" "$kind" "$digest" "$sigalg" "$hashno" \
        "$pki/$login.crt" "$lenient"
    done
  done
}

modes="clear opaque rcpt-opaque"
run_profile rsa alice "$work/ids" sha256 rsaEncryption 8 "$modes" "$all_msgs"
run_profile pss alice "$work/ids" sha256 rsassaPss 8 "$modes" "$all_msgs" "signing_rsa_padding = pss"
run_profile ecdsa bob "$work/ids" sha256 ecdsa-with-SHA256 8 "$modes" "$all_msgs"
run_profile rsa-sha384 alice "$work/ids" sha384 rsaEncryption 9 "clear opaque" "plain multipart"
run_profile pss-sha384 alice "$work/ids" sha384 rsassaPss 9 "clear" "plain" "signing_rsa_padding = pss"
run_profile ecdsa-sha512 bob "$work/ids" sha512 ecdsa-with-SHA512 10 "clear opaque" "plain"

# Ed25519: refused at start-up before OpenSSL 3.2, signs and verifies after.
ossl_ver=$(openssl version | awk '{print $2}')
IFS=. read -r ossl_major ossl_minor _ <<<"$ossl_ver"
if [ "$ossl_major" -lt 3 ] || { [ "$ossl_major" -eq 3 ] && [ "$ossl_minor" -lt 2 ]; }; then
  conf=$work/ed.conf
  signing_conf "$conf" clear "$work/ids-ed"
  sed -e 's/@FROM@/ed@a.example/' -e 's/@RCPTDOM@/c.example/' "$m/plain.eml" >"$work/ed.in.eml"
  "$SMIMECTL" -c "$conf" process --outbound --sasl-user ed --now "$NOW" "$work/ed.in.eml" \
    >"$work/ed.out" 2>"$work/ed.log"
  rc=$?
  if [ $rc -eq 78 ] && grep -q 'needs OpenSSL 3.2' "$work/ed.log" && [ ! -s "$work/ed.out" ]; then
    ok "ed25519 (OpenSSL $ossl_ver): refused at start-up: $(head -n1 "$work/ed.log")"
  else
    bad "ed25519 (OpenSSL $ossl_ver): expected exit 78 and 'needs OpenSSL 3.2', got exit $rc: $(head -c 300 "$work/ed.log")"
  fi
else
  # RFC 8419 3.1: with signed attributes, Ed25519 uses SHA-512 as the digest.
  run_profile ed ed "$work/ids-ed" sha512 ED25519 10 "$modes" "$all_msgs" "" \
    "Ed25519 in CMS needs recent gpgsm/NSS"
fi

# ---------------------------------------------------------------- negative controls
for t in rsa-clear-plain:clear ecdsa-opaque-multipart:opaque pss-rcpt-opaque-utf8:opaque; do
  name=${t%%:*} kind=${t#*:}
  if [ ! -s "$work/$name.eml" ]; then bad "tampered $name: no signed output to tamper with"; continue; fi
  if ! "$here/tamper.sh" "$work/$name.eml" >"$work/tampered-$name.eml" 2>"$work/tamper.log"; then
    bad "tampered $name: tamper.sh failed: $(head -c 200 "$work/tamper.log")"; continue
  fi
  if cmp -s "$work/$name.eml" "$work/tampered-$name.eml"; then
    bad "tampered $name: tamper.sh changed nothing"; continue
  fi
  reject_all "tampered $name" "$work/tampered-$name.eml" "$kind"
done

echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
[ "$failed" -eq 0 ]
