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
#   bc       Bouncy Castle (bc/SmimeTool.java encrypt: EnvelopedData for
#            CBC, AuthEnvelopedData for GCM; RSA PKCS#1 v1.5 or OAEP with
#            SHA-256, EC keys by ECDH P-256); OPTIONS comma-separated:
#            a cipher aes128-cbc|aes256-cbc|aes128-gcm|aes256-gcm (default
#            aes256-cbc) and "oaep", or "-"
#
# encrypt-tool.sh bc-batch PKIDIR LIST
#   Bouncy Castle for many messages in one JVM (a JVM start costs about a
#   second): each line of LIST is "IN OUT.der OPTIONS RECIPIENT..." as above
#   (paths without blanks).
# Bouncy Castle's classes are compiled on first use into $SMIME_BC_CLASSES,
# default $top_builddir/tests/.work/bc-classes when top_builddir is set,
# else a throw-away folder; java, javac or the jars missing: exit 77.
# Exit status: the tool's; its messages on stderr.
set -euo pipefail
tool=$1 pki=$2
if [ "$tool" = bc-batch ]; then
  list=$3
  shift 3
else
  in=$3 out=$4 opts=$5
  shift 5
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/encrypt-tool.XXXXXX")
cleanup() {
  [ -d "$tmp/gnupg" ] && GNUPGHOME=$tmp/gnupg gpgconf --kill gpg-agent 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
args=()
# bc_encrypt LIST: every line of LIST through SmimeTool encrypt in one JVM;
# SmimeTool writes a whole message, whose base64 body is the DER.
bc_encrypt() {
  local here classes line lin lout lopts cmd o r n=0
  here=$(cd "$(dirname "$0")" && pwd)
  # shellcheck source-path=SCRIPTDIR source=bc/bc.sh
  . "$here/bc/bc.sh"
  classes=${SMIME_BC_CLASSES:-${top_builddir:+$top_builddir/tests/.work/bc-classes}}
  classes=${classes:-$tmp/bc-classes}
  if ! bc_setup "$classes"; then
    echo "encrypt-tool.sh: Bouncy Castle not usable, missing:$bc_missing" >&2
    exit 77
  fi
  : >"$tmp/batch"
  while read -r lin lout lopts line; do
    [ -n "$lin" ] || continue
    n=$((n + 1))
    cmd="encrypt"
    IFS=, read -ra o <<<"$lopts"
    for r in "${o[@]}"; do
      case $r in
        -) ;;
        oaep) cmd+=" --oaep" ;;
        *) cmd+=" --cipher $r" ;;
      esac
    done
    for r in $line; do cmd+=" --recip $pki/$r.crt"; done
    echo "$cmd $lin $tmp/msg$n" >>"$tmp/batch"
    echo "$tmp/msg$n $lout" >>"$tmp/outputs"
  done <"$1"
  bc_tool batch "$tmp/batch" >"$tmp/bc.out" 2>&1 || { cat "$tmp/bc.out" >&2; exit 1; }
  while read -r lin lout; do
    sed '1,/^\r\?$/d' "$lin" | tr -d '\r' | base64 -d >"$lout"
  done <"$tmp/outputs"
}
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
  bc)
    echo "$in $out $opts $*" >"$tmp/list"
    bc_encrypt "$tmp/list" ;;
  bc-batch) bc_encrypt "$list" ;;
  *)
    echo "encrypt-tool.sh: unknown tool $tool" >&2
    exit 64 ;;
esac
