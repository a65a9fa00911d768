#!/usr/bin/env bash
# sign-openssl.sh [--opaque] PKIDIR IDENTITY IN.eml > OUT.eml
#
# Signs the RFC 5322 message IN.eml (LF or CRLF) with `openssl cms -sign` as
# PKIDIR/IDENTITY.{crt,key}, including PKIDIR/IDENTITY.chain.pem, SHA-256
# (or the digest named by $SIGN_MD, e.g. sha1 for weak-digest tests).
# The signed MIME entity is IN's Content-* fields (default text/plain;
# charset=utf-8) + body, canonicalised to CRLF. Output (CRLF throughout): IN's
# other top-level header fields, then MIME-Version and either multipart/signed
# (default) or, with --opaque, application/pkcs7-mime; smime-type=signed-data.
# Fails (non-zero, openssl message on stderr) if the key/cert is missing or
# openssl cannot sign with that key type.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

mode=(-sign)   # detached is openssl's default with -outform SMIME
if [[ ${1:-} == --opaque ]]; then mode=(-sign -nodetach); shift; fi
[[ $# -eq 3 ]] || { echo "usage: $0 [--opaque] PKIDIR IDENTITY IN.eml" >&2; exit 2; }
pki=$1 id=$2 in=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

split_message "$in" "$tmp"
chain=()
[[ -s $pki/$id.chain.pem ]] && chain=(-certfile "$pki/$id.chain.pem")
# -binary: input already canonical, sign the bytes as they are;
# -crlfeol: openssl's own MIME lines also end in CRLF.
openssl cms "${mode[@]}" -binary -crlfeol -md "${SIGN_MD:-sha256}" -outform SMIME \
    -signer "$pki/$id.crt" -inkey "$pki/$id.key" "${chain[@]}" \
    -in "$tmp/inner" -out "$tmp/smime"
# openssl's output starts with MIME-Version; its base64 lines end in bare LF,
# so make every line end in CRLF (the signed content already does).
cat "$tmp/outer" "$tmp/smime" | sed 's/\r*$/\r/'
