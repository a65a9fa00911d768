#!/usr/bin/env bash
# run-encryption-interop.sh: what WE encrypt (smimectl process --outbound to a
# recipient domain with encrypt = required) must decrypt in other S/MIME
# implementations, for each recipient with only that recipient's key.
#
# Recipients (all @b.example, certificates added with `smimectl cert add`
# together with the intermediate): carol (test PKI, RSA 2048), dave (RSA 2048)
# and erin (EC P-256, keyUsage keyAgreement), both issued here by the PKI's
# intermediate; mallory (RSA, never a recipient) and bob (test PKI, P-256,
# not a recipient) are the third parties. frank@b.example has no certificate.
# Cases (policy file b.example.conf): RSA PKCS#1 v1.5 and RSA-OAEP (SHA-256)
# key transport, ECDH (EC P-256), AES-256-CBC (EnvelopedData, the automatic
# choice without known capabilities) and AES-256-GCM (AuthEnvelopedData,
# encryption_algorithm = aes256-gcm), one recipient and several (RSA only;
# RSA + EC), sign = clear (sign, then encrypt) and sign = none; and the
# automatic choice of AES-256-GCM for a recipient whose harvested
# SMIMECapabilities (from a verified inbound signature built here) announce
# it, falling back to AES-256-CBC when another recipient did not.
# Per output: application/pkcs7-mime with the right smime-type, wire-safe,
# header fields kept, no clear text in it; CMS content type, content
# cipher, one RecipientInfo per recipient naming exactly the recipients'
# certificates, key transport (rsaEncryption / rsaesOaep with SHA-256 and
# MGF1-SHA-256 / key agreement); the log line's encryption= and recipients=.
# Decrypters: openssl cms -decrypt -recip CERT -inkey KEY (must work for
# every case), gpgsm --decrypt (private GNUPGHOME per key; RSA keys imported
# from PKCS#12, EC keys written to the agent's key store because gpgsm 2.2
# crashes importing EC PKCS#12) and NSS cmsutil -D (private db per key, from
# PKCS#12). gpgsm/NSS must give openssl's plaintext byte for byte. When
# gpgsm or NSS cannot decrypt our output, the same tool is given the
# equivalent message made by `openssl cms -encrypt` (same recipients, cipher
# and key transport): if it cannot decrypt that either it is a limitation of
# the installed tool (a "limit" line with its error), otherwise a failure.
# The decrypted content: multipart/signed whose signature verifies with
# openssl (root.crt only, -attime $NOW, signer alice) and whose text (and
# attachment) is the original; with sign = none, the original entity itself.
# Negative checks: a third party's key (mallory RSA, bob EC, carol for a
# message to erin only) cannot decrypt with any tool; a changed byte of
# AES-GCM ciphertext is rejected by openssl; a required recipient without a
# certificate is refused (exit 77, "rcpt <..>: 550 5.7.1", or 450 4.7.1 and
# exit 75 with missing_certificate = tempfail) with nothing in clear on
# stdout; with a certified recipient in the same transaction it is refused
# and the message is encrypted to the other one only; a clear (no policy)
# recipient next to a required one is deferred with 452 4.5.3.
# A decrypter whose tool is missing is skipped (a failure in strict mode, tests/skip.sh). Needs python3; exit 77 without.
# Output: one "ok   ..." / "FAIL ..." / "skip ..." / "limit ..." line per check and a
# summary; exit 1 on any failure.
# Helpers (ok/bad/skip, find_decoders, crlf, mt = mimetool.py, root_fpr,
# nss_trust_db) come from common.sh.
# ok/bad/skip always return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || skip_or_fail "python3 missing"
make_pki
one_line() { tr '\r\n' '  ' | head -c "${1:-300}"; }

find_decoders pk12util
gpgsm_ver=unknown nss_ver=unknown
[ "$have_gpgsm" = 1 ] && gpgsm_ver=$(gpgsm --version | awk 'NR == 1 {print $3}')
if [ "$have_nss" = 1 ]; then
  nss_ver=$(nss-config --version 2>/dev/null || pkg-config --modversion nss 2>/dev/null || echo unknown)
fi

gnupg_homes=()
cleanup() {
  local h
  for h in "${gnupg_homes[@]}"; do GNUPGHOME=$h gpgconf --kill gpg-agent 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers
# capsig.py: a detached CMS signature whose SMIMECapabilities we choose
# (openssl cms -sign cannot announce AES-GCM), for the harvesting case.
# capsig.py CERT.der CHAIN.der KEY.pem CONTENT EPOCH OUT.der CAP-OID...
cat >"$work/capsig.py" <<'EOF'
import hashlib, subprocess, sys, time

def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body

def seq(*xs): return tlv(0x30, b''.join(xs))
def set_of(*xs): return tlv(0x31, b''.join(sorted(xs)))
def octets(b): return tlv(0x04, b)
def integer(i): return tlv(0x02, bytes([i]))

def oid(dotted):
    p = [int(x) for x in dotted.split('.')]
    out = bytes([40 * p[0] + p[1]])
    for v in p[2:]:
        chunk = [v & 0x7f]
        v >>= 7
        while v:
            chunk.insert(0, 0x80 | (v & 0x7f))
            v >>= 7
        out += bytes(chunk)
    return tlv(0x06, out)

def items(der):
    """The TLVs inside one constructed TLV."""
    def hdr(b, i):
        n = b[i + 1]
        if n < 0x80:
            return 2, n
        k = n & 0x7f
        return 2 + k, int.from_bytes(b[i + 2:i + 2 + k], 'big')
    h, n = hdr(der, 0)
    i, end, out = h, h + n, []
    while i < end:
        hh, nn = hdr(der, i)
        out.append(der[i:i + hh + nn])
        i += hh + nn
    return out

cert, chain, key, content, epoch, out = sys.argv[1:7]
caps = sys.argv[7:]
cert_der, chain_der = open(cert, 'rb').read(), open(chain, 'rb').read()
tbs = items(items(cert_der)[0])
if tbs[0][0] == 0xa0:
    tbs = tbs[1:]
serial, issuer = tbs[0], tbs[2]
SHA256 = seq(oid('2.16.840.1.101.3.4.2.1'))
DATA = oid('1.2.840.113549.1.7.1')
attrs = [
    seq(oid('1.2.840.113549.1.9.3'), set_of(DATA)),
    seq(oid('1.2.840.113549.1.9.5'),
        set_of(tlv(0x17, time.strftime('%y%m%d%H%M%SZ', time.gmtime(int(epoch))).encode()))),
    seq(oid('1.2.840.113549.1.9.4'),
        set_of(octets(hashlib.sha256(open(content, 'rb').read()).digest()))),
    seq(oid('1.2.840.113549.1.9.15'), set_of(seq(*[seq(oid(c)) for c in caps]))),
    seq(oid('1.2.840.113549.1.9.16.2.47'),
        set_of(seq(seq(seq(octets(hashlib.sha256(cert_der).digest())))))),
]
signed = set_of(*attrs)
sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=signed,
                     capture_output=True, check=True).stdout
