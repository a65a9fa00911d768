#!/usr/bin/env bash
# sign-gpgsm.sh PKIDIR IDENTITY IN.eml > OUT.eml
#
# Clear-signs the RFC 5322 message IN.eml (LF or CRLF) with GnuPG's gpgsm as
# PKIDIR/IDENTITY (key+cert+chain imported from a throw-away PKCS#12 into a
# temporary GNUPGHOME whose trustlist.txt trusts PKIDIR/root.crt; EC keys are
# written to the agent's key store directly, see below). Offline:
# no dirmngr, no CRL checks; no pinentry (empty passphrase, loopback mode).
# gpgsm makes a detached SHA-256 signature over IN's Content-* fields (default
# text/plain; charset=utf-8) + body, canonicalised to CRLF, including all
# certificates (--include-certs -1, i.e. root too). Output (CRLF): IN's other
# top-level header fields + multipart/signed (micalg=sha-256).
# Fails (non-zero, gpgsm's log on stderr) if import, chain validation or
# signing fails; only RSA and ECDSA P-256 identities are supported.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

[[ $# -eq 3 ]] || { echo "usage: $0 PKIDIR IDENTITY IN.eml" >&2; exit 2; }
# gpgsm 2.2 now and then cannot use a key it has just imported (a PKCS#12
# whose random salt it fails to decrypt, or "No secret key" right after the
# import): try again with a fresh GNUPGHOME, up to five times.
if [[ -z ${SIGN_GPGSM_ATTEMPT:-} ]]; then
    out=$(mktemp) err=$(mktemp)
    for attempt in 1 2 3 4 5; do
        if SIGN_GPGSM_ATTEMPT=$attempt "$0" "$@" >"$out" 2>"$err"; then
            cat "$out"; rm -f "$out" "$err"; exit 0
        fi
    done
    cat "$err" >&2; rm -f "$out" "$err"; exit 1
fi
pki=$1 id=$2 in=$3
tmp=$(mktemp -d)
export GNUPGHOME=$tmp/gnupg
cleanup() { gpgconf --kill all 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -m 700 "$GNUPGHOME"

gs() { gpgsm --batch --pinentry-mode loopback --passphrase '' --disable-dirmngr \
           --disable-crl-checks --disable-policy-checks "$@" 2>>"$tmp/log" \
       || { cat "$tmp/log" >&2; return 1; }; }

split_message "$in" "$tmp"
keyid=$(openssl x509 -in "$pki/$id.crt" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
fpr=$(openssl x509 -in "$pki/root.crt" -noout -fingerprint -sha1 | cut -d= -f2)
echo "$fpr S relax" > "$GNUPGHOME/trustlist.txt"
gs --import "$pki/root.crt"
[[ -s $pki/$id.chain.pem ]] && gs --import "$pki/$id.chain.pem"
txt=$(openssl pkey -in "$pki/$id.key" -noout -text)
if [[ $txt == *modulus:* ]]; then
    # gpgsm 2.2 cannot parse OpenSSL 3's default PBES2/AES PKCS#12: use 3DES/SHA1.
    openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
        -passout pass: -name "$id" -inkey "$pki/$id.key" -in "$pki/$id.crt" \
        -out "$tmp/id.p12"
    gs --import "$tmp/id.p12"
else
    # gpgsm 2.2 crashes importing EC keys from PKCS#12, so write the key as an
    # unprotected S-expression straight into gpg-agent's key store (P-256 only).
    gs --import "$pki/$id.crt"
    [[ $txt == *"NIST CURVE: P-256"* ]] || { echo "$0: unsupported key type" >&2; exit 1; }
    d=$(sed -n '/^priv:/,/^pub:/p' <<<"$txt" | sed '1d;$d' | tr -d ' :\n')
    q=$(sed -n '/^pub:/,/^ASN1/p' <<<"$txt" | sed '1d;$d' | tr -d ' :\n')
    grip=$(gs --with-keygrip -k "0x$keyid" | awk '/keygrip:/ {print $2}')
    mkdir -m 700 "$GNUPGHOME/private-keys-v1.d"
    printf '(private-key(ecc(curve "NIST P-256")(q #%s#)(d #%s#)))' "$q" "$d" \
        > "$GNUPGHOME/private-keys-v1.d/$grip.key"
fi
gs --digest-algo SHA256 --include-certs -1 -u "0x$keyid" \
   --detach-sign -o "$tmp/sig.der" "$tmp/inner"
wrap_detached "$tmp" "$tmp/sig.der"
