#!/usr/bin/env bash
# run-aia.sh: AIA caIssuers fetching end to end through `smimectl process`
# with the REAL clock, against a private PKI made here with openssl (root
# -> inter -> leaves) and a caIssuers server on 127.0.0.1 (aiasrv.py).
# Every message carries only its signer's leaf and the store holds no
# intermediate, so a pass can only come from the fetched issuer.
#
# Cases: DER and certs-only (.p7c) answers pass when aia_allow_networks
# lists 127.0.0.0/8; the same URL is refused without it (no request sent),
# and so is a host name that resolves to loopback; https and ldap URLs,
# redirects, answers over aia_max_size, aia_fetch = no and
# revocation_network = no all leave the chain incomplete (fail), each with
# its aia= outcome in the log line.
# Inputs: the build tree (lib.sh: $SMIMECTL), openssl, python3.
# Output: "ok/FAIL LABEL" per check, then "N passed, N failed".
# Exit: 0 all passed, 1 some failed, 77 skip (strict mode: fail), 99 broken
# infrastructure (PKI or server).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
here=$top/tests/aia
SRV_DIR=$work/srv
mkdir -p "$SRV_DIR" "$work/msg" "$work/www"
# shellcheck source=../revocation/servers.sh
. "$top/tests/revocation/servers.sh"
"$PYTHON" -c 'import http.server' 2>/dev/null || skip_or_fail "python3 missing"
command -v openssl >/dev/null || skip_or_fail "openssl missing"
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT

read -r PORT DEAD < <(free_ports 2)
: "$DEAD"
apki=$work/apki
mkdir -p "$apki"
# ca NAME SUBJECT ISSUER: a CA certificate (ISSUER "" = self-signed).
ca() {
  local n=$1 subj=$2 iss=$3
  openssl req -new -newkey rsa:2048 -nodes -keyout "$apki/$n.key" -subj "$subj" \
    -out "$apki/$n.csr" 2>/dev/null || return 1
  printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" >"$apki/$n.ext"
  if [ -z "$iss" ]; then
    openssl x509 -req -in "$apki/$n.csr" -signkey "$apki/$n.key" -days 30 -sha256 \
      -extfile "$apki/$n.ext" -out "$apki/$n.crt" 2>/dev/null
  else
    echo "authorityKeyIdentifier=keyid" >>"$apki/$n.ext"
    openssl x509 -req -in "$apki/$n.csr" -CA "$apki/$iss.crt" -CAkey "$apki/$iss.key" \
      -CAcreateserial -days 30 -sha256 -extfile "$apki/$n.ext" -out "$apki/$n.crt" 2>/dev/null
  fi
}
# leaf NAME URL: a leaf NAME@a.example by inter whose caIssuers is URL.
leaf() {
  local n=$1 url=$2
  openssl req -new -newkey rsa:2048 -nodes -keyout "$apki/$n.key" -subj "/CN=$n" \
    -out "$apki/$n.csr" 2>/dev/null || return 1
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=emailProtection" \
    "subjectAltName=email:$n@a.example" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid" "authorityInfoAccess=caIssuers;URI:$url" >"$apki/$n.ext"
  openssl x509 -req -in "$apki/$n.csr" -CA "$apki/inter.crt" -CAkey "$apki/inter.key" \
    -CAcreateserial -days 20 -sha256 -extfile "$apki/$n.ext" -out "$apki/$n.crt" 2>/dev/null
}
base=http://127.0.0.1:$PORT
{
  ca root "/O=smime-milter AIA tests/CN=AIA Root" "" &&
    ca inter "/O=smime-milter AIA tests/CN=AIA Inter" root &&
    openssl x509 -in "$apki/inter.crt" -outform DER -out "$work/www/inter.der" &&
    openssl crl2pkcs7 -nocrl -certfile "$apki/inter.crt" -outform DER -out "$work/www/inter.p7c" &&
    leaf der "$base/inter.der" && leaf p7c "$base/inter.p7c" && leaf redir "$base/redirect" &&
    leaf big "$base/big" && leaf tls "https://127.0.0.1:$PORT/inter.der" &&
    leaf ldap "ldap://127.0.0.1:$PORT/cn=inter" && leaf named "http://localhost:$PORT/inter.der"
} || { echo "ERROR: PKI"; exit 99; }