signer = seq(integer(1), seq(issuer, serial), SHA256, b'\xa0' + signed[1:],
             seq(oid('1.2.840.113549.1.1.1'), b'\x05\x00'), octets(sig))
sd = seq(integer(1), set_of(SHA256), seq(DATA), tlv(0xa0, cert_der + chain_der), set_of(signer))
open(out, 'wb').write(seq(oid('1.2.840.113549.1.7.2'), tlv(0xa0, sd)))
EOF

# ---------------------------------------------------------------- certificates
# carol from the test PKI; dave (RSA), erin (EC P-256) and mallory (RSA, a
# third party) issued here by the PKI's intermediate with fixed dates.
certs=$work/certs
mkdir -p "$certs" "$work/ca/new"
cp "$pki/carol.crt" "$pki/carol.key" "$pki/bob.crt" "$pki/bob.key" "$certs/"
cat >"$work/ca/ca.cnf" <<EOF
[ca]
default_ca = CA_default
[CA_default]
database = $work/ca/index.txt
new_certs_dir = $work/ca/new
serial = $work/ca/serial
default_md = sha256
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = yes
copy_extensions = none
[policy_any]
organizationName = optional
commonName = supplied
[req]
distinguished_name = req_dn
[req_dn]
EOF
# mkleaf NAME SERIAL rsa|p256 EMAIL
mkleaf() {
  local name=$1 serial=$2 kt=$3 email=$4 ku=digitalSignature,keyEncipherment
  if [ "$kt" = p256 ]; then
    ku=digitalSignature,keyAgreement
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -pkeyopt ec_param_enc:named_curve -out "$certs/$name.key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$certs/$name.key" 2>/dev/null
  fi
  printf '[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,%s\nextendedKeyUsage = emailProtection\nsubjectAltName = email:%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' \
    "$ku" "$email" >"$work/ca/ext-$name.cnf"
  : >"$work/ca/index.txt"
  echo "$serial" >"$work/ca/serial"
  openssl req -new -config "$work/ca/ca.cnf" -key "$certs/$name.key" \
    -subj "/O=smime-milter tests/CN=${name^}" -out "$work/ca/$name.csr" &&
    openssl ca -batch -notext -config "$work/ca/ca.cnf" -cert "$pki/inter.crt" -keyfile "$pki/inter.key" \
      -startdate 20250101000000Z -enddate 20300101000000Z -md sha256 \
      -extfile "$work/ca/ext-$name.cnf" -extensions leaf \
      -in "$work/ca/$name.csr" -out "$certs/$name.crt" 2>"$work/ca/$name.log"
}
for spec in dave:2001:rsa erin:2002:p256 mallory:2003:rsa; do
  IFS=: read -r name serial kt <<<"$spec"
  # (-purpose smimesign checks the emailProtection EKU; openssl's
  # smimeencrypt purpose wants keyEncipherment, which EC certificates lack.)
  if mkleaf "$name" "$serial" "$kt" "$name@b.example" >/dev/null &&
      openssl verify -attime "$NOW" -purpose smimesign -CAfile "$pki/root.crt" \
        -untrusted "$pki/inter.crt" "$certs/$name.crt" >>"$work/ca/$name.log" 2>&1; then
    ok "setup: $name@b.example ($kt) issued by the test intermediate"
  else
    bad "setup: cannot issue $name: $(tail -n 3 "$work/ca/$name.log" | one_line)"
    echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
    exit 1
  fi
done
for name in carol dave erin mallory bob; do
  cat "$certs/$name.crt" "$pki/inter.crt" >"$certs/$name.pem"
