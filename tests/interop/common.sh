# shellcheck shell=bash
# common.sh - helpers sourced by the tests/interop/sign-*.sh scripts,
# selfcheck.sh and run-{signing,encryption}-interop.sh. Not executable on its
# own.
#
# split_message IN DIR
#   Reads the RFC 5322 message IN (LF or CRLF) and writes, all with CRLF:
#     DIR/outer   top-level header fields except Content-* and MIME-Version
#                 (continuation lines kept with their field)
#     DIR/inner   the MIME entity to sign: the original Content-* fields (or
#                 "Content-Type: text/plain; charset=utf-8" if IN has no
#                 Content-Type), an empty line, then the body.
# wrap_detached DIR SIG.der
#   Prints DIR/outer + a multipart/signed (micalg=sha-256) made of DIR/inner
#   and the DER signature SIG.der, all with CRLF line endings.
#
# For the run-*-interop.sh checks (after tests/lib.sh):
# ok / bad / skip / limit MESSAGE
#   Print an "ok   " / "FAIL " / "skip " / "limit " line and count it in
#   $pass / $failed / $skipped / $limits (set to 0 here). skip is for a check
#   that cannot run here (a missing tool: skip_part of tests/skip.sh, so a
#   failure in strict mode, CI=true); limit is for a known limitation of the
#   installed reference tool that the caller has established (e.g. it cannot
#   process openssl's equivalent either). They return 0 (skip exits 1 in
#   strict mode).
# find_decoders [NSS-TOOL...]
#   Sets have_gpgsm (gpgsm and gpgconf installed) and have_nss (cmsutil,
#   certutil and each NSS-TOOL installed) to 1 or 0, with a skip line for a
#   missing one.
# crlf            stdin -> stdout, every line ends in CRLF.
# mt COMMAND ...  runs tests/interop/mimetool.py (see there).
# root_fpr        prints the SHA-1 fingerprint of $pki/root.crt (AA:BB:...),
#                 as gpgsm's trustlist.txt wants it.
# nss_trust_db DB  creates the NSS database DB (sql:DIR) without password,
#                 trusting $pki/root.crt.

split_message() {
    awk -v outer="$2/outer" -v inner="$2/inner" '
        function endhdr(  i) {
            inhdr = 0
            if (!havect) print "Content-Type: text/plain; charset=utf-8\r" > inner
            for (i = 1; i <= n; i++) print content[i] "\r" > inner
            print "\r" > inner
        }
        BEGIN { inhdr = 1; n = 0; dest = 0; printf "" > outer }
        { sub(/\r$/, "") }
        !inhdr { print $0 "\r" > inner; next }
        $0 == "" { endhdr(); next }
        /^[ \t]/ {                          # continuation of previous field
            if (dest == 1) content[n] = content[n] "\r\n" $0
            else if (dest == 0) print $0 "\r" > outer
            next
        }
        {
            f = tolower($0)
            if (f ~ /^mime-version[ \t]*:/) dest = 2           # dropped
            else if (f ~ /^content-[^:]*:/) {
                dest = 1; content[++n] = $0
                if (f ~ /^content-type[ \t]*:/) havect = 1
            } else { dest = 0; print $0 "\r" > outer }
        }
        END { if (inhdr) endhdr() }
    ' "$1"
}

wrap_detached() {
    local b
    b="----=_smime-milter-interop-$(sha256sum "$1/inner" | cut -c1-24)"
    cat "$1/outer"
    printf 'MIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n'
    printf '\tmicalg=sha-256; boundary="%s"\r\n\r\n' "$b"
    printf 'This is a cryptographically signed message in MIME format.\r\n\r\n'
    printf -- '--%s\r\n' "$b"
    cat "$1/inner"
    printf '\r\n--%s\r\n' "$b"
    printf 'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
    base64 -w 64 "$2" | sed 's/$/\r/'
    printf -- '\r\n--%s--\r\n' "$b"
}

interop_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pass=0 failed=0 skipped=0 limits=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); skip_part "$*"; }
limit() { limits=$((limits + 1)); echo "limit $*"; }

# shellcheck disable=SC2034 # have_gpgsm/have_nss are for the caller
find_decoders() {
  local t nss_tools=(cmsutil certutil "$@")
  have_gpgsm=1 have_nss=1
  if ! command -v gpgsm >/dev/null || ! command -v gpgconf >/dev/null; then
    have_gpgsm=0
    skip "gpgsm: not installed"
  fi
  for t in "${nss_tools[@]}"; do
    command -v "$t" >/dev/null || have_nss=0
  done
  if [ "$have_nss" = 0 ]; then
    skip "nss: $(IFS=/; echo "${nss_tools[*]}") not installed"
  fi
}

crlf() { sed 's/\r*$/\r/'; }
mt() { python3 "$interop_dir/mimetool.py" "$@"; }
root_fpr() { openssl x509 -in "$pki/root.crt" -noout -fingerprint -sha1 | cut -d= -f2; }
nss_trust_db() {
  certutil -N -d "$1" --empty-password &&
    certutil -A -d "$1" -n smime-milter-test-root -t C,C,C -a -i "$pki/root.crt"
}
