# shellcheck shell=bash
# common.sh - helpers sourced by the tests/interop/sign-*.sh scripts.
# Not executable on its own.
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