done
is_ec() { openssl x509 -in "$certs/$1.crt" -noout -text | grep -q 'id-ecPublicKey'; }
serial_dec() {  # the certificate's serial number in decimal, as openssl cms -print shows it
  local hex
  hex=$(openssl x509 -in "$certs/$1.crt" -noout -serial | cut -d= -f2)
  echo $((16#$hex))
}

# ---------------------------------------------------------------- decrypter setup
gs() {  # gs HOME ARGS...
  local h=$1
  shift
  GNUPGHOME=$h gpgsm --batch --pinentry-mode loopback --passphrase '' --disable-dirmngr \
    --disable-crl-checks --disable-policy-checks "$@"
}
rootfpr=$(root_fpr)
setup_gpgsm() {  # setup_gpgsm NAME: $work/gnupg-NAME holding only NAME's key
  local name=$1 h=$work/gnupg-$1 txt d q grip keyid
  mkdir -m 700 "$h"
  gnupg_homes+=("$h")
  echo "$rootfpr S relax" >"$h/trustlist.txt"
  gs "$h" --import "$pki/root.crt" "$pki/inter.crt" >"$h.log" 2>&1 || return 1
  if ! is_ec "$name"; then
    # gpgsm 2.2 cannot parse OpenSSL 3's default PBES2/AES PKCS#12: use
    # 3DES/SHA1. It also rejects about one such file in 30 ("decryption
    # failed; trying charset ...", the same file every time, so it depends
    # on the random salt/IV): try up to 5 freshly made files.
    local try
    for try in 1 2 3 4 5; do
      openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
        -passout pass: -name "$name" -inkey "$certs/$name.key" -in "$certs/$name.crt" \
        -out "$work/$name-gpgsm.p12" 2>>"$h.log" || return 1
      gs "$h" --import "$work/$name-gpgsm.p12" >>"$h.log" 2>&1 && break
      [ $try = 5 ] && return 1
    done
  else
    # gpgsm 2.2 crashes importing EC keys from PKCS#12 (as sign-gpgsm.sh
    # notes): write the key as an unprotected S-expression into the agent's
    # key store instead (P-256 only).
    gs "$h" --import "$certs/$name.crt" >>"$h.log" 2>&1 || return 1
    txt=$(openssl pkey -in "$certs/$name.key" -noout -text)
    [[ $txt == *"NIST CURVE: P-256"* ]] || return 1
    d=$(sed -n '/^priv:/,/^pub:/p' <<<"$txt" | sed '1d;$d' | tr -d ' :\n')
    q=$(sed -n '/^pub:/,/^ASN1/p' <<<"$txt" | sed '1d;$d' | tr -d ' :\n')
    keyid=$(openssl x509 -in "$certs/$name.crt" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
    grip=$(gs "$h" --with-keygrip -k "0x$keyid" 2>>"$h.log" | awk '/keygrip:/ {print $2}')
    [ -n "$grip" ] || return 1
    mkdir -p "$h/private-keys-v1.d" && chmod 700 "$h/private-keys-v1.d"
    printf '(private-key(ecc(curve "NIST P-256")(q #%s#)(d #%s#)))' "$q" "$d" \
      >"$h/private-keys-v1.d/$grip.key"
  fi
  gs "$h" -K 2>>"$h.log" | grep -q 'b.example\|a.example'
}
setup_nss() {  # setup_nss NAME: NSS db $work/nss-NAME holding only NAME's key
  local name=$1 db=$work/nss-$1
  mkdir "$db"
  {
    openssl pkcs12 -export -passout pass: -name "$name" -inkey "$certs/$name.key" \
      -in "$certs/$name.crt" -certfile "$pki/inter.crt" -out "$work/$name-nss.p12" &&
      nss_trust_db "sql:$db" &&
      pk12util -i "$work/$name-nss.p12" -d "sql:$db" -W ''
  } >"$db.log" 2>&1
}
keyholders="carol dave erin mallory bob"
for name in $keyholders; do
  if [ "$have_gpgsm" = 1 ]; then
    setup_gpgsm "$name" || bad "gpgsm setup for $name: $(one_line <"$work/gnupg-$name.log")"
  fi
  if [ "$have_nss" = 1 ]; then
    setup_nss "$name" || bad "nss setup for $name: $(one_line <"$work/nss-$name.log")"
  fi
done

# dec TOOL NAME IN(.eml for openssl, .der otherwise) OUT: succeeds if the
# decryption did; the tool's messages in OUT.log, its exit status in $dec_rc.
# gpgsm judges by its status lines: it exits 2 after a good decryption when
# it lacked the certificate of a RecipientInfo before the one for its key
# ("failed to find the certificate"), i.e. with several recipients.
dec_rc=0
dec() {
  local tool=$1 name=$2 in=$3 out=$4
  rm -f "$out"
  case $tool in
    openssl)
      openssl cms -decrypt -in "$in" -recip "$certs/$name.crt" -inkey "$certs/$name.key" \
        -out "$out" >"$out.log" 2>&1
      dec_rc=$? ;;
    gpgsm)
      gs "$work/gnupg-$name" --status-fd 1 -o "$out" --decrypt "$in" >"$out.log" 2>&1
      dec_rc=$?
      grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$out.log" &&
        ! grep -q '^\[GNUPG:\] DECRYPTION_FAILED' "$out.log"
      return ;;
    nss)
      cmsutil -D -d "sql:$work/nss-$name" -i "$in" -o "$out" >"$out.log" 2>&1
      dec_rc=$? ;;
  esac
  [ "$dec_rc" -eq 0 ]
}
dec_error() {  # dec_error OUT: the tool's words, without gpgsm's status lines
  grep -v '^\[GNUPG:\]' "$1.log" | one_line 240
}
contains_marker() { [ -f "$1" ] && grep -qF "$marker" "$1"; }

