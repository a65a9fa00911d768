#!/usr/bin/env bash
# gen-revocation-pki.sh OUTDIR OCSP_PORT CRL_PORT DEAD_PORT SLOW_PORT BAD_PORT
# gen-revocation-pki.sh --gencrl OUTDIR root|inter|inter-revoked
#
# What: the PKI for the revocation tests (tests/revocation/run-revocation.sh),
# built with `openssl ca` only, SHA-256, RSA-2048, fixed certificate validity
# (CAs 2025..2045, leaves 2025..2030), REAL-clock CRLs (thisUpdate = now).
# The URLs baked into the certificates name the ports given, all on
# 127.0.0.1, so the caller must choose the ports before generating.
#
#   root            trust anchor, no CDP
#   inter           by root, CDP http://127.0.0.1:CRL_PORT/root.crl
#   inter-revoked   by root, same CDP, REVOKED in root.crl
#   ocsp            by inter, EKU OCSPSigning + id-pkix-ocsp-nocheck: the
#                   delegated responder of the good OCSP server
#   rogue-ocsp      self-signed, EKU OCSPSigning: the "unauthorised" responder
#   leaves (SAN email NAME@r.example, EKU emailProtection, by inter unless noted):
#     good         AIA OCSP http://127.0.0.1:OCSP_PORT/, CDP .../inter.crl
#     revoked      same URLs; revoked (keyCompromise) in index + inter.crl
#     crlonly      CDP .../inter.crl only
#     crlrevoked   CDP .../inter.crl only; revoked in inter.crl (NOT in
#                  old-inter.crl, which predates the revocation)
#     underrevoked by inter-revoked; CDP .../inter-revoked.crl only (the OCSP
#                  server answers for inter only, so no AIA here)
#     dead         AIA + CDP on DEAD_PORT (nothing listens)
#     slow         AIA + CDP on SLOW_PORT (answers after 30 s)
#     malformed    AIA + CDP on BAD_PORT (answers 200 + garbage)
#     unauth       AIA OCSP on OCSP_PORT+1 (responder signs with rogue-ocsp),
#                  CDP .../inter.crl (good there)
#     nosource     neither AIA nor CDP
#     ocsponly     AIA OCSP on DEAD_PORT, no CDP; revoked in inter.crl (NOT
#                  in old-inter.crl)
#     expiredcrl   CDP .../expired.crl: by inter, lastUpdate now-10d,
#                  nextUpdate now-1d, does not list the leaf
#
# Output in OUTDIR:
#   NAME.crt NAME.key NAME.chain.pem (the issuing intermediate; the layout of
#   tests/interop/sign-openssl.sh), NAME.full.pem (leaf + intermediate, for
#   `smimectl revocation check`), trust.pem (root only),
#   www/{root,inter,inter-revoked,expired}.crl (DER, served over HTTP),
#   old-inter.crl (DER; an older inter CRL for the embedded-CRL case),
#   ca/NAME/{ca.cnf,index.txt,...} the openssl ca databases;
#   ca/inter/index.txt is the OCSP responder's index.
# --gencrl regenerates www/NAME.crl from its database (new thisUpdate and
# crlNumber), e.g. to test `smimectl crl fetch`.
#
# Failure modes: any openssl error aborts (set -e) with openssl's message on
# stderr; exit 2 on bad usage. OUTDIR is emptied first.
set -euo pipefail

LEAF_FROM=20250101000000Z LEAF_TO=20300101000000Z
CA_FROM=20250101000000Z CA_TO=20450101000000Z
O="/O=smime-milter revocation tests"

# gencrl OUTDIR CA [extra openssl ca args...]: DER CRL of CA on stdout.
gencrl() {
  local out=$1 ca=$2
  shift 2
  openssl ca -batch -config "$out/ca/$ca/ca.cnf" -gencrl -crldays 30 -md sha256 "$@" \
    -out "$out/ca/$ca/crl.pem" 2>/dev/null
  openssl crl -in "$out/ca/$ca/crl.pem" -outform DER
}

