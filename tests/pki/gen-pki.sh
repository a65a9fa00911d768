#!/usr/bin/env bash
# gen-pki.sh [--check] OUTDIR
#
# Generates the smime-milter test PKI with the openssl CLI only (`openssl ca`
# with a throw-away config so every certificate has FIXED validity dates).
# Tests pin "now" to 2026-06-01T00:00:00Z (epoch 1780272000).
#
# Output (PEM) in OUTDIR:
#   root.crt/.key        CN=smime-milter Test Root CA, serial 0x01
#   inter.crt/.key       CN=smime-milter Test Intermediate CA (pathlen:0), 0x02
#   fake-root.crt/.key   unrelated self-signed root of the look-alike CAs, 0x03
#   lookalike-inter.*    same subject DN as inter.crt, other key, by fake-root, 0x04
#   lookalike-ski-inter.* same DN AND same subjectKeyIdentifier as inter.crt,
#                        other key, by fake-root, 0x05
#   sha1-inter.*         intermediate signed by root with SHA-1, 0x06
#   weak-inter.*         intermediate with an RSA-1024 key, by root, 0x07
#   tls-inter.*          intermediate whose EKU is serverAuth only, by root, 0x08
#   NAME.crt NAME.key (PKCS#8, unencrypted) NAME.chain.pem (issuing CA only)
#   trust.pem            root.crt only (the S/MIME trust anchor)
#   .done                stamp; if newer than this script, generation is skipped
# Subjects are encoded O first, CN last, i.e. RFC 2253 "CN=<Name>,O=smime-milter tests".
#
# Leaves (serial, key, notes) and expected result of
#   openssl verify -attime 1780272000 -CAfile root.crt -untrusted inter.crt NAME.crt
# (column "smimesign": same command plus -purpose smimesign):
#   NAME          serial key      email                 verify        smimesign
#   alice         0x1001 RSA2048  alice@a.example       OK            OK
#   bob           0x1002 P-256    bob@a.example         OK            OK
#   ed            0x1003 Ed25519  ed@a.example          OK            OK
#   expired       0x1004 RSA2048  2020..2021            err 10 expired  err 10
#   notyet        0x1005 RSA2048  2030..2035            err 9 not yet valid err 9
#   noeku         0x1006 RSA2048  EKU serverAuth,clientAuth  OK       err 26 purpose
#   nodigsig      0x1007 RSA2048  KU keyEncipherment    OK            err 26 purpose
#   dnonly        0x1008 RSA2048  no SAN, DN emailAddress=DNonly@A.Example  OK  OK
#   selfsigned    0x1009 RSA2048  self@a.example, self-signed  err 18 self-signed  err 18
#   weak          0x100A RSA1024  weak@a.example        OK            OK
#   lookalike     0x100B RSA2048  by lookalike-inter    err 20 unable to get local issuer  err 20
#   lookalike-ski 0x100C RSA2048  by lookalike-ski-inter (AKID matches inter.crt)
#                                                       err 7 cert signature failure  err 7
#   carol         0x100D RSA2048  carol@b.example       OK            OK
# Weak paths (verify passes: these are policy decisions of smime-milter,
# see docs/verification.md "Algorithms along the path"; NAME.chain.pem holds
# the issuing intermediate, also passed as -untrusted below):
#   md5sig        0x100E RSA2048  signed by inter with MD5       OK    OK
#   sha1sig       0x100F RSA2048  signed by inter with SHA-1     OK    OK
#   sha1ca        0x1010 RSA2048  by sha1-inter                  OK    OK
#   weakca        0x1011 RSA2048  by weak-inter                  OK    OK
#   dsa           0x1012 DSA1024  dsa@a.example                  OK    OK
#   secp112r1     0x1013 EC secp112r1                            OK    OK
#   p192          0x1014 EC P-192 (prime192v1)                   OK    OK
#   tlsca         0x1015 RSA2048  by tls-inter                   OK    err 26 purpose
#   logforge      0x1040 RSA2048  rfc822Name "a@b.example>, chain=trusted, result=pass, x=<c"
#                                 (text written to forge log fields)  OK  OK
# ("weak" passes because openssl verify's default auth level does not check
#  key size; with -auth_level 2 it fails with err 66 "EE key too small".)
#
# --check runs those verify commands and exits non-zero if any result differs.
# Failure modes: any openssl error aborts (set -e) with openssl's message.
set -euo pipefail

check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--check] OUTDIR" >&2; exit 2; }
out=$1
O="/O=smime-milter tests"
LEAF_FROM=20250101000000Z LEAF_TO=20300101000000Z
CA_FROM=20250101000000Z CA_TO=20450101000000Z

