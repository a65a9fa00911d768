#!/usr/bin/env bash
# selfcheck.sh: checks the revocation test INFRASTRUCTURE without smimectl:
# gen-revocation-pki.sh, the servers of servers.sh and their request
# counters, using the openssl CLI as the client (`openssl ocsp -url`,
# `openssl verify -crl_check_all`) and python3 for plain HTTP fetches.
# run-revocation.sh runs it first; it can also be run alone (no build needed).
# Inputs: none (SELFCHECK_DIR=DIR keeps the PKI and logs there instead of a
# temp folder). Prints "ok/FAIL ..." lines and "N passed, N failed";
# exit 0 all passed, 1 otherwise, 77 when python3 or openssl is missing.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
if [ -n "${SELFCHECK_DIR:-}" ]; then d=$SELFCHECK_DIR; mkdir -p "$d"; keep=1
else d=$(mktemp -d "${TMPDIR:-/tmp}/revselfcheck.XXXXXX"); keep=0; fi
SRV_DIR=$d/srv
mkdir -p "$SRV_DIR"
# shellcheck source-path=SCRIPTDIR source=servers.sh
. "$here/servers.sh"
"$PYTHON" -c 'import http.server' 2>/dev/null || { echo "SKIP: python3 missing"; exit 77; }
trap 'srv_stop_all; [ "$keep" = 1 ] || rm -rf "$d"' EXIT

read -r OCSP_PORT UNAUTH_PORT CRL_PORT DEAD_PORT SLOW_PORT BAD_PORT < <(free_ports 6)
: "$UNAUTH_PORT"
pki=$d/pki
"$here/gen-revocation-pki.sh" "$pki" "$OCSP_PORT" "$CRL_PORT" "$DEAD_PORT" "$SLOW_PORT" "$BAD_PORT" ||
  { echo "FAIL: gen-revocation-pki.sh"; exit 1; }
srv_start_all "$pki" "$OCSP_PORT" "$CRL_PORT" "$SLOW_PORT" "$BAD_PORT" || exit 1
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
expect() { # expect LABEL PATTERN TEXT
  case $3 in *$2*) ok "$1" ;; *) bad "$1: wanted '$2' in: $(printf '%s' "$3" | head -c 600)" ;; esac
}
# ask NAME PORT [extra openssl ocsp args]: query OCSP for NAME.crt.
ask() {
  local n=$1 port=$2
  shift 2
  openssl ocsp -issuer "$pki/inter.crt" -cert "$pki/$n.crt" -url "http://127.0.0.1:$port/" \
    -CAfile "$pki/root.crt" -timeout 5 "$@" 2>&1
}
# fetch URL: HTTP status and body length, via python3.
fetch() {
  "$PYTHON" - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        print(r.status, len(r.read()))
except urllib.error.HTTPError as e:
    print(e.code, 0)
except Exception as e:
    print("error", type(e).__name__)
EOF
}

# 1. PKI: chains verify; CRL checking with openssl sees the expected states.
crlpem=$d/crls.pem
for c in root inter inter-revoked; do openssl crl -inform DER -in "$pki/www/$c.crl"; done >"$crlpem"
for n in good revoked crlonly crlrevoked underrevoked dead slow malformed unauth nosource expiredcrl; do
  out=$(openssl verify -purpose smimesign -CAfile "$pki/root.crt" -untrusted "$pki/$n.chain.pem" "$pki/$n.crt" 2>&1)
  expect "chain $n" ": OK" "$out"
done
v() { openssl verify -crl_check_all -CAfile "$pki/root.crt" -untrusted "$pki/$1.chain.pem" -CRLfile "$crlpem" "$pki/$1.crt" 2>&1; }
expect "crl: good not revoked" ": OK" "$(v good)"
expect "crl: revoked" "error 23 at 0 depth" "$(v revoked)"
expect "crl: crlrevoked" "error 23 at 0 depth" "$(v crlrevoked)"
expect "crl: underrevoked (intermediate)" "error 23 at 1 depth" "$(v underrevoked)"
out=$(openssl crl -inform DER -in "$pki/www/expired.crl" -noout -nextupdate)
nu=$(date -u -d "${out#nextUpdate=}" +%s)
if [ "$nu" -lt "$(date +%s)" ]; then ok "expired.crl nextUpdate in the past"; else bad "expired.crl: $out"; fi
out=$(openssl crl -inform DER -in "$pki/old-inter.crl" -noout -text)
case $out in *"No Revoked Certificates"*) ok "old-inter.crl revokes nothing" ;; *) bad "old-inter.crl" ;; esac

