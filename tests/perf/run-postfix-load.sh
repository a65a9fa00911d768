#!/usr/bin/env bash
# run-postfix-load.sh [--cpu] [--noop] [N] [ROUNDS]: Postfix alone against Postfix with
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
# --cpu adds the CPU seconds per message of each process group, taken from
#   /proc/PID/stat (utime + stime, plus the children each process reaped):
#   the Postfix instance (master and everything under it: smtpd, cleanup,
#   qmgr, trivial-rewrite, virtual, ...), the milter daemon (all threads)
#   and the load generator. Unlike the rates, these hardly depend on what
#   else runs on the machine.
# --noop adds a third instance whose milter is tests/perf/noop-milter (does
#   nothing, negotiates the same protocol as smime-milter): the floor of the
#   milter protocol's cost. --least: the no-op milter asks for the least
#   protocol any milter can (noop-milter --least).
# --cpu --noop together also print, per path, the ceiling: the best ratio
#   a milter speaking this protocol could reach in this run, Postfix alone's
#   CPU per message divided by the no-op instance's plus the public-key work
#   the path needs at raw OpenSSL speed (`openssl speed rsa2048`, measured in
#   the same run): inbound three RSA-2048 verifications (the message's
#   signature and the two certificates' of the chain; one with a cache of
#   verified chains, 2% less), outbound one RSA-2048 signature. The rounds
#   keep both cores busy, so a rate ratio follows the CPU ratio (both
#   printed); the instances' CPU moves by up to 0.3 ms between rounds, so a
#   ratio a little above the ceiling is that noise.
# SMIME_LOAD_PATHS="inbound" (or "outbound") runs one path only.
# SMIME_LOAD_WRAP="valgrind --tool=callgrind --callgrind-out-file=F" runs
#   the milter daemon under that command (a profile of the daemon's own
#   work; use few messages).
# The milter runs with revocation = off (the test PKI has no CRL or OCSP
# source: bench --compare-raw measures revocation on).
# SMIME_LOAD_SMOKE=1 sends a few messages per path and only checks that
# they arrive with the milter's work done (make check: run-postfix-load-smoke.sh).
# Needs root, Postfix and python3 (skips otherwise).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/milter-lib.sh"
e2e_require Postfix postfix python3
e2e_init keys policies
cpu=0 noop=0 noop_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) cpu=1 ;;
    --noop) noop=1 ;;
    --least) noop_args=(--least) ;;
    *) break ;;
  esac
  shift
done
n=${1:-1000}
rounds=${2:-3}
paths=${SMIME_LOAD_PATHS:-inbound outbound}
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

NOOP_PID=
trap 'stop_all; [ -z "$NOOP_PID" ] || { kill -TERM "$NOOP_PID"; wait "$NOOP_PID"; }
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
if [ -n "${SMIME_LOAD_WRAP:-}" ]; then
  printf '#!/bin/sh\nexec %s %q "$@"\n' "$SMIME_LOAD_WRAP" "$MILTER" >"$work/wrapped-milter"
  chmod 755 "$work/wrapped-milter"
  MILTER=$work/wrapped-milter
fi
start_milter || exit 1
instances=(alone with)
if [ "$noop" = 1 ]; then
  noop_bin=$build/tests/perf/noop-milter
  [ -x "$noop_bin" ] || make -C "$build" tests/perf/noop-milter >/dev/null || exit 1
  "$noop_bin" "${noop_args[@]}" "unix:$work/noop.sock" 2>>"$work/noop.log" &
  NOOP_PID=$!
  for _ in $(seq 50); do [ -S "$work/noop.sock" ] && break; sleep 0.1; done
  pf_setup "$work/noop" "$work/noop.sock" || exit 1
  noopi=("$PF_BASE" "$PF_PORT" "$PF_SUBMIT")
  instances=(alone noopi with)