# ---------------------------------------------------------------- messages
marker="Secret-$RANDOM$RANDOM-only-for-the-recipients"
m=$work/msg
mkdir -p "$m"
hdrs() {
  printf 'From: Alice <alice@a.example>\nTo: %s\nSubject: %s\n' "$1" "$2"
  printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <%s@a.example>\n' "$RANDOM$RANDOM"
}
printf 'Hello,\n\n%s\nGrüße aus Köln – naïve café.\n-- \nAlice\n' "$marker" | crlf >"$m/plain.txt"
printf 'Hello,\n\nthe attachment is binary.\n%s\n' "$marker" | crlf >"$m/multipart.txt"
head -c 3000 /dev/urandom >"$m/att.bin"
# mkmsg NAME TO-LIST SUBJECT
mkmsg() {
  local kind=$1 to=$2 subject=$3
  if [ "$kind" = plain ]; then
    { hdrs "$to" "$subject"
      printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
      cat "$m/plain.txt"; } | crlf
  else
    { hdrs "$to" "$subject"
      printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="outer-XYZ"\n\n'
      printf 'This is a multi-part message in MIME format.\n\n--outer-XYZ\n'
      printf 'Content-Type: text/plain; charset=us-ascii\n\n'
      cat "$m/multipart.txt"
      printf '\n--outer-XYZ\nContent-Type: application/octet-stream; name="data.bin"\n'
      printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="data.bin"\n\n'
      base64 -w 76 "$m/att.bin"
      printf '\n--outer-XYZ--\n'; } | crlf
  fi
}

# ---------------------------------------------------------------- configuration
cp "$pki/alice.key" "$work/alice.key"
chmod 600 "$work/alice.key"
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
echo "alice alice@a.example" >"$work/users"
state=$work/state
mkdir -p "$state"
# mkconf NAME SIGN [POLICY LINE...]: $work/NAME.conf with its own policy
# folder ($work/pol-NAME/b.example.conf = encrypt = required + the lines);
# every config shares the certificate store in $state.
mkconf() {
  local name=$1 sign=$2
  shift 2
  mkdir -p "$work/pol-$name"
  printf '%s\n' "encrypt = required" "$@" >"$work/pol-$name/b.example.conf"
  write_config "$work/$name.conf" "sign = $sign" "signing_identities = $work/identities" \
    "signing_users = $work/users" "policy_dir = $work/pol-$name" "state_dir = $state"
}
mkconf base clear
for name in carol dave erin; do
  if out=$("$SMIMECTL" -c "$work/base.conf" cert add "$certs/$name.pem" 2>&1); then
    ok "cert add $name.pem: $(one_line 120 <<<"$out")"
  else
    bad "cert add $name.pem: $(one_line <<<"$out")"
  fi
  out=$("$SMIMECTL" -c "$work/base.conf" cert lookup "$name@b.example" --now "$NOW" 2>&1)
  rc=$?
  want=$(openssl x509 -in "$certs/$name.crt" -noout -serial | cut -d= -f2)
  if [ $rc -eq 0 ] && grep -qi "serial $want" <<<"$out"; then
    ok "cert lookup $name@b.example: serial $want"
  else
    bad "cert lookup $name@b.example (exit $rc, want serial $want): $(one_line <<<"$out")"
  fi
done
out=$("$SMIMECTL" -c "$work/base.conf" cert lookup "frank@b.example" --now "$NOW" 2>&1)
rc=$?
[ $rc -eq 3 ] && ok "cert lookup frank@b.example: none (exit 3)" ||
  bad "cert lookup frank@b.example: exit $rc, expected 3: $(one_line <<<"$out")"

# ---------------------------------------------------------------- reference messages
# ref_der CASE CIPHER PADDING NAMES...: the equivalent message made by
# `openssl cms -encrypt` (same recipients, content cipher, RSA padding).
ref_der() {
  local c=$1 cipher=$2 padding=$3 name args=()
  shift 3
  [ -s "$work/ref-$c.der" ] && return 0
  for name in "$@"; do
    args+=(-recip "$certs/$name.crt")
    if ! is_ec "$name" && [ "$padding" = oaep ]; then
      args+=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256)
    fi
  done
  printf 'Content-Type: text/plain\r\n\r\nreference %s\r\n' "$c" >"$work/ref-$c.txt"
  openssl cms -encrypt -binary -outform DER -in "$work/ref-$c.txt" -out "$work/ref-$c.der" \
    "-${cipher}" "${args[@]}" >"$work/ref-$c.log" 2>&1
}

# other_tool TOOL LABEL CASE NAME DIR CIPHER PADDING NAMES...: gpgsm or NSS
# decrypts DIR/p7m.der with NAME's key to openssl's plaintext DIR/inner-NAME.
other_tool() {
  local tool=$1 l=$2 c=$3 name=$4 d=$5 cipher=$6 padding=$7 ver
  shift 7
  local out=$d/$tool-$name
  [ "$tool" = gpgsm ] && ver="gpgsm $gpgsm_ver" || ver="NSS $nss_ver"
  if dec "$tool" "$name" "$d/p7m.der" "$out"; then
    local note=""
    [ "$dec_rc" -ne 0 ] && note=", exit $dec_rc: $(grep -v '^\[GNUPG:\]' "$out.log" | grep -v 'encrypted to\|encrypted data' | one_line 100)"
    if cmp -s "$out" "$d/inner-$name"; then ok "$l: $tool decrypts with $name's key (= openssl's plaintext$note)"
    else bad "$l: $tool's plaintext for $name differs from openssl's$note"; fi
    return
  fi
  local err
  err=$(dec_error "$out")
  if ! ref_der "$c" "$cipher" "$padding" "$@"; then
    bad "$l: $tool cannot decrypt for $name ($err); no openssl reference: $(one_line <"$work/ref-$c.log")"
  elif dec "$tool" "$name" "$work/ref-$c.der" "$work/ref-$c-$tool-$name"; then
    bad "$l: $tool cannot decrypt ours for $name but decrypts openssl's equivalent: $err"
  else
    local kt="RSA $padding"
    is_ec "$name" && kt="ECDH P-256"
    limit "$l: $ver cannot decrypt this for $name, nor openssl's equivalent ($cipher, $kt): $err"
  fi
}

