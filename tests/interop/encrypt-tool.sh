#!/usr/bin/env bash
# encrypt-tool.sh TOOL PKIDIR IN OUT.der [OPTIONS] RECIPIENT...
#
# Encrypts the MIME entity IN (CRLF) to the test PKI's RECIPIENTs (leaf names
# in PKIDIR, e.g. alice; certificates NAME.crt, chain inter.crt, anchor
# root.crt) with another S/MIME implementation and writes the CMS
# ContentInfo (DER or BER, as the tool makes it) to OUT.der. For the
# decryption tests (tests/interop/run-decryption-interop.sh,
# tests/e2e/run-postfix-decryption.sh); add a TOOL here to test another
# implementation (e.g. Bouncy Castle) in both.
#   openssl  openssl cms -encrypt; OPTIONS (comma-separated, e.g.
#            -aes-256-gcm or -aes-128-cbc,-keyopt,rsa_padding_mode:oaep)
#            follow the recipients, as -keyopt needs
#   gpgsm    gpgsm --encrypt in a throw-away GNUPGHOME trusting root.crt (its
#            default cipher; OPTIONS "-")
#   nss      NSS cmsutil -E with a throw-away database (OPTIONS "-")
# Exit status: the tool's; its messages on stderr.
set -euo pipefail
tool=$1 pki=$2 in=$3 out=$4 opts=$5
shift 5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/encrypt-tool.XXXXXX")
cleanup() {
  [ -d "$tmp/gnupg" ] && GNUPGHOME=$tmp/gnupg gpgconf --kill gpg-agent 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
args=()
case $tool in
  openssl)
    for r in "$@"; do args+=(-recip "$pki/$r.crt"); done
    # shellcheck disable=SC2086 # OPTIONS is a word list
    openssl cms -encrypt -binary -outform DER -in "$in" -out "$out" "${args[@]}" ${opts//,/ } ;;
  gpgsm)
    export GNUPGHOME=$tmp/gnupg
    mkdir -m 700 "$GNUPGHOME"
    echo "$(openssl x509 -in "$pki/root.crt" -noout -fingerprint -sha1 | cut -d= -f2) S relax" \
      >"$GNUPGHOME/trustlist.txt"
    gs() { gpgsm --batch --disable-dirmngr --disable-crl-checks --disable-policy-checks "$@"; }
    gs --import "$pki/root.crt" "$pki/inter.crt" >/dev/null 2>&1
    for r in "$@"; do
      gs --import "$pki/$r.crt" >/dev/null 2>&1
      args+=(-r "$(openssl x509 -in "$pki/$r.crt" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)")
    done
    gs --encrypt "${args[@]}" -o "$out" "$in" 2>"$tmp/gpgsm.err" || { cat "$tmp/gpgsm.err" >&2; exit 1; } ;;
  nss)
    certutil -N -d "sql:$tmp" --empty-password
    certutil -A -d "sql:$tmp" -n root -t C,C,C -a -i "$pki/root.crt"
    certutil -A -d "sql:$tmp" -n inter -t ,, -a -i "$pki/inter.crt"
    for r in "$@"; do
      certutil -A -d "sql:$tmp" -n "$r" -t ,, -a -i "$pki/$r.crt"
      args+=("$r")
    done
    cmsutil -E -d "sql:$tmp" -r "$(IFS=,; echo "${args[*]}")" -i "$in" -o "$out" ;;
  *)
    echo "encrypt-tool.sh: unknown tool $tool" >&2
    exit 64 ;;
esac