genkey() { # genkey FILE rsa2048|rsa1024|p256|p192|secp112r1|dsa1024|ed25519
    local curve=
    case $2 in p256) curve=P-256 ;; p192) curve=prime192v1 ;; secp112r1) curve=secp112r1 ;; esac
    case $2 in
        rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa}" -out "$1" ;;
        p256|p192|secp112r1) openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" \
                  -pkeyopt ec_param_enc:named_curve -out "$1" ;;
        dsa*) openssl genpkey -genparam -algorithm DSA -pkeyopt "dsa_paramgen_bits:${2#dsa}" \
                  -out "$1.params"
              openssl genpkey -paramfile "$1.params" -out "$1"; rm -f "$1.params" ;;
        ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
    esac 2>/dev/null
}

# issue NAME SUBJ SERIAL FROM TO EXTSECTION ISSUER|self
# Writes $out/NAME.crt from $out/NAME.key; extensions come from $tmp/ext.cnf.
# The issuer signs with $ISSUE_MD (default sha256; md5 and sha1 for the
# weak-signature cases: the openssl CLI signs them without complaint).
issue() {
    local name=$1 subj=$2 serial=$3 from=$4 to=$5 ext=$6 issuer=$7
    : > "$tmp/index.txt"            # fresh database: no uniqueness/serial clashes
    echo "$serial" > "$tmp/serial"
    openssl req -new -config "$tmp/ca.cnf" -key "$out/$name.key" -subj "$subj" \
        -out "$tmp/$name.csr"
    local signer=(-cert "$out/$issuer.crt" -keyfile "$out/$issuer.key")
    [[ $issuer == self ]] && signer=(-selfsign -keyfile "$out/$name.key")
    openssl ca -batch -notext -config "$tmp/ca.cnf" "${signer[@]}" \
        -startdate "$from" -enddate "$to" -md "${ISSUE_MD:-sha256}" \
        -extfile "$tmp/ext.cnf" -extensions "$ext" \
        -in "$tmp/$name.csr" -out "$out/$name.crt" 2>/dev/null
}

# leaf NAME SERIAL KEYTYPE EMAIL [ISSUER] [EXTSECTION] [FROM] [TO] [SUBJ]
leaf() {
    local name=$1 serial=$2 kt=$3 email=$4 issuer=${5:-inter} ext=${6:-} \
          from=${7:-$LEAF_FROM} to=${8:-$LEAF_TO}
    local subj=${9:-"$O/CN=${name^}"}
    local ku=digitalSignature,keyEncipherment
    case $kt in p*|secp*) ku=digitalSignature,keyAgreement ;; dsa*) ku=digitalSignature ;; esac
    if [[ -z $ext ]]; then           # default leaf profile, per-leaf SAN
        ext=leaf_$name
        cat >> "$tmp/ext.cnf" <<EOT
[$ext]
basicConstraints = CA:FALSE
keyUsage = critical,$ku
extendedKeyUsage = emailProtection
subjectAltName = email:$email
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOT
    fi
    genkey "$out/$name.key" "$kt"
    issue "$name" "$subj" "$serial" "$from" "$to" "$ext" "$issuer"
    if [[ $issuer == self ]]; then : > "$out/$name.chain.pem"
    else cp "$out/$issuer.crt" "$out/$name.chain.pem"; fi
}