if [[ ${1:-} == --gencrl ]]; then
  [[ $# -eq 3 ]] || { echo "usage: $0 --gencrl OUTDIR root|inter|inter-revoked" >&2; exit 2; }
  gencrl "$2" "$3" >"$2/www/$3.crl.new"
  mv "$2/www/$3.crl.new" "$2/www/$3.crl"
  exit 0
fi

[[ $# -eq 6 ]] || {
  echo "usage: $0 OUTDIR OCSP_PORT CRL_PORT DEAD_PORT SLOW_PORT BAD_PORT" >&2
  exit 2
}
out=$1 ocsp_port=$2 crl_port=$3 dead_port=$4 slow_port=$5 bad_port=$6
unauth_port=$((ocsp_port + 1))
base="http://127.0.0.1"
rm -rf "$out"
mkdir -p "$out/www" "$out/ca"
out=$(cd "$out" && pwd)
ext=$out/ca/ext.cnf

# mkca NAME: an openssl ca database + config under ca/NAME.
mkca() {
  local d=$out/ca/$1
  mkdir -p "$d/new"
  : >"$d/index.txt"
  echo 1000 >"$d/serial"
  echo 01 >"$d/crlnumber"
  cat >"$d/ca.cnf" <<EOT
[ca]
default_ca = CA_default
[CA_default]
dir = $d
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
crlnumber = $d/crlnumber
certificate = $out/$1.crt
private_key = $out/$1.key
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = no
copy_extensions = none
[crl_ext]
authorityKeyIdentifier = keyid
[policy_any]
organizationName = optional
commonName = supplied
emailAddress = optional
[req]
distinguished_name = req_dn
[req_dn]
EOT
}

# issue NAME SUBJ EXTSECTION ISSUER|self [FROM TO]: key + certificate.
issue() {
  local name=$1 subj=$2 sect=$3 issuer=$4 from=${5:-$LEAF_FROM} to=${6:-$LEAF_TO}
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/$name.key" 2>/dev/null
  openssl req -new -config "$out/ca/root/ca.cnf" -key "$out/$name.key" -subj "$subj" \
    -out "$out/ca/$name.csr"
  local db=$issuer signer=()
  if [[ $issuer == self ]]; then
    db=$name
    [[ -d $out/ca/$db ]] || mkca "$db"
    signer=(-selfsign -keyfile "$out/$name.key")
  else
    signer=(-cert "$out/$issuer.crt" -keyfile "$out/$issuer.key")
  fi
  openssl ca -batch -notext -config "$out/ca/$db/ca.cnf" "${signer[@]}" \
    -startdate "$from" -enddate "$to" -md sha256 -extfile "$ext" -extensions "$sect" \
    -in "$out/ca/$name.csr" -out "$out/$name.crt" 2>/dev/null
  rm -f "$out/ca/$name.csr"
}

# leaf NAME ISSUER AIA_URL|- CDP_URL|-: a leaf with its own extension section.
leaf() {
  local name=$1 issuer=$2 aia=$3 cdp=$4
  {
    echo "[leaf_$name]"
    echo "basicConstraints = CA:FALSE"
    echo "keyUsage = critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage = emailProtection"
    echo "subjectAltName = email:$name@r.example"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
    [[ $aia == - ]] || echo "authorityInfoAccess = OCSP;URI:$aia"
    [[ $cdp == - ]] || echo "crlDistributionPoints = URI:$cdp"
  } >>"$ext"
  issue "$name" "$O/CN=${name^}" "leaf_$name" "$issuer"
  cp "$out/$issuer.crt" "$out/$name.chain.pem"
  cat "$out/$name.crt" "$out/$issuer.crt" >"$out/$name.full.pem"
}

cat >"$ext" <<EOT
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$base:$crl_port/root.crl
[ocsp]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[rogue]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
EOT

mkca root
issue root "$O/CN=Revocation Test Root CA" root self "$CA_FROM" "$CA_TO"
mkca inter
issue inter "$O/CN=Revocation Test Intermediate CA" inter root "$CA_FROM" "$CA_TO"
mkca inter-revoked
issue inter-revoked "$O/CN=Revocation Test Revoked Intermediate CA" inter root "$CA_FROM" "$CA_TO"
issue ocsp "$O/CN=Revocation Test OCSP Responder" ocsp inter
issue rogue-ocsp "$O/CN=Rogue OCSP Responder" rogue self

ocspurl="$base:$ocsp_port/" crl="$base:$crl_port/inter.crl"
leaf good inter "$ocspurl" "$crl"
leaf revoked inter "$ocspurl" "$crl"
leaf crlonly inter - "$crl"
leaf crlrevoked inter - "$crl"
leaf underrevoked inter-revoked - "$base:$crl_port/inter-revoked.crl"
leaf dead inter "$base:$dead_port/" "$base:$dead_port/x.crl"
leaf slow inter "$base:$slow_port/" "$base:$slow_port/slow.crl"
leaf malformed inter "$base:$bad_port/" "$base:$bad_port/bad.crl"
leaf unauth inter "$base:$unauth_port/" "$crl"
leaf nosource inter - -
leaf ocsponly inter "$base:$dead_port/" -
leaf expiredcrl inter - "$base:$crl_port/expired.crl"
cp "$out/root.crt" "$out/trust.pem"

# An inter CRL from before any leaf was revoked (older crlNumber and
# lastUpdate), then the revocations and the current CRLs.
day=86400 now=$(date -u +%s)
ts() { date -u -d "@$1" +%Y%m%d%H%M%SZ; }
gencrl "$out" inter -crl_lastupdate "$(ts $((now - 2 * day)))" \
  -crl_nextupdate "$(ts $((now + 30 * day)))" >"$out/old-inter.crl"
openssl ca -batch -config "$out/ca/inter/ca.cnf" -revoke "$out/revoked.crt" \
  -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$out/ca/inter/ca.cnf" -revoke "$out/crlrevoked.crt" \
  -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$out/ca/inter/ca.cnf" -revoke "$out/ocsponly.crt" \
  -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$out/ca/root/ca.cnf" -revoke "$out/inter-revoked.crt" \
  -crl_reason cACompromise 2>/dev/null
gencrl "$out" root >"$out/www/root.crl"
gencrl "$out" inter >"$out/www/inter.crl"
gencrl "$out" inter-revoked >"$out/www/inter-revoked.crl"
# Expired: lastUpdate 10 days ago, nextUpdate yesterday (openssl ca 3.0
# -crl_lastupdate/-crl_nextupdate; no faketime needed).
gencrl "$out" inter -crl_lastupdate "$(ts $((now - 10 * day)))" \
  -crl_nextupdate "$(ts $((now - day)))" >"$out/www/expired.crl"
touch "$out/.done"