# ---------------------------------------------------------------- one case
# run_case LABEL CONF SIGN MSG CIPHER PADDING NAMES...
#   SIGN clear|none; MSG plain|multipart; CIPHER aes-256-cbc|aes-256-gcm;
#   PADDING pkcs1|oaep (RSA recipients); NAMES the recipients (@b.example).
run_case() {
  local l=$1 conf=$2 sign=$3 msg=$4 cipher=$5 padding=$6
  shift 6
  local names=("$@") name rcpts=() to="" d=$work/case-$l in out got rc
  mkdir -p "$d"
  for name in "${names[@]}"; do
    rcpts+=(--rcpt "$name@b.example")
    to="${to:+$to, }$name@b.example"
  done
  in=$d/in.eml out=$d/out.eml
  mkmsg "$msg" "$to" "case $l" >"$in"
  "$SMIMECTL" -c "$conf" process --outbound --sasl-user alice "${rcpts[@]}" --now "$NOW" "$in" \
    >"$out" 2>"$d/log"
  rc=$?
  if [ $rc -ne 0 ]; then bad "$l: smimectl --outbound exit $rc: $(one_line <"$d/log")"; return; fi
  local alg=${cipher//-/}
  alg=${alg/aes256/aes256-}
  if grep -q "encryption=$alg, recipients=${#names[@]}," "$d/log"; then
    ok "$l: log says encryption=$alg, recipients=${#names[@]}"
  else
    bad "$l: log line: $(grep -v '^smimectl: rcpt' "$d/log" | one_line)"
  fi
  # outer message
  local want_type=enveloped-data
  [ "$cipher" = aes-256-gcm ] && want_type=authEnveloped-data
  if ! got=$(mt opaque "$out" "$d/p7m.der" 2>&1); then bad "$l: not S/MIME encrypted: $got"; return; fi
  [ "$got" = "$want_type" ] && ok "$l: application/pkcs7-mime; smime-type=$got" ||
    bad "$l: smime-type=$got, expected $want_type"
  got=$(mt wire "$out" 2>&1) && ok "$l: wire-safe (CRLF, 7-bit, lines <= 998)" || bad "$l: wire: $got"
  got=""
  for h in from to subject message-id; do got+=$(mt header "$in" "$out" "$h" 2>&1); done
  [ -z "$got" ] && ok "$l: From/To/Subject/Message-ID kept" || bad "$l: header fields: $got"
  contains_marker "$out" && bad "$l: the message text is in clear in the output" ||
    ok "$l: no clear text in the output"

  # CMS structure
  if openssl cms -cmsout -print -noout -inform DER -in "$d/p7m.der" >"$d/print" 2>"$d/print.log"; then
    local ct want_ct=pkcs7-envelopedData ktri kari want_kari=0 serials want_serials
    [ "$cipher" = aes-256-gcm ] && want_ct=id-smime-ct-authEnvelopedData
    ct=$(sed -n 's/^ *contentType: \([^ ]*\).*/\1/p' "$d/print" | head -n1)
    [ "$ct" = "$want_ct" ] && ok "$l: CMS $ct" || bad "$l: CMS content type $ct, expected $want_ct"
    got=$(sed -n '/contentEncryptionAlgorithm:/{n;p;q}' "$d/print" | awk '{print $2}')
    [ "$got" = "$cipher" ] && ok "$l: content encryption $got" ||
      bad "$l: content encryption $got, expected $cipher"
    ktri=$(grep -c 'd\.ktri:' "$d/print")
    kari=$(grep -c 'd\.kari:' "$d/print")
    for name in "${names[@]}"; do is_ec "$name" && want_kari=$((want_kari + 1)); done
    if [ "$ktri" -eq $((${#names[@]} - want_kari)) ] && [ "$kari" -eq "$want_kari" ]; then
      ok "$l: $ktri key transport + $kari key agreement RecipientInfos"
    else
      bad "$l: $ktri ktri + $kari kari RecipientInfos, expected $((${#names[@]} - want_kari)) + $want_kari"
    fi
    serials=$(sed -n '/recipientInfos:/,/ContentInfo:/p' "$d/print" |
      sed -n 's/^ *serialNumber: \([0-9]*\).*/\1/p' | sort | tr '\n' ' ')
    want_serials=$(for name in "${names[@]}"; do serial_dec "$name"; done | sort | tr '\n' ' ')
    [ "$serials" = "$want_serials" ] && ok "$l: RecipientInfos name exactly the recipients' certificates" ||
      bad "$l: RecipientInfo serials '$serials', expected '$want_serials'"
    if [ "$ktri" -gt 0 ]; then
      got=$(sed -n '/d\.ktri:/,/encryptedKey:/p' "$d/print" |
        sed -n '/keyEncryptionAlgorithm:/{n;p}' | awk '{print $2}' | sort -u | tr '\n' ' ')
      if [ "$padding" = oaep ]; then
        local params
        # per RecipientInfo: hashFunc sha256, maskGenFunc mgf1 with sha256
        params=$(sed -n '/d\.ktri:/,/encryptedKey:/p' "$d/print" | grep -o 'OBJECT *:[a-z0-9-]*' |
          sed 's/.*://' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
        [ "$got" = "rsaesOaep " ] && ok "$l: key transport RSAES-OAEP" ||
          bad "$l: key transport '$got', expected rsaesOaep"
        [ "$params" = "mgf1:$ktri sha256:$((2 * ktri)) " ] &&
          ok "$l: OAEP parameters SHA-256, MGF1-SHA-256" || bad "$l: OAEP parameters (OID:count): $params"
      else
        [ "$got" = "rsaEncryption " ] && ok "$l: key transport RSA PKCS#1 v1.5" ||
          bad "$l: key transport '$got', expected rsaEncryption"
      fi
    fi
    if [ "$kari" -gt 0 ]; then
      got=$(sed -n '/d\.kari:/,/recipientEncryptedKeys:/p' "$d/print" |
        sed -n '/keyEncryptionAlgorithm:/{n;p}' | awk '{print $2}' | sort -u | tr '\n' ' ')
      # RFC 5753 / RFC 8551 2.7: the sha256 KDF, never OpenSSL's sha1 default.
      [ "$got" = "dhSinglePass-stdDH-sha256kdf-scheme " ] && ok "$l: key agreement ${got% }" ||
        bad "$l: key agreement algorithm '$got', expected dhSinglePass-stdDH-sha256kdf-scheme"
    fi
  else
    bad "$l: openssl cms -cmsout -print: $(one_line <"$d/print.log")"
  fi

  # each recipient, with only its own key
  local first=1
  for name in "${names[@]}"; do
    if ! dec openssl "$name" "$out" "$d/inner-$name"; then
      bad "$l: openssl cms -decrypt with $name's key: $(dec_error "$d/inner-$name")"
      continue
    fi
    ok "$l: openssl decrypts with $name's key"
    if [ $first = 1 ]; then
      first=0
      check_inner "$l" "$d" "$d/inner-$name" "$sign" "$msg"
    elif cmp -s "$d/inner-$name" "$d/inner-${names[0]}"; then
      ok "$l: $name gets the same plaintext as ${names[0]}"
    else
      bad "$l: $name's plaintext differs from ${names[0]}'s"
    fi
    [ "$have_gpgsm" = 1 ] && other_tool gpgsm "$l" "$l" "$name" "$d" "$cipher" "$padding" "${names[@]}"
    [ "$have_nss" = 1 ] && other_tool nss "$l" "$l" "$name" "$d" "$cipher" "$padding" "${names[@]}"
  done
}

# check_inner LABEL DIR INNER SIGN MSG: the decrypted entity
check_inner() {
  local l=$1 d=$2 inner=$3 sign=$4 msg=$5 got
  got=$(mt ctype "$inner" 2>&1)
  if [ "$sign" = none ]; then
    [ "$got" != multipart/signed ] && [ "$got" != application/pkcs7-mime ] &&
      ok "$l: decrypted content is unsigned ($got)" || bad "$l: sign = none but the content is $got"
    cp "$inner" "$d/content"
  else
    [ "$got" = multipart/signed ] && ok "$l: decrypted content is multipart/signed" ||
      { bad "$l: decrypted content is $got, expected multipart/signed"; return; }
    if openssl cms -verify -in "$inner" -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign \
        -signer "$d/signer.pem" -out "$d/content" >/dev/null 2>"$d/verify.log"; then
      ok "$l: inner signature verifies (openssl cms -verify, root.crt only)"
      cmp -s <(openssl x509 -in "$d/signer.pem" -outform DER) <(openssl x509 -in "$pki/alice.crt" -outform DER) &&
        ok "$l: signed by alice" || bad "$l: signer is not alice"
    else
      bad "$l: inner signature: $(one_line <"$d/verify.log")"
      return
    fi
  fi
  got=$(mt text "$d/content" "$m/$msg.txt" 2>&1) && ok "$l: decrypted text = original" || bad "$l: $got"
  if [ "$msg" = multipart ]; then
    got=$(mt attachment "$d/content" "$m/att.bin" 2>&1) && ok "$l: attachment bytes = original" ||
      bad "$l: $got"
  fi
}

# ---------------------------------------------------------------- the matrix
mkconf rsa-oaep-cbc clear "encryption_algorithm = aes256-cbc" "encryption_rsa_padding = oaep"
mkconf gcm clear "encryption_algorithm = aes256-gcm"
mkconf oaep-gcm clear "encryption_algorithm = aes256-gcm" "encryption_rsa_padding = oaep"
mkconf unsigned none
mkconf unsigned-gcm none "encryption_algorithm = aes256-gcm"

run_case rsa-pkcs1-cbc "$work/base.conf" clear plain aes-256-cbc pkcs1 carol
run_case rsa-pkcs1-cbc-multipart "$work/base.conf" clear multipart aes-256-cbc pkcs1 dave
run_case rsa-oaep-cbc "$work/rsa-oaep-cbc.conf" clear plain aes-256-cbc oaep carol
run_case rsa-pkcs1-gcm "$work/gcm.conf" clear plain aes-256-gcm pkcs1 carol
run_case rsa-oaep-gcm "$work/oaep-gcm.conf" clear plain aes-256-gcm oaep carol
run_case ec-cbc "$work/base.conf" clear plain aes-256-cbc - erin
run_case ec-gcm "$work/gcm.conf" clear multipart aes-256-gcm - erin
run_case multi-rsa-cbc "$work/base.conf" clear plain aes-256-cbc pkcs1 carol dave
run_case multi-rsa-ec-cbc "$work/base.conf" clear multipart aes-256-cbc pkcs1 carol dave erin
run_case multi-oaep-ec-gcm "$work/oaep-gcm.conf" clear plain aes-256-gcm oaep carol erin dave
run_case unsigned-cbc "$work/unsigned.conf" none plain aes-256-cbc pkcs1 carol
run_case unsigned-ec-gcm "$work/unsigned-gcm.conf" none multipart aes-256-gcm - erin

# Content that is already encrypted is passed on as it is (not signed or
# encrypted again).
d=$work/case-rsa-pkcs1-cbc
if [ -s "$d/out.eml" ]; then
  "$SMIMECTL" -c "$work/base.conf" process --outbound --sasl-user alice --rcpt carol@b.example \
    --now "$NOW" "$d/out.eml" >"$d/again.eml" 2>"$d/again.log"
  rc=$?
  [ $rc -eq 0 ] && cmp -s "$d/out.eml" "$d/again.eml" && grep -q 'already-encrypted' "$d/again.log" &&
    ok "already encrypted: passed on unchanged ($(grep -o 'encryption=[^,]*' "$d/again.log"))" ||
    bad "already encrypted: exit $rc, $(cmp -s "$d/out.eml" "$d/again.eml" && echo unchanged || echo changed): $(one_line <"$d/again.log")"
fi

# ---------------------------------------------------------------- third parties
# third LABEL CASE-DIR NAME: NAME's key must not reveal the text, with any tool.
third() {
  local l=$1 d=$2 name=$3 tool in out
  [ -s "$d/p7m.der" ] || { bad "$l: no encrypted output"; return; }
  for tool in openssl gpgsm nss; do
    [ "$tool" = gpgsm ] && [ "$have_gpgsm" = 0 ] && continue
    [ "$tool" = nss ] && [ "$have_nss" = 0 ] && continue
    in=$d/p7m.der
    [ "$tool" = openssl ] && in=$d/out.eml
    out=$d/third-$tool-$name
    if dec "$tool" "$name" "$in" "$out" && [ -s "$out" ] || contains_marker "$out"; then
      contains_marker "$out" && bad "$l: $tool with $name's key reveals the text" ||
        bad "$l: $tool with $name's key claims success"
    else
      ok "$l: $tool cannot decrypt with $name's key ($(dec_error "$out" | head -c 80))"
    fi
  done
}
third "third party mallory (RSA) on rsa-pkcs1-cbc" "$work/case-rsa-pkcs1-cbc" mallory
third "third party mallory (RSA) on multi-rsa-cbc" "$work/case-multi-rsa-cbc" mallory
third "third party bob (EC) on ec-cbc" "$work/case-ec-cbc" bob
third "third party bob (EC) on multi-rsa-ec-cbc" "$work/case-multi-rsa-ec-cbc" bob
third "carol on ec-gcm (to erin only)" "$work/case-ec-gcm" carol
third "dave on rsa-oaep-gcm (to carol only)" "$work/case-rsa-oaep-gcm" dave
# openssl with the right certificate but a stranger's key
d=$work/case-rsa-pkcs1-cbc
if openssl cms -decrypt -in "$d/out.eml" -recip "$certs/carol.crt" -inkey "$certs/mallory.key" \
    -out "$d/wrongkey" >/dev/null 2>&1 && contains_marker "$d/wrongkey"; then
  bad "carol's certificate with mallory's key reveals the text"
else
  ok "carol's certificate with mallory's key: no plaintext"
fi

# AuthEnvelopedData: a changed ciphertext byte must not decrypt.
for c in rsa-pkcs1-gcm ec-gcm; do
  d=$work/case-$c
  [ -s "$d/p7m.der" ] || continue
  mt flip "$d/p7m.der" "$d/flipped.der" 40
  name=carol
  [ "$c" = ec-gcm ] && name=erin
  if openssl cms -decrypt -inform DER -in "$d/flipped.der" -recip "$certs/$name.crt" \
      -inkey "$certs/$name.key" -out "$d/flipped.out" >/dev/null 2>"$d/flipped.log"; then
    bad "$c: a changed AES-GCM ciphertext byte decrypts"
  else
    ok "$c: a changed AES-GCM ciphertext byte is rejected ($(one_line 80 <"$d/flipped.log"))"
  fi
done

# ---------------------------------------------------------------- refusals
# refused LABEL CONF WANT-EXIT WANT-REPLY RCPT...: no recipient gets anything.
refused() {
  local l=$1 conf=$2 want_rc=$3 want=$4 rc r rcpts=()
  shift 4
  for r in "$@"; do rcpts+=(--rcpt "$r"); done
  local d=$work/refused-$l
  mkdir -p "$d"
  mkmsg plain "$*" "refused $l" >"$d/in.eml"
  "$SMIMECTL" -c "$conf" process --outbound --sasl-user alice "${rcpts[@]}" --now "$NOW" "$d/in.eml" \
    >"$d/out" 2>"$d/log"
  rc=$?
  [ $rc -eq "$want_rc" ] && ok "$l: smimectl exit $rc" || bad "$l: smimectl exit $rc, expected $want_rc"
  grep -qF "rcpt <$1>: $want" "$d/log" && ok "$l: stderr has 'rcpt <$1>: $want'" ||
    bad "$l: no 'rcpt <$1>: $want' on stderr: $(one_line <"$d/log")"
  if contains_marker "$d/out"; then bad "$l: the text is on stdout in clear"
  elif [ -s "$d/out" ]; then ok "$l: nothing in clear on stdout ($(wc -c <"$d/out") bytes, no text)"
  else ok "$l: nothing on stdout"; fi
}
refused no-certificate "$work/base.conf" 77 "550 5.7.1" frank@b.example
mkconf tempfail clear "missing_certificate = tempfail"
refused no-certificate-tempfail "$work/tempfail.conf" 75 "450 4.7.1" frank@b.example

# partly refused LABEL OK-NAME OTHER-RCPT REPLY: OTHER is refused or deferred,
# the message is encrypted to OK-NAME only and decrypts for it.
partly() {
  local l=$1 name=$2 other=$3 want=$4 d=$work/partly-$1 rc got
  mkdir -p "$d"
  mkmsg plain "$name@b.example, $other" "partly $l" >"$d/in.eml"
  "$SMIMECTL" -c "$work/base.conf" process --outbound --sasl-user alice --rcpt "$name@b.example" \
    --rcpt "$other" --now "$NOW" "$d/in.eml" >"$d/out.eml" 2>"$d/log"
  rc=$?
  [ $rc -eq 0 ] && ok "$l: smimectl exit 0 (accepted for $name)" || bad "$l: smimectl exit $rc, expected 0"
  grep -qF "rcpt <$other>: $want" "$d/log" && ok "$l: stderr has 'rcpt <$other>: $want'" ||
    bad "$l: no 'rcpt <$other>: $want' on stderr: $(one_line <"$d/log")"
  grep -q 'recipients=1,' "$d/log" && ok "$l: encrypted for 1 recipient" ||
    bad "$l: log line: $(grep -v '^smimectl: rcpt' "$d/log" | one_line)"
  contains_marker "$d/out.eml" && bad "$l: the text is in clear in the output" ||
    ok "$l: no clear text in the output"
  if got=$(mt opaque "$d/out.eml" "$d/p7m.der" 2>&1) &&
      openssl cms -cmsout -print -noout -inform DER -in "$d/p7m.der" >"$d/print" 2>/dev/null; then
    got=$(sed -n 's/^ *serialNumber: \([0-9]*\).*/\1/p' "$d/print" | tr '\n' ' ')
    [ "$got" = "$(serial_dec "$name") " ] && ok "$l: one RecipientInfo, $name's" ||
      bad "$l: RecipientInfo serials '$got', expected $name's only"
  else
    bad "$l: not S/MIME encrypted: $got"
  fi
  dec openssl "$name" "$d/out.eml" "$d/inner" && contains_marker "$d/inner" &&
    ok "$l: $name decrypts it" || bad "$l: $name cannot decrypt: $(dec_error "$d/inner")"
}
partly with-uncertified carol frank@b.example "550 5.7.1"
partly with-clear-recipient carol partner@c.example "452 4.5.3"

# ---------------------------------------------------------------- automatic AES-GCM
# carol's certificate harvested from a verified inbound signature whose
# SMIMECapabilities announce AES-256-GCM; encryption_algorithm = auto.
hstate=$work/hstate
mkdir -p "$hstate" "$work/pol-harvest"
echo "encrypt = required" >"$work/pol-harvest/b.example.conf"
hconf=$work/harvest.conf
write_config "$hconf" "sign = clear" "signing_identities = $work/identities" \
  "signing_users = $work/users" "policy_dir = $work/pol-harvest" "state_dir = $hstate" \
  "harvest_certificates = yes"
h=$work/harvest
mkdir -p "$h"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHi Alice, reply encrypted please.\r\n' >"$h/part"
openssl x509 -in "$certs/carol.crt" -outform DER -out "$h/carol.der"
openssl x509 -in "$pki/inter.crt" -outform DER -out "$h/inter.der"
if python3 "$work/capsig.py" "$h/carol.der" "$h/inter.der" "$certs/carol.key" "$h/part" \
    $((NOW - 3600)) "$h/sig.der" 2.16.840.1.101.3.4.1.46 2.16.840.1.101.3.4.1.42 2>"$h/capsig.log" &&
    openssl cms -verify -inform DER -in "$h/sig.der" -content "$h/part" -binary -CAfile "$pki/root.crt" \
      -attime "$NOW" -purpose smimesign -out /dev/null >/dev/null 2>>"$h/capsig.log"; then
  ok "harvest: carol's signature announcing AES-256-GCM verifies with openssl"
  { printf 'From: Carol <carol@b.example>\r\nTo: Alice <alice@a.example>\r\nSubject: capabilities\r\n'
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMessage-ID: <caps%s@b.example>\r\nMIME-Version: 1.0\r\n' "$RANDOM"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n'
    printf '\tboundary="sig-BOUNDARY"\r\n\r\nThis is an S/MIME signed message.\r\n\r\n--sig-BOUNDARY\r\n'
    cat "$h/part"
    printf '\r\n--sig-BOUNDARY\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
    base64 -w 76 "$h/sig.der" | crlf
    printf '\r\n--sig-BOUNDARY--\r\n'; } >"$h/inbound.eml"
  v=$(verdict_of "$hconf" "$h/inbound.eml")
  [ "${v%% *}" = pass ] && ok "harvest: smimectl --inbound: $v" || bad "harvest: smimectl --inbound: $v"
  out=$("$SMIMECTL" -c "$hconf" cert lookup carol@b.example --now "$NOW" 2>&1)
  rc=$?
  [ $rc -eq 0 ] && grep -qi 'harvest' <<<"$out" && ok "harvest: cert lookup finds the harvested certificate" ||
    bad "harvest: cert lookup (exit $rc): $(one_line <<<"$out")"
  run_case auto-gcm-harvested "$hconf" clear plain aes-256-gcm pkcs1 carol
  "$SMIMECTL" -c "$hconf" cert add "$certs/dave.pem" >/dev/null 2>&1 ||
    bad "harvest: cert add dave.pem failed"
  run_case auto-mixed-capabilities-cbc "$hconf" clear plain aes-256-cbc pkcs1 carol dave
else
  bad "harvest: cannot build carol's signature: $(one_line <"$h/capsig.log")"
fi

echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
[ "$failed" -eq 0 ]
