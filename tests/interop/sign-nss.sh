#!/usr/bin/env bash
# sign-nss.sh PKIDIR IDENTITY IN.eml > OUT.eml
#
# Clear-signs the RFC 5322 message IN.eml (LF or CRLF) with Mozilla NSS's
# `cmsutil -S -T` (detached, SHA-256, signingTime) as PKIDIR/IDENTITY, using a
# temporary NSS database (empty password) holding IDENTITY's key, cert and
# chain (from a throw-away PKCS#12) and PKIDIR/root.crt trusted "C,C,C".
# The signed entity is IN's Content-* fields (default text/plain;
# charset=utf-8) + body, canonicalised to CRLF. Output (CRLF): IN's other
# top-level header fields + multipart/signed (micalg=sha-256).
# Fails (non-zero, NSS message on stderr) if import or signing fails, e.g. when
# NSS considers the certificate unusable for email signing; only RSA and
# ECDSA identities are supported.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

[[ $# -eq 3 ]] || { echo "usage: $0 PKIDIR IDENTITY IN.eml" >&2; exit 2; }
pki=$1 id=$2 in=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
db=sql:$tmp/db
mkdir "$tmp/db"

quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }; }

split_message "$in" "$tmp"
chain=()
[[ -s $pki/$id.chain.pem ]] && chain=(-certfile "$pki/$id.chain.pem")
openssl pkcs12 -export -passout pass: -name "$id" -inkey "$pki/$id.key" \
    -in "$pki/$id.crt" "${chain[@]}" -out "$tmp/id.p12"
quiet certutil -N -d "$db" --empty-password
quiet certutil -A -d "$db" -n smime-milter-test-root -t C,C,C -a -i "$pki/root.crt"
quiet pk12util -i "$tmp/id.p12" -d "$db" -W ''
quiet cmsutil -S -T -G -N "$id" -H SHA256 -d "$db" -i "$tmp/inner" -o "$tmp/sig.der"
wrap_detached "$tmp" "$tmp/sig.der"