# 2. CRL server: serves DER CRLs, counts requests, 404 elsewhere.
n0=$(srv_count crl)
expect "GET inter.crl" "200 $(stat -c %s "$pki/www/inter.crl")" "$(fetch "http://127.0.0.1:$CRL_PORT/inter.crl")"
expect "GET missing" "404" "$(fetch "http://127.0.0.1:$CRL_PORT/none.crl")"
n1=$(srv_count crl)
if [ "$((n1 - n0))" = 2 ]; then ok "crl server counted 2 requests"; else bad "crl count $n0 -> $n1"; fi

# 3. OCSP: delegated responder answers good/revoked, verified by openssl;
# with a nonce; the rogue responder's answer does not verify.
expect "ocsp good" "good.crt: good" "$(ask good "$OCSP_PORT")"
expect "ocsp good verifies" "Response verify OK" "$(ask good "$OCSP_PORT")"
expect "ocsp revoked" "revoked.crt: revoked" "$(ask revoked "$OCSP_PORT")"
expect "ocsp nonce" "Response verify OK" "$(ask good "$OCSP_PORT" -nonce)"
expect "ocsp nextUpdate set" "Next Update:" "$(ask good "$OCSP_PORT")"
out=$(ask unauth "$((OCSP_PORT + 1))")
expect "rogue responder rejected" "Response Verify Failure" "$out"
n=$(srv_count ocsp)
if [ "$n" -ge 5 ]; then ok "ocsp server counted $n requests"; else bad "ocsp count $n"; fi
# openssl ocsp always POSTs; exercise GET with a hand-made URL.
openssl ocsp -issuer "$pki/inter.crt" -cert "$pki/good.crt" -reqout "$d/req.der" -no_nonce >/dev/null 2>&1
get=$(base64 -w0 "$d/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
expect "ocsp via GET" "200" "$(fetch "http://127.0.0.1:$OCSP_PORT/$get")"

# 4. Dead, slow and garbage endpoints.
expect "dead port refuses" "error" "$(fetch "http://127.0.0.1:$DEAD_PORT/x.crl")"
t0=$(date +%s%N)
out=$(fetch "http://127.0.0.1:$SLOW_PORT/slow.crl")
ms=$((($(date +%s%N) - t0) / 1000000))
case $out in error*) if [ "$ms" -lt 6000 ]; then ok "slow server times out client ($ms ms)"; else bad "slow took $ms ms"; fi ;;
  *) bad "slow answered: $out" ;; esac
if [ "$(srv_count slow)" -ge 1 ]; then ok "slow server counted"; else bad "slow count"; fi
expect "garbage answers 200" "200 521" "$(fetch "http://127.0.0.1:$BAD_PORT/bad.crl")"
expect "openssl rejects garbage OCSP" "rror" "$(ask malformed "$BAD_PORT")"

# 5. --gencrl changes the served CRL.
old=$(sha256sum <"$pki/www/inter.crl")
sleep 1
"$here/gen-revocation-pki.sh" --gencrl "$pki" inter
if [ "$old" != "$(sha256sum <"$pki/www/inter.crl")" ]; then ok "--gencrl regenerates"; else bad "--gencrl"; fi

# 6. Loopback only: no listener of ours on a non-loopback address.
if command -v ss >/dev/null; then
  out=$(ss -Hltn | awk '{print $4}' | grep -E ":($OCSP_PORT|$UNAUTH_PORT|$CRL_PORT|$SLOW_PORT|$BAD_PORT)\$" | grep -v '^127\.0\.0\.1:' || true)
  if [ -z "$out" ]; then ok "listeners on 127.0.0.1 only"; else bad "non-loopback listeners: $out"; fi
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
