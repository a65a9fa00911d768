#!/usr/bin/env bash
# run-postfix-load.sh [N] [ROUNDS]: Postfix alone against Postfix with
# smime-milter on the same messages, on this machine, in the same run
# (docs/performance.md, "Through Postfix"). A tool, not a test: it prints
# rates and their ratio and asserts nothing about speed.
#
# Two private Postfix instances on 127.0.0.1 (tests/e2e/postfix-lib.sh),
# identical except that one has no milter; only one runs at a time. In
# ROUNDS (default 3) alternating rounds each gets N messages (default 1000)
# over 10 SMTP sessions (smtp-load.py) and the time from the first
# connection to the last delivery into the Maildirs is taken:
#   inbound   a clear-signed message (alice, RSA-2048, chain root -> Test
#             Intermediate CA -> alice, ~4.5 KB) to the MTA port from
#             127.0.0.2 (an outside client): the milter verifies it and adds
#             smime=pass;
#   outbound  a 1.6 KB unsigned message from alice@a.example through the
#             submission service (ORIGINATING) from an internal host: the
#             milter signs it (sign = clear, RSA-2048).
# The milter runs with revocation = off (the test PKI has no CRL or OCSP
# source: bench --compare-raw measures revocation on).
# SMIME_LOAD_SMOKE=1 sends a few messages per path and only checks that
# they arrive with the milter's work done (used in make check).
# Needs root, Postfix and python3 (skips otherwise).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/milter-lib.sh"
e2e_require Postfix postfix python3
e2e_init keys policies
n=${1:-1000}
rounds=${2:-3}
[ "${SMIME_LOAD_SMOKE:-0}" = 1 ] && { n=20; rounds=1; }
here=$top/tests/perf

nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $work/state" "internal_hosts = 127.0.0.1/32" \
  "signing_relays = 127.0.0.1/32" "sign = clear" "signing_identities = $work/ids" \
  "policy_dir = $work/policies"

msg() { # msg FILE BYTES ID
  { printf 'From: Alice <alice@a.example>\r\nTo: Carol <carol@b.example>\r\nSubject: load\r\n'
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMessage-ID: <%s@a.example>\r\n' "$3"
    printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
    awk -v n="$2" 'BEGIN { for (i = 0; i * 72 < n - 250; i++)
      printf "line %07d: the quick brown fox jumps over the lazy dog, 0123456789 abc\r\n", i }'
  } >"$1"
}
msg "$work/msgs/in.plain" 2400 in
"$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/msgs/in.plain" >"$work/msgs/inbound.eml"
msg "$work/msgs/outbound.eml" 1600 out

trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
pf_setup "$work/alone" "$work/milter.sock" || exit 1
postconf -c "$work/alone/etc" -e "smtpd_milters =" "non_smtpd_milters ="
touch -d '-1 minute' "$work/alone"/etc/*
alone=("$PF_BASE" "$PF_PORT" "$PF_SUBMIT")
pf_setup "$work/milter" "$work/milter.sock" || exit 1
with=("$PF_BASE" "$PF_PORT" "$PF_SUBMIT")

declare -A secs=() count=()
failed=0
# round WHICH PATH: one instance, N messages of one path; adds its time.
round() {
  local which=$1 path=$2 port file before t0 t1 src
  local -n inst=$which
  PF_BASE=${inst[0]} PF_PORT=${inst[1]}
  if [ "$path" = inbound ]; then port=${inst[1]} src=127.0.0.2; else port=${inst[2]} src=127.0.0.1; fi
  file=$work/msgs/$path.eml
  pf_start || exit 1
  before=$(pf_delivered)
  t0=$(date +%s.%N)
  "$here/smtp-load.py" 127.0.0.1 "$port" "$n" 10 "$file" alice@a.example carol@b.example "$src" ||
    { echo "FAIL $which $path: sending failed"; failed=$((failed + 1)); }
  if ! pf_wait_delivered $((before + n)) 600; then
    echo "FAIL $which $path: $(( $(pf_delivered) - before )) of $n delivered"
    failed=$((failed + 1))
  fi
  t1=$(date +%s.%N)
  pf_stop
  secs[$which.$path]=$(awk -v a="${secs[$which.$path]:-0}" -v b="$t0" -v c="$t1" 'BEGIN { print a + c - b }')
  count[$which.$path]=$(( ${count[$which.$path]:-0} + n ))
}
for ((r = 0; r < rounds; r++)); do
  for path in inbound outbound; do
    round alone "$path"
    round with "$path"
  done
done

# The milter did its work on what it delivered.
last() { grep -rl "$1" "${with[0]}/mail" 2>/dev/null | head -1; }
f=$(last '<in@a.example>')
if [ -z "$f" ] || ! grep -q 'smime=pass' "$f"; then echo "FAIL inbound: no smime=pass"; failed=$((failed + 1)); fi
f=$(last '<out@a.example>')
if [ -z "$f" ] || ! grep -q 'multipart/signed' "$f"; then echo "FAIL outbound: not signed"; failed=$((failed + 1)); fi

for path in inbound outbound; do
  awk -v p="$path" -v ca="${count[alone.$path]}" -v sa="${secs[alone.$path]}" \
    -v cw="${count[with.$path]}" -v sw="${secs[with.$path]}" -v r="$rounds" 'BEGIN {
    ra = ca / sa; rw = cw / sw
    printf "%-8s Postfix alone %.0f messages/s, Postfix + milter %.0f messages/s, ratio %.2f (%d messages each, %d rounds, 10 sessions)\n", p, ra, rw, rw / ra, ca, r }'
done
exit $((failed > 0))
