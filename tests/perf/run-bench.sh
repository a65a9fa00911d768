#!/usr/bin/env bash
# run-bench.sh [N]: the engine benchmark of docs/performance.md, as ratios to
# raw OpenSSL measured in the same run (`smimectl bench --compare-raw`).
#
# A tool, not a test: it asserts nothing about speed (numbers depend on the
# machine and its load). With SMIME_BENCH_SMOKE=1 (make check) it runs each
# path a few times and only checks that every line reports the expected
# verdict or action and a ratio.
#
# Paths, all on the generated test PKI (tests/pki/gen-pki.sh: RSA-2048,
# chain root -> Test Intermediate CA -> alice/carol, pinned clock):
#   verify         clear-signed by alice, ~4.5 KB, raw = RSA-2048 verify
#   verify-hard    the same with revocation = hard, local CRLs of root and
#                  inter (crl_files, no network), caches warm
#   sign           outbound, ~1.6 KB, alice's identity, raw = RSA-2048 sign
#   encrypt        outbound to carol (certificate store), raw = RSA-2048 verify
#   sign-encrypt   both, raw = RSA-2048 sign
#   verify-thread, sign-thread  verify and sign with --thread-per-message:
#                  each message on a new thread, as libmilter's worker pool
#                  often runs them in the daemon (the daemon's cost under
#                  load; the raw operation stays on one warm thread)
# SMIME_BENCH_ROUNDS (default 20) alternating rounds: see bench_command.cc.
# SMIME_BENCH_ONLY=NAME runs one path; SMIME_BENCH_WRAP is a command put in
# front of smimectl, e.g. "valgrind --tool=callgrind --callgrind-out-file=F"
# (a profile: see docs/performance.md).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
make_pki
n=${1:-4000}
rounds=${SMIME_BENCH_ROUNDS:-20}
smoke=${SMIME_BENCH_SMOKE:-0}
[ "$smoke" = 1 ] && { n=20; rounds=2; }

mkdir -p "$work/pol" "$work/state"
printf 'encrypt = required\n' >"$work/pol/b.example.conf"
echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
common=("signing_identities = $work/ids" "signing_users = $work/users" "policy_dir = $work/pol"
        "state_dir = $work/state")
write_config "$work/sign.conf" "sign = clear" "${common[@]}"
write_config "$work/nosign.conf" "sign = none" "${common[@]}"
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol.pem"
"$SMIMECTL" -c "$work/sign.conf" cert add "$work/carol.pem" >/dev/null ||
  { echo "FAIL cert add carol"; exit 1; }

# CRLs of root (for inter) and inter (for the leaves), empty, valid at $NOW.
crl() { # crl NAME
  local d=$work/ca-$1
  mkdir -p "$d"; : >"$d/index.txt"; echo 01 >"$d/crlnumber"
  printf '[ca]\ndefault_ca = x\n[x]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\n' \
    "$d/index.txt" "$d/crlnumber" >"$d/ca.cnf"
  openssl ca -batch -config "$d/ca.cnf" -gencrl -cert "$pki/$1.crt" -keyfile "$pki/$1.key" \
    -crl_lastupdate 20260501000000Z -crl_nextupdate 20260701000000Z -out "$work/$1.crl" 2>/dev/null
}
if ! crl root || ! crl inter; then echo "FAIL: could not make the CRLs"; exit 1; fi
write_config "$work/hard.conf" "revocation = hard" "revocation_network = no" \
  "crl_files = $work/root.crl, $work/inter.crl" "state_dir = $work/state"

# message FILE BYTES: a text/plain message of about BYTES bytes.
message() {
  { printf 'From: Alice <alice@a.example>\r\nTo: Carol <carol@b.example>\r\nSubject: bench\r\n'
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMessage-ID: <bench@a.example>\r\n'
    printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
    awk -v n="$2" 'BEGIN { for (i = 0; i * 72 < n - 250; i++)
      printf "line %07d: the quick brown fox jumps over the lazy dog, 0123456789 abc\r\n", i }'
  } >"$1"
}
message "$work/out.eml" 1600
message "$work/in.plain" 500
"$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/in.plain" >"$work/in.eml"

failed=0
bench() { # bench NAME WANT CONF ARGS...
  local name=$1 want=$2 conf=$3 line
  shift 3
  [ -n "${SMIME_BENCH_ONLY:-}" ] && [ "$SMIME_BENCH_ONLY" != "$name" ] && return 0
  # shellcheck disable=SC2086 # the wrapper is words
  line=$(${SMIME_BENCH_WRAP:-} "$SMIMECTL" -c "$work/$conf.conf" bench -n "$n" --now "$NOW" --compare-raw \
    --raw-key "$pki/alice.key" --rounds "$rounds" "$@" 2>&1)
  printf '%-13s %s\n' "$name" "${line#*: }"
  case $line in *"$want"*ratio*) ;; *) echo "FAIL $name: want $want" >&2; failed=$((failed + 1)) ;; esac
}
bench verify verdict=pass sign "$work/in.eml"
bench verify-hard verdict=pass hard "$work/in.eml"
bench sign action=signed sign --outbound --sasl-user alice "$work/out.eml"
bench encrypt encryption=aes256-cbc nosign --outbound --sasl-user alice --rcpt carol@b.example \
  --raw-op verify "$work/out.eml"
bench sign-encrypt encryption=aes256-cbc sign --outbound --sasl-user alice \
  --rcpt carol@b.example --raw-op sign "$work/out.eml"
bench verify-thread verdict=pass sign --thread-per-message "$work/in.eml"
bench sign-thread action=signed sign --outbound --sasl-user alice --thread-per-message "$work/out.eml"
exit $((failed > 0))
