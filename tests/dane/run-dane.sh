#!/usr/bin/env bash
# run-dane.sh: DANE SMIMEA recipient certificates (certdir/smimea_source)
# against a real DNSSEC-signed zone, validated by libunbound.
#
# Zones and nsd from tests/dane/dane-lib.sh: dane.example, signed with
# ldns-keygen and ldns-signzone (its DNSKEY is the test's own trust anchor
# file), and plain.example, unsigned, served by a private nsd (-d, no
# privileges: as nobody when the test runs as root) on 127.0.0.1 at a free
# port; smimectl asks it with dns_resolver = 127.0.0.1@PORT. Records:
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
# smimea_verify = yes (dane.example): a message From: alice@dane.example
# signed with selfsigned.key passes, Authentication-Results and the log say
# DANE bound it; it fails its chain with the setting off, From: the bogus
# record's address, and from the unsigned zone. With nsd stopped, a RCPT to
# the encrypt = required domain is a tempfail (exit 75, 451), never clear.
# Fails in strict mode (CI) without nsd, ldns-keygen, ldns-signzone, drill
# (Debian: nsd ldnsutils; contrib/install-deps.sh installs them).
# DANE_KEEP=1 keeps the work folder (printed) for debugging.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=dane-lib.sh
. "$(dirname "$0")/dane-lib.sh"
dane_require
make_pki
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

dane_zones || exit 99
start_nsd || exit 99

mkdir -p "$work/policies"
printf 'encrypt = required\nsmimea = yes\nmissing_certificate = reject\nsmimea_verify = yes\n' \
  >"$work/policies/dane.example.conf"
printf 'encrypt = required\nsmimea = yes\n' >"$work/policies/plain.example.conf"
write_config "$work/dane.conf" "policy_dir = $work/policies" "certificate_sources = local" \
  "dns_resolver = 127.0.0.1@$DANE_PORT" "dnssec_trust_anchor = $work/anchor.key" "dns_timeout = 5"
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
drill -p "$DANE_PORT" -b 1232 @127.0.0.1 "$(dane_owner big).dane.example" TYPE53 >"$out" 2>&1
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

# --- smimea_verify: a DANE-EE record of the From: address binds a signer -----------
signed() {  # signed NAME FROM: a message signed with the selfsigned certificate
  printf 'Signed DANE text.\n' >"$work/$1.txt"
  openssl cms -sign -signer "$pki/selfsigned.crt" -inkey "$pki/selfsigned.key" -text \
    -from "$2" -to bob@a.example -subject "dane $1" -in "$work/$1.txt" -out "$work/$1.eml" ||
    bad "openssl cms -sign $1 failed"
}
signed sig-alice alice@dane.example
signed sig-mal mal@dane.example
signed sig-plain alice@plain.example
v=$(verdict_of "$work/dane.conf" "$work/sig-alice.eml")
[ "$v" = "pass " ] && ok "smimea_verify: alice@dane.example's self-signed signature passes (DANE-EE)" ||
  bad "smimea_verify: alice@dane.example: $v"
"$SMIMECTL" -c "$work/dane.conf" process --inbound --now "$NOW" "$work/sig-alice.eml" >"$out" 2>&1
expect "smimea_verify: Authentication-Results says DANE bound it" \
  'smime=pass .*certificate bound to the From: address by DANE SMIMEA'
expect "smimea_verify: the log says chain=dane" 'chain=dane, signer=<alice@dane\.example>'
mkdir -p "$work/policies-off"
printf 'smimea = yes\n' >"$work/policies-off/dane.example.conf"
write_config "$work/off.conf" "policy_dir = $work/policies-off" "certificate_sources = local" \
  "dns_resolver = 127.0.0.1@$DANE_PORT" "dnssec_trust_anchor = $work/anchor.key"
v=$(verdict_of "$work/off.conf" "$work/sig-alice.eml")
case $v in fail\ chain-*) ok "smimea_verify = no (default): the same signature fails: $v" ;;
  *) bad "smimea_verify = no: alice@dane.example: $v" ;; esac
v=$(verdict_of "$work/dane.conf" "$work/sig-mal.eml")
case $v in fail\ chain-*) ok "smimea_verify: bogus record for the From: address: $v" ;;
  *) bad "smimea_verify: mal@dane.example: $v" ;; esac
v=$(verdict_of "$work/dane.conf" "$work/sig-plain.eml")
case $v in fail\ chain-*) ok "smimea_verify off for plain.example (and insecure): $v" ;;
  *) bad "smimea_verify: alice@plain.example: $v" ;; esac

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