fi
pf_setup "$work/alone" "$work/milter.sock" || exit 1
postconf -c "$work/alone/etc" -e "smtpd_milters =" "non_smtpd_milters ="
touch -d '-1 minute' "$work/alone"/etc/*
alone=("$PF_BASE" "$PF_PORT" "$PF_SUBMIT")
pf_setup "$work/milter" "$work/milter.sock" || exit 1
with=("$PF_BASE" "$PF_PORT" "$PF_SUBMIT")

declare -A secs=() count=() cpu_pf=() cpu_milter=() cpu_client=() per_round=()
failed=0
# cpu_ticks PID: clock ticks of user and of system time ("USER SYS") of PID
# and all its descendants, with what each has reaped (cutime, cstime), so
# processes that came and went in between are counted by their parent.
cpu_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '{
    pid = $1; sub(/^.*\) /, "")   # the command name may hold spaces
    ppid[pid] = $2; u[pid] = $12 + $14; s[pid] = $13 + $15 }
  END { for (p in u) { q = p; while (q != "" && q != root && q > 1) q = ppid[q]
          if (q == root) { tu += u[p]; ts += s[p] } }
        print tu + 0, ts + 0 }'
}
# add_ticks NAME KEY BEFORE AFTER: adds AFTER - BEFORE ("USER SYS" each) to ${NAME[KEY]}.
add_ticks() {
  local -n acc=$1
  local key=$2 b a old
  read -ra b <<<"$3"
  read -ra a <<<"$4"
  read -ra old <<<"${acc[$key]:-0 0}"
  acc[$key]="$((old[0] + a[0] - b[0])) $((old[1] + a[1] - b[1]))"
}
tck=$(getconf CLK_TCK)
# round WHICH PATH: one instance, N messages of one path; adds its time.
round() {
  local which=$1 path=$2 port file before t0 t1 src mpid pf0 m0 pf1 m1
  local -n inst=$which
  mpid=$MILTER_PID
  [ "$which" = noopi ] && mpid=$NOOP_PID
  PF_BASE=${inst[0]} PF_PORT=${inst[1]}
  if [ "$path" = inbound ]; then port=${inst[1]} src=127.0.0.2; else port=${inst[2]} src=127.0.0.1; fi
  file=$work/msgs/$path.eml
  pf_start || exit 1
  before=$(pf_delivered)
  if [ "$cpu" = 1 ]; then pf0=$(cpu_ticks "$PF_PID"); m0=$(cpu_ticks "$mpid"); fi
  t0=$(date +%s.%N)
  SMTP_LOAD_CPU=$work/client.cpu \
    "$here/smtp-load.py" 127.0.0.1 "$port" "$n" 10 "$file" alice@a.example carol@b.example "$src" ||
    { echo "FAIL $which $path: sending failed"; failed=$((failed + 1)); }
  if ! pf_wait_delivered $((before + n)) 600; then
    echo "FAIL $which $path: $(( $(pf_delivered) - before )) of $n delivered"
    failed=$((failed + 1))
  fi
  t1=$(date +%s.%N)
  if [ "$cpu" = 1 ]; then
    pf1=$(cpu_ticks "$PF_PID") m1=$(cpu_ticks "$mpid")
    add_ticks cpu_pf "$which.$path" "$pf0" "$pf1"
    # The milter of the "alone" instance does nothing: not counted.
    [ "$which" = alone ] || add_ticks cpu_milter "$which.$path" "$m0" "$m1"
    cpu_client[$which.$path]=$(awk -v a="${cpu_client[$which.$path]:-0}" -v b="$(cat "$work/client.cpu")" 'BEGIN { print a + b }')
  fi
  pf_stop
  secs[$which.$path]=$(awk -v a="${secs[$which.$path]:-0}" -v b="$t0" -v c="$t1" 'BEGIN { print a + c - b }')
  per_round[$which.$path]+="$(awk -v n="$n" -v b="$t0" -v c="$t1" 'BEGIN { print n / (c - b) }') "
  count[$which.$path]=$(( ${count[$which.$path]:-0} + n ))
}
for ((r = 0; r < rounds; r++)); do
  for path in $paths; do
    for i in "${instances[@]}"; do round "$i" "$path"; done
  done
done

# The milter did its work on what it delivered.
last() { grep -rl "$1" "${with[0]}/mail" 2>/dev/null | head -1; }
if [[ $paths == *inbound* ]]; then
  f=$(last '<in@a.example>')
  if [ -z "$f" ] || ! grep -q 'smime=pass' "$f"; then echo "FAIL inbound: no smime=pass"; failed=$((failed + 1)); fi
fi
if [[ $paths == *outbound* ]]; then
  f=$(last '<out@a.example>')
  if [ -z "$f" ] || ! grep -q 'multipart/signed' "$f"; then echo "FAIL outbound: not signed"; failed=$((failed + 1)); fi
fi

for path in $paths; do
  awk -v p="$path" -v ca="${count[alone.$path]}" -v sa="${secs[alone.$path]}" \
    -v cw="${count[with.$path]}" -v sw="${secs[with.$path]}" -v r="$rounds" 'BEGIN {
    ra = ca / sa; rw = cw / sw
    printf "%-8s Postfix alone %.0f messages/s, Postfix + milter %.0f messages/s, ratio %.2f (%d messages each, %d rounds, 10 sessions)\n", p, ra, rw, rw / ra, ca, r }'
  [ "$noop" = 1 ] && awk -v p="$path" -v ca="${count[alone.$path]}" -v sa="${secs[alone.$path]}" \
    -v cw="${count[noopi.$path]}" -v sw="${secs[noopi.$path]}" 'BEGIN {
    printf "%-8s Postfix + no-op milter %.0f messages/s, ratio %.2f\n", p, cw / sw, (cw / sw) / (ca / sa) }'
  # Each round's ratio to the same round of Postfix alone (run just before
  # it): how far the machine's own drift moves one ratio (median and range).
  for i in with noopi; do
    [ -n "${per_round[$i.$path]:-}" ] || continue
    awk -v p="$path" -v i="$i" -v a="${per_round[alone.$path]}" -v w="${per_round[$i.$path]}" 'BEGIN {
      k = split(a, x, " "); split(w, y, " ")
      for (j = 1; j <= k; j++) r[j] = y[j] / x[j]
      for (j = 2; j <= k; j++) for (m = j; m > 1 && r[m - 1] > r[m]; m--) { t = r[m]; r[m] = r[m - 1]; r[m - 1] = t }
      med = k % 2 ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2
      printf "%-8s per round, %s: median %.2f, range %.2f to %.2f (%d rounds)\n",
        p, i == "with" ? "smime-milter" : "no-op milter", med, r[1], r[k], k }'
  done
done
if [ "$cpu" = 1 ] && [ "$noop" = 1 ]; then
  # openssl speed -mr: "+F2:COUNT:BITS:SIGN/S:VERIFY/S" (OpenSSL 3).
  raw=$(openssl speed -seconds 3 -mr rsa2048 2>/dev/null | awk -F: '/^\+F2:/ { print $4, $5 }')
  read -r sign_s verify_s <<<"$raw"
  if [ "${sign_s%.*}" -gt 0 ] 2>/dev/null && [ "${verify_s%.*}" -gt 0 ] 2>/dev/null; then
    echo "raw RSA-2048 (openssl speed, this run): sign ${sign_s%.*}/s, verify ${verify_s%.*}/s"
  else
    echo "FAIL openssl speed -mr rsa2048: no rates in '$raw' (no ceiling)"
    failed=$((failed + 1)) noop_ceiling=0
  fi
fi
if [ "$cpu" = 1 ]; then
  echo "CPU ms per message (user+system; Postfix instance, milter daemon, load generator):"
  for path in $paths; do
    for i in "${instances[@]}"; do
      awk -v p="$path" -v i="$i" -v c="${count[$i.$path]}" -v tck="$tck" -v pf="${cpu_pf[$i.$path]}" \
        -v m="${cpu_milter[$i.$path]:-0 0}" -v cl="${cpu_client[$i.$path]}" 'BEGIN {
        name = i == "alone" ? "Postfix alone" : i == "noopi" ? "+ no-op milter" : "+ smime-milter"
        split(pf, x, " "); split(m, y, " "); k = 1000 / tck / c
        a = k * (x[1] + x[2]); b = k * (y[1] + y[2]); d = 1000 * cl / c
        printf "%-8s %-15s postfix %.3f (sys %.3f)  milter %.3f (sys %.3f)  client %.3f  total %.3f\n",
          p, name, a, k * x[2], b, k * y[2], d, a + b + d }'
    done
  done
  # total_ms INSTANCE PATH: CPU ms per message of all three groups.
  total_ms() {
    awk -v c="${count[$1.$2]}" -v tck="$tck" -v pf="${cpu_pf[$1.$2]}" -v m="${cpu_milter[$1.$2]:-0 0}" \
      -v cl="${cpu_client[$1.$2]}" 'BEGIN { split(pf, x, " "); split(m, y, " ")
      printf "%.4f", 1000 / tck / c * (x[1] + x[2] + y[1] + y[2]) + 1000 * cl / c }'
  }
  for path in $paths; do
    [ "$noop" = 1 ] && [ "${noop_ceiling:-1}" = 1 ] || break
    if [ "$path" = inbound ]; then op="3 RSA verifications"; crypto=$(awk -v v="$verify_s" 'BEGIN { print 3000 / v }')
    else op="1 RSA signature"; crypto=$(awk -v s="$sign_s" 'BEGIN { print 1000 / s }'); fi
    awk -v p="$path" -v a="$(total_ms alone "$path")" -v z="$(total_ms noopi "$path")" \
      -v w="$(total_ms with "$path")" -v k="$crypto" -v op="$op" \
      -v ra="$(awk -v c="${count[alone.$path]}" -v s="${secs[alone.$path]}" 'BEGIN { print c / s }')" \
      -v rw="$(awk -v c="${count[with.$path]}" -v s="${secs[with.$path]}" 'BEGIN { print c / s }')" 'BEGIN {
      printf "%-8s ceiling for any milter %.2f (alone %.3f ms / (no-op %.3f + %s %.3f)); smime-milter by CPU %.2f, by rate %.2f\n",
        p, a / (z + k), a, z, op, k, a / w, rw / ra }'
  done
fi
exit $((failed > 0))
