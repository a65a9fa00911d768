#!/usr/bin/env bash
# run-dane.sh: DANE SMIMEA recipient certificates (certdir/smimea_source)
# against a real DNSSEC-signed zone, validated by libunbound.
#
# Builds two zones in $work/nsd: dane.example, signed with ldns-keygen and
# ldns-signzone (its DNSKEY is the test's own trust anchor file), and
# plain.example, unsigned. A private nsd (-d, no privileges: as nobody when the
# test runs as root) serves both on 127.0.0.1 at a free port; smimectl asks
# it with dns_resolver = 127.0.0.1@PORT. Records (RFC 8162 owner names):
#   alice@dane.example  DANE-EE (3 0 0) full certificate: the PKI's
#                    "selfsigned" (no CA, another address): used; the
#                    message is encrypted to it (smimectl process) and
#                    openssl cms -decrypt opens it with selfsigned.key
#   big@dane.example    three DANE-EE full certificates: the answer does not
#                    fit in 1232 octets of UDP (drill shows TC): libunbound
#                    retries over TCP and the certificate is used
#   mal@dane.example    a DANE-EE record whose data was changed after signing:
#                    bogus, never used, with the reason
#   hash@dane.example   3 1 1 (SHA-256 of the SPKI) only: no certificate
#   nobody@dane.example NXDOMAIN: no certificate
#   alice@plain.example DANE-EE in the unsigned zone: insecure, never used
# and, with nsd stopped, a RCPT to the encrypt = required domain is a
# tempfail (exit 75, 451) with the resolver named, never clear text.
# Fails in strict mode (CI) without nsd, ldns-keygen, ldns-signzone, drill
# (Debian: nsd ldnsutils; contrib/install-deps.sh installs them).
# DANE_KEEP=1 keeps the work folder (printed) for debugging.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
NSD=$(command -v nsd || command -v /usr/sbin/nsd || true)
for t in ldns-keygen ldns-signzone drill; do
  command -v "$t" >/dev/null || skip_or_fail "$t not installed (Debian: ldnsutils)"
done
[ -n "$NSD" ] || skip_or_fail "nsd not installed (Debian: nsd)"
make_pki

