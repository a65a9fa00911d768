#!/usr/bin/env bash
# tamper.sh IN.eml > OUT.eml
#
# Copies the S/MIME signed message IN.eml, changing exactly one character of
# the signed content so that signature verification must fail:
#  - multipart/signed: the first letter/digit of the first non-empty body line
#    of part 1 (letters change case, digits change value);
#  - application/pkcs7-mime (opaque): one byte near the end of the CMS
#    eContent (XOR 0x01), then base64 re-encoded (64 columns, same EOL as IN).
# Everything else is copied unchanged (the opaque form's base64 body is
# re-encoded, dropping trailing empty lines). Fails (exit 1) if IN is neither
# form or nothing could be changed.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 IN.eml" >&2; exit 2; }
in=$1

# Unfolded, lower-cased top-level Content-Type value.
ctype=$(awk '{ sub(/\r$/, "") } $0 == "" { exit }
             /^[ \t]/ { if (ct) v = v $0; next }
             { ct = (tolower($0) ~ /^content-type[ \t]*:/); if (ct) v = $0 }
             END { sub(/^[^:]*:[ \t]*/, "", v); print v }' "$in")

case ${ctype,,} in
multipart/signed*)
    b=$(sed -nE 's/.*[bB][oO][uU][nN][dD][aA][rR][yY]="?([^";]+)"?.*/\1/p' <<<"$ctype")
    [[ -n $b ]] || { echo "$0: no boundary" >&2; exit 1; }
    awk -v delim="--$b" '
        function flip(s,   i, c) {
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c ~ /[a-z]/) c = toupper(c)
                else if (c ~ /[A-Z]/) c = tolower(c)
                else if (c ~ /[0-8]/) c = c + 1
                else if (c == "9") c = "0"
                else continue
                done = 1
                return substr(s, 1, i - 1) c substr(s, i + 1)
            }
            return s
        }
        { line = $0; bare = line; sub(/\r$/, "", bare) }
        state == 0 && bare == "" { state = 1 }                # end of top headers
        state == 1 && bare == delim { state = 2; print; next } # part 1 headers
        state == 2 && bare == "" { state = 3; print; next }    # part 1 body
        state == 3 && !done && bare != "" { line = flip(line) }
        { print line }
        END { if (!done) exit 1 }' "$in" \
        || { echo "$0: nothing to tamper with" >&2; exit 1; }
    ;;
application/pkcs7-mime* | application/x-pkcs7-mime*)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    eol=$'\n'; [[ $(head -n1 "$in") == *$'\r' ]] && eol=$'\r\n'
    sed -n '1,/^\r\{0,1\}$/p' "$in" > "$tmp/head"          # headers + empty line
    sed '1,/^\r\{0,1\}$/d' "$in" | tr -d '\r' | base64 -d > "$tmp/cms.der"
    # eContent: first OCTET STRING after the first id-data (eContentType) OID.
    read -r off hl len < <(openssl asn1parse -inform DER -in "$tmp/cms.der" | awk '
        /:pkcs7-data/ { seen = 1; next }
        seen && /prim: OCTET STRING/ {
            split($0, a, ":"); match($0, /hl= *[0-9]+/); h = substr($0, RSTART + 3, RLENGTH - 3)
            match($0, / l= *[0-9]+/); l = substr($0, RSTART + 3, RLENGTH - 3)
            print a[1] + 0, h + 0, l + 0; exit }')
    [[ -n ${len:-} && $len -ge 3 ]] || { echo "$0: no encapsulated content" >&2; exit 1; }
    pos=$((off + hl + len - 3))                              # skip a final CRLF
    byte=$(od -An -tu1 -j "$pos" -N1 "$tmp/cms.der" | tr -d ' ')
    # shellcheck disable=SC2059  # deliberate: octal escape as format
    printf "\\$(printf %03o $((byte ^ 1)))" |
        dd of="$tmp/cms.der" bs=1 seek="$pos" conv=notrunc status=none
    cat "$tmp/head"
    base64 -w 64 "$tmp/cms.der" | while IFS= read -r l; do printf '%s%s' "$l" "$eol"; done
    ;;
*)
    echo "$0: not an S/MIME signed message (Content-Type: $ctype)" >&2; exit 1 ;;
esac