: >"$SRV_DIR/aia.log"
"$PYTHON" "$here/aiasrv.py" "$PORT" "$work/www" "$SRV_DIR/aia.log" "$SRV_DIR/ready" \
  2>"$SRV_DIR/aia.err" &
srv_pid=$!
for _ in $(seq 100); do [ -e "$SRV_DIR/ready" ] && break; sleep 0.1; done
[ -e "$SRV_DIR/ready" ] || { echo "ERROR: server did not start"; cat "$SRV_DIR/aia.err"; exit 99; }

for n in der p7c redir big tls ldap named; do
  sed "s/^From: .*/From: ${n^} <$n@a.example>/" "$top/tests/golden/message.eml" >"$work/msg/$n.plain"
  "$top/tests/interop/sign-openssl.sh" "$apki" "$n" "$work/msg/$n.plain" >"$work/msg/$n.eml" ||
    { echo "ERROR: signing $n"; exit 99; }
done

pass=0 failed=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
requests() { wc -l <"$SRV_DIR/aia.log"; }

# check LABEL MSG WANT_VERDICT WANT_LOG_TEXT WANT_NEW_REQUESTS [CONFIG LINES...]
check() {
  local label=$1 msg=$2 want=$3 text=$4 nreq=$5 conf=$work/$1.conf before after json verdict
  shift 5
  write_config "$conf" "trust_anchors = $apki/root.crt" "state_dir = $work/state-$label" "$@"
  mkdir -p "$work/state-$label"
  before=$(requests)
  json=$("$SMIMECTL" -c "$conf" process --inbound --report "$work/msg/$msg.eml" 2>"$work/$label.log")
  after=$(requests)
  verdict=$(printf '%s' "$json" | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
  if [ "$verdict" != "$want" ]; then
    bad "$label" "verdict '$verdict', want $want; log: $(cat "$work/$label.log")"
  elif ! grep -qF -- "$text" "$work/$label.log"; then
    bad "$label" "log lacks '$text': $(cat "$work/$label.log")"
  elif [ $((after - before)) -ne "$nreq" ]; then
    bad "$label" "$((after - before)) requests, want $nreq"
  else
    ok "$label"
  fi
}
allow="aia_allow_networks = 127.0.0.0/8"

# Baseline: without AIA the leaf alone cannot reach the anchor.
check off der fail "aia=off" 0 "aia_fetch = no" "$allow"
check der-allowed der pass "aia=fetched, aia_url=http://127.0.0.1:$PORT/inter.der," 1 "$allow"
if grep -qF "chain=trusted" "$work/der-allowed.log"; then ok "der-allowed chain=trusted"
else bad "der-allowed chain" "$(cat "$work/der-allowed.log")"; fi
check p7c-allowed p7c pass "aia=fetched" 1 "$allow"
check der-loopback-refused der fail "aia=refused, aia_url=http://127.0.0.1:$PORT/inter.der, aia_why=\"127.0.0.1 is loopback" 0
check named-loopback-refused named fail "is loopback and not in aia_allow_networks" 0
check named-allowed named pass "aia=fetched" 1 "aia_allow_networks = 127.0.0.0/8 ::1"
check redirect redir fail "aia=refused, aia_url=http://127.0.0.1:$PORT/redirect, aia_why=\"HTTP 302: redirect not followed\"" 1 "$allow"
check too-large big fail "aia=too-large" 1 "$allow"
check https tls fail "aia=refused, aia_url=https://127.0.0.1:$PORT/inter.der, aia_why=\"only http URLs are fetched\"" 0 "$allow"
check ldap ldap fail "aia=refused, aia_url=ldap://" 0 "$allow"
check no-network der fail "aia=no-network" 0 "$allow" "revocation_network = no"
# The chain failure itself still names the missing issuer.
if grep -qF "reason=chain-unable-to-get-local-issuer-certificate" "$work/https.log"; then
  ok "https reason"
else
  bad "https reason" "$(cat "$work/https.log")"
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