nsd_pid=
stop_nsd() {
  [ -n "$nsd_pid" ] || return 0
  kill "$nsd_pid" 2>/dev/null
  wait "$nsd_pid" 2>/dev/null
  nsd_pid=
}
cleanup() {
  stop_nsd
  if [ "${DANE_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
out=$work/out
expect() {  # expect LABEL PATTERN: a line of $out matches the extended regular expression
  if grep -Eq -- "$2" "$out"; then ok "$1"; else bad "$1: no line matching '$2' in:"; sed 's/^/    /' "$out"; fi
}
expect_not() {
  if ! grep -Eq -- "$2" "$out"; then ok "$1"; else bad "$1: unexpected '$2' in:"; sed 's/^/    /' "$out"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# owner LOCALPART: the RFC 8162 owner name label part (without the domain)
owner() { printf '%s._smimecert' "$(printf '%s' "$1" | sha256sum | cut -c1-56)"; }
# smimea OWNER USAGE SELECTOR MATCHING HEXDATA: one record in RFC 3597 form
smimea() {
  local hex
  hex="$(printf '%02x%02x%02x' "$2" "$3" "$4")$5"
  printf '%s 300 IN TYPE53 \\# %d %s\n' "$1" $((${#hex} / 2)) "$hex"
}
derhex() { openssl x509 -in "$pki/$1.crt" -outform DER | od -An -v -tx1 | tr -d ' \n'; }

# --- the zones ---------------------------------------------------------------------
d=$work/nsd
mkdir -p "$d"
zone_head() {  # zone_head ORIGIN
  printf '$ORIGIN %s.\n$TTL 300\n' "$1"
  printf '@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
    "$1" "$1" "$1"
}
spki_sha256=$(openssl x509 -in "$pki/alice.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n')
{
  zone_head dane.example
  smimea "$(owner alice)" 3 0 0 "$(derhex selfsigned)"
  for n in selfsigned alice carol; do smimea "$(owner big)" 3 0 0 "$(derhex $n)"; done
  smimea "$(owner mal)" 3 0 0 "$(derhex selfsigned)"
  smimea "$(owner hash)" 3 1 1 "$spki_sha256"
} >"$d/dane.example.zone"
{
  zone_head plain.example
  smimea "$(owner alice)" 3 0 0 "$(derhex selfsigned)"
} >"$d/plain.example.zone"
(cd "$d" && ldns-keygen -a ECDSAP256SHA256 -k dane.example >"$d/keyname") ||
  { echo "ERROR: ldns-keygen failed"; exit 99; }
key=$(cat "$d/keyname")
ldns-signzone -o dane.example -f "$d/dane.example.zone.signed" "$d/dane.example.zone" "$d/$key" ||
  { echo "ERROR: ldns-signzone failed"; exit 99; }
grep -q RRSIG "$d/dane.example.zone.signed" || { echo "ERROR: no RRSIG in the signed zone"; exit 99; }
cp "$d/$key.key" "$work/anchor.key"  # the DNSKEY: the test's own trust anchor
# Bogus: flip one hex digit of mal's certificate after signing (the last
# digit of the data, inside the signature value: still a parseable record).
mal=$(owner mal)
awk -v o="$mal.dane.example." '
  $1 == o && $4 != "RRSIG" && !done { c = substr($NF, length($NF)); r = (c == "0") ? "1" : "0";
    $NF = substr($NF, 1, length($NF) - 1) r; done = 1 } { print }' \
  "$d/dane.example.zone.signed" >"$d/signed.tmp" && mv "$d/signed.tmp" "$d/dane.example.zone.signed"
grep -E "^$mal\.dane\.example\..*(SMIMEA|TYPE53)" "$d/dane.example.zone.signed" >/dev/null ||
  { echo "ERROR: mal's record not found in the signed zone"; exit 99; }

PORT=
write_nsd_conf() {
  cat >"$d/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$PORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$d"
  pidfile: "$d/nsd.pid"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  logfile: "$d/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: dane.example
  zonefile: dane.example.zone.signed
zone:
  name: plain.example
  zonefile: plain.example.zone
CONF
}
# nsd runs without privileges: as nobody when the test is root (it then
# needs to read and write its folder).
as_nsd=()
if [ "$(id -u)" = 0 ]; then
  chmod 755 "$work"
  chown -R nobody "$d"
  as_nsd=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
fi
start_nsd() {
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    write_nsd_conf
    "${as_nsd[@]}" "$NSD" -d -c "$d/nsd.conf" >>"$d/nsd.out" 2>&1 &
    nsd_pid=$!
    for _ in $(seq 100); do
      if drill -p "$PORT" @127.0.0.1 dane.example SOA 2>/dev/null | grep -q 'rcode: NOERROR'; then
        return 0
      fi
      kill -0 "$nsd_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_nsd
  done
  return 1
}
start_nsd || { echo "ERROR: nsd did not start:"; tail -20 "$d/nsd.out" "$d/nsd.log" 2>/dev/null; exit 99; }

mkdir -p "$work/policies"
printf 'encrypt = required\nsmimea = yes\nmissing_certificate = reject\n' >"$work/policies/dane.example.conf"
printf 'encrypt = required\nsmimea = yes\n' >"$work/policies/plain.example.conf"
write_config "$work/dane.conf" "policy_dir = $work/policies" "certificate_sources = local" \
  "dns_resolver = 127.0.0.1@$PORT" "dnssec_trust_anchor = $work/anchor.key" "dns_timeout = 5"
lookup() { "$SMIMECTL" -c "$work/dane.conf" cert lookup "$1" --now "$NOW" >"$out" 2>&1; }

# --- valid DANE-EE record: used, trust dane, encrypts, decrypts -------------------------
lookup alice@dane.example
rc=$?
[ "$rc" = 0 ] && ok "alice@dane.example: a certificate (exit 0)" || bad "alice@dane.example: exit $rc"
expect "alice@dane.example: the selfsigned certificate from DANE, trust dane" \
  '^certificate: dane serial 1009, .* trust dane \(dane: [0-9a-f]{56}\._smimecert\.dane\.example usage 3 selector 0 matching 0\)$'
printf 'From: alice@a.example\nTo: alice@dane.example\nSubject: dane\nMessage-ID: <dane1@a.example>\n\nsecret text for DANE\n' \
  >"$work/in.eml"
"$SMIMECTL" -c "$work/dane.conf" process --outbound --sasl-user alice --rcpt alice@dane.example \
  --now "$NOW" "$work/in.eml" >"$work/enc.eml" 2>"$work/enc.log"
rc=$?
[ "$rc" = 0 ] && ok "process: accepted (exit 0)" || { bad "process: exit $rc"; sed 's/^/    /' "$work/enc.log"; }
if grep -qi 'application/pkcs7-mime' "$work/enc.eml" && ! grep -q 'secret text' "$work/enc.eml"; then
  ok "process: the message is encrypted"
else bad "process: not encrypted"; sed 's/^/    /' "$work/enc.eml" | head -20; fi
if openssl cms -decrypt -in "$work/enc.eml" -recip "$pki/selfsigned.crt" -inkey "$pki/selfsigned.key" \
    -out "$work/dec.txt" 2>"$work/dec.err" && grep -q 'secret text for DANE' "$work/dec.txt"; then
  ok "process: the recipient's key (selfsigned.key) decrypts it"
else bad "process: decrypt failed"; sed 's/^/    /' "$work/dec.err"; fi

# --- big answer: truncated over UDP, fetched over TCP ----------------------------------
drill -p "$PORT" -b 1232 @127.0.0.1 "$(owner big).dane.example" TYPE53 >"$out" 2>&1
expect "big@dane.example: the UDP answer (1232-octet buffer) is truncated" '^;; flags: .*\btc\b'
lookup big@dane.example
expect "big@dane.example: a certificate over TCP" '^certificate: dane serial 10(01|09|0D), .* trust dane'

# --- bogus, insecure, hash only, NXDOMAIN --------------------------------------------
lookup mal@dane.example
rc=$?
[ "$rc" != 0 ] && ok "mal@dane.example (bogus): no certificate (exit $rc)" || bad "mal@dane.example: exit 0"
expect "mal@dane.example: refused as bogus, with the reason" \
  '^rejected: dane: [0-9a-f]{56}\._smimecert\.dane\.example: bogus DNSSEC answer: .+: not used$'
expect "mal@dane.example: none usable" '^certificate: none usable$'
lookup alice@plain.example
rc=$?
[ "$rc" != 0 ] && ok "alice@plain.example (insecure): no certificate (exit $rc)" || bad "alice@plain.example: exit 0"
expect "alice@plain.example: refused as insecure, with the reason" \
  '^rejected: dane: [0-9a-f]{56}\._smimecert\.plain\.example: insecure DNS answer'
lookup hash@dane.example
expect "hash@dane.example: a hash-only record supplies no certificate" '^certificate: none usable$'
expect_not "hash@dane.example: nothing unavailable" '^unavailable'
lookup nobody@dane.example
expect "nobody@dane.example (NXDOMAIN): none usable" '^certificate: none usable$'
expect_not "nobody@dane.example: nothing rejected or unavailable" '^(rejected|unavailable)'
# The policy decides: a RCPT to mal@dane.example (encrypt = required,
# missing_certificate = reject) is refused, not sent in clear.
"$SMIMECTL" -c "$work/dane.conf" process --outbound --sasl-user alice --rcpt mal@dane.example \
  --now "$NOW" "$work/in.eml" >"$work/mal.eml" 2>"$work/mal.log"
rc=$?
[ "$rc" = 77 ] && ok "mal@dane.example: RCPT refused (exit 77)" || { bad "mal@dane.example: process exit $rc"; sed 's/^/    /' "$work/mal.log"; }

# --- resolver down: 451, never clear text ------------------------------------------
stop_nsd
lookup alice2@dane.example
expect "resolver down: the lookup is unavailable, not 'no certificate'" '^unavailable: dane: '
"$SMIMECTL" -c "$work/dane.conf" process --outbound --sasl-user alice --rcpt alice2@dane.example \
  --now "$NOW" "$work/in.eml" >"$work/down.eml" 2>"$work/down.log"
rc=$?
[ "$rc" = 75 ] && ok "resolver down: RCPT to an encrypt = required domain is a tempfail (exit 75)" ||
  { bad "resolver down: process exit $rc"; sed 's/^/    /' "$work/down.log"; }
if ! grep -q 'secret text' "$work/down.eml"; then ok "resolver down: nothing in clear"; else bad "resolver down: clear text out"; fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