run_check() {
    local fail=0 name want got exp
    # name:expected-default:expected-smimesign (0 = OK, else X509 error number)
    for exp in alice:0:0 bob:0:0 ed:0:0 expired:10:10 notyet:9:9 noeku:0:26 \
               nodigsig:0:26 dnonly:0:0 selfsigned:18:18 weak:0:0 lookalike:20:20 \
               lookalike-ski:7:7 carol:0:0 md5sig:0:0 sha1sig:0:0 sha1ca:0:0 weakca:0:0 \
               dsa:0:0 secp112r1:0:0 p192:0:0 tlsca:0:26 logforge:0:0; do
        name=${exp%%:*}
        extra=()   # the weak-path leaves name their own intermediate
        case $name in sha1ca|weakca|tlsca) extra=(-untrusted "$out/$name.chain.pem") ;; esac
        for mode in default smimesign; do
            if [[ $mode == default ]]; then want=${exp#*:}; want=${want%%:*}; p=()
            else want=${exp##*:}; p=(-purpose smimesign); fi
            got=$(openssl verify -attime 1780272000 -CAfile "$out/root.crt" \
                    -untrusted "$out/inter.crt" "${extra[@]}" "${p[@]}" "$out/$name.crt" 2>&1 || true)
            if [[ $want == 0 ]]; then [[ $got == *": OK" ]] && continue
            else [[ $got == *"error $want at"* ]] && continue; fi
            echo "FAIL $name ($mode): want ${want}, got: $got" >&2; fail=1
        done
    done
    return $fail
}

if [[ -e $out/.done && $out/.done -nt ${BASH_SOURCE[0]} ]]; then
    if (( check )); then run_check; fi
    exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/new"
cat > "$tmp/ca.cnf" <<EOT
[ca]
default_ca = CA_default
[CA_default]
database = $tmp/index.txt
new_certs_dir = $tmp/new
serial = $tmp/serial
default_md = sha256
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = yes
copy_extensions = none
[policy_any]
organizationName = optional
commonName = supplied
emailAddress = optional
[req]
distinguished_name = req_dn
[req_dn]
EOT
cat > "$tmp/ext.cnf" <<EOT
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOT

genkey "$out/root.key" rsa2048
issue root "$O/CN=smime-milter Test Root CA" 01 $CA_FROM $CA_TO root self
genkey "$out/inter.key" rsa2048
issue inter "$O/CN=smime-milter Test Intermediate CA" 02 $CA_FROM $CA_TO inter root

# Look-alike CAs: same intermediate DN, different keys, separate fake root.
genkey "$out/fake-root.key" rsa2048
issue fake-root "$O/CN=smime-milter Fake Root CA" 03 $CA_FROM $CA_TO root self
genkey "$out/lookalike-inter.key" rsa2048
issue lookalike-inter "$O/CN=smime-milter Test Intermediate CA" 04 $CA_FROM $CA_TO inter fake-root
# ...and one that also copies inter.crt's subjectKeyIdentifier.
ski=$(openssl x509 -in "$out/inter.crt" -noout -ext subjectKeyIdentifier | sed -n '2s/[[:space:]]//gp')
printf '[inter_ski]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = %s\nauthorityKeyIdentifier = keyid\n' \
    "$ski" >> "$tmp/ext.cnf"
genkey "$out/lookalike-ski-inter.key" rsa2048
issue lookalike-ski-inter "$O/CN=smime-milter Test Intermediate CA" 05 $CA_FROM $CA_TO inter_ski fake-root

# Weak intermediates under the real root: SHA-1 signed, RSA-1024, TLS-only EKU.
printf '[inter_tls]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' \
    >> "$tmp/ext.cnf"
genkey "$out/sha1-inter.key" rsa2048
ISSUE_MD=sha1 issue sha1-inter "$O/CN=smime-milter SHA-1 Intermediate CA" 06 $CA_FROM $CA_TO inter root
genkey "$out/weak-inter.key" rsa1024
issue weak-inter "$O/CN=smime-milter RSA-1024 Intermediate CA" 07 $CA_FROM $CA_TO inter root
genkey "$out/tls-inter.key" rsa2048
issue tls-inter "$O/CN=smime-milter TLS-only Intermediate CA" 08 $CA_FROM $CA_TO inter_tls root

# Non-default leaf profiles.
cat >> "$tmp/ext.cnf" <<EOT
[leaf_noeku]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = email:noeku@a.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_nodigsig]
basicConstraints = CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:nodigsig@a.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_dnonly]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_logforge]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = @logforge_san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[logforge_san]
email.1 = a@b.example>, chain=trusted, result=pass, x=<c
[leaf_selfsigned]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:self@a.example
subjectKeyIdentifier = hash
EOT

leaf alice      1001 rsa2048 alice@a.example
leaf bob        1002 p256    bob@a.example
leaf ed         1003 ed25519 ed@a.example
leaf expired    1004 rsa2048 expired@a.example inter "" 20200101000000Z 20210101000000Z
leaf notyet     1005 rsa2048 notyet@a.example  inter "" 20300101000000Z 20350101000000Z
leaf noeku      1006 rsa2048 noeku@a.example    inter leaf_noeku
leaf nodigsig   1007 rsa2048 nodigsig@a.example inter leaf_nodigsig
leaf dnonly     1008 rsa2048 dnonly@a.example   inter leaf_dnonly "" "" \
    "$O/CN=Dnonly/emailAddress=DNonly@A.Example"
leaf selfsigned 1009 rsa2048 self@a.example     self leaf_selfsigned
leaf weak       100A rsa1024 weak@a.example
leaf lookalike  100B rsa2048 lookalike@a.example lookalike-inter
leaf lookalike-ski 100C rsa2048 lookalike-ski@a.example lookalike-ski-inter
leaf carol      100D rsa2048 carol@b.example
ISSUE_MD=md5  leaf md5sig  100E rsa2048 md5sig@a.example
ISSUE_MD=sha1 leaf sha1sig 100F rsa2048 sha1sig@a.example
leaf sha1ca     1010 rsa2048 sha1ca@a.example    sha1-inter
leaf weakca     1011 rsa2048 weakca@a.example    weak-inter
leaf dsa        1012 dsa1024 dsa@a.example
leaf secp112r1  1013 secp112r1 secp112r1@a.example
leaf p192       1014 p192    p192@a.example
leaf tlsca      1015 rsa2048 tlsca@a.example     tls-inter
leaf logforge   1040 rsa2048 - inter leaf_logforge

cp "$out/root.crt" "$out/trust.pem"
touch "$out/.done"
if (( check )); then run_check; fi
