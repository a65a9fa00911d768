#!/usr/bin/env bash
# run-miltertest.sh: milter protocol scenarios with miltertest (Lua) against
# the real smime-milter daemon: inbound pass added first, forged headers
# removed (inbound and outbound), tampered mail, abort mid-message,
# connections without a message, outbound untouched, outbound refused for a
# login that may not sign as its From: (and then not edited at all), RCPT
# spellings refused or reduced (each logged), and reloads (good and bad)
# during traffic. Skips where miltertest is missing; CI installs it.
. "$(dirname "$0")/../lib.sh"
command -v miltertest >/dev/null || skip_or_fail "miltertest not installed"
MILTER=${SMIME_MILTER:-$build/src/smime-milter}
make_pki
here=$top/tests/milter
chmod 755 "$work"
mkdir -p "$work/msgs" "$work/state"
chown nobody "$work/state" 2>/dev/null || true
sign=$top/tests/interop/sign-openssl.sh
sed 's/^From: .*/From: Alice <alice@a.example>/' "$top/tests/golden/message.eml" >"$work/msgs/unsigned.eml"
"$sign" "$pki" alice "$work/msgs/unsigned.eml" >"$work/msgs/signed.eml"
sed 's/this message is signed/this message is forged/' "$work/msgs/signed.eml" >"$work/msgs/tampered.eml"
conf=$work/milter.conf
# Signing for alice@a.example when logged in as alice (outbound-sign.lua) or
# from the relay 192.0.2.10 (outbound.lua: already signed, so untouched);
# the key copy belongs to the service user, as reloads read it unprivileged.
cp "$pki/alice.key" "$work/alice.key" && chmod 600 "$work/alice.key" && chown nobody "$work/alice.key"
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
echo "alice alice@a.example" >"$work/signing-users"
mkdir -p "$work/policies"
# Every file the daemon reads is named here: a built-in default lies under
# the build's sysconfdir, which distcheck puts inside the source folder (in
# a private one, unreadable by the service user the reloads run as).
: >"$work/decryption-keys"
write_config "$conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" "user = nobody" \
  "state_dir = $work/state" "sign = clear" "signing_identities = $work/identities" \
  "signing_users = $work/signing-users" "policy_dir = $work/policies" \
  "decryption_keys = $work/decryption-keys" "signing_relays = 192.0.2.0/24"

"$MILTER" -c "$conf" -f -e >/dev/null 2>"$work/milter.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -S "$work/milter.sock" ] && break; sleep 0.1; done
pass=0 failed=0
run() {  # run SCENARIO
  if miltertest -s "$here/$1.lua" -D sock="unix:$work/milter.sock" -D msgdir="$work/msgs" \
      -D helper="$here/helper.lua" >"$work/$1.out" 2>&1; then
    pass=$((pass + 1)); echo "ok   $1"
  else
    failed=$((failed + 1)); echo "FAIL $1:"; sed 's/^/    /' "$work/$1.out"
  fi
}
for s in inbound-pass forged-headers tampered abort no-message outbound outbound-sign \
  outbound-forged rcpt; do
  run "$s"
done

# Reloads during traffic: good reloads swap the runtime; a bad one is refused
# and the old runtime keeps serving.
# A reload runs on its own thread and signals pending meanwhile coalesce, so
# the good reloads must be logged before the config is made bad (on a loaded
# machine the first one can take seconds): wait for the lines, not a time.
wait_log() {  # wait_log PATTERN: up to 60 s for PATTERN in the daemon's log
  local i
  for i in $(seq 1 600); do
    grep -q -- "$1" "$work/milter.log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
run traffic &
traffic=$!
for _ in 1 2 3 4 5; do sleep 0.2; kill -USR1 "$pid"; done
wait "$traffic" || true
wait_log "reload: version=.*result=ok" || echo "no good reload logged within 60 s" >&2
cp "$conf" "$work/good.conf"
echo "max_signers = many" >>"$conf"
kill -USR1 "$pid"
wait_log "error: reload: result=failed" || echo "no failed reload logged within 60 s" >&2
run inbound-pass
cp "$work/good.conf" "$conf"

check_log() {  # check_log LABEL PATTERN [MIN_COUNT]
  local n
  n=$(grep -c -- "$2" "$work/milter.log")
  if [ "$n" -ge "${3:-1}" ]; then pass=$((pass + 1)); echo "ok   log: $1 ($n)"
  else failed=$((failed + 1)); echo "FAIL log: $1: '$2' found $n times"; fi
}
check_log "start line" "starting: version=.*config=$conf"
check_log "good reloads" "reload: version=.*result=ok" 1
check_log "bad reload refused, in the log's shape with origin=FILE:LINE" "error: reload: result=failed, reason=config, config=$conf, action=kept-running, origin=$conf:[0-9]*, detail=\"max_signers: 'many' is not a number\""
check_log "one verify line per message" "QT[0-9]*x[0-9]*: verify: .*result=pass" 100
check_log "forged removed" "QFORGED: verify: .*result=pass, removed=3"
check_log "outbound logged" "QOUT: outbound: .*why=daemon_name, daemon_name=ORIGINATING"
check_log "forged removed outbound" "QOUTFORGED: outbound: .*action=none, reason=already-signed, removed=2"
check_log "refused outbound not edited" "QOUTREFUSED: outbound: .*action=tempfail, reason=sender-not-authorized, ms="
check_log "unclean RCPT refused and logged" "QRCPT: rcpt: to=<carol@b.example\\\\x20\\\\x28x\\\\x29>, syntax=whitespace, action=reject"
check_log "RCPT comment logged" "QRCPT: rcpt: to=<carol@\\\\x28x\\\\x29b.example>, syntax=comment, action=reject"
check_log "clean RCPT logged" "QRCPT: rcpt: to=<carol@b.example>, domain=b.example, encrypt=never, action=accept"
check_log "unauthorised login refused" "QNOAUTH: outbound: .*login=mallory, .*action=tempfail, reason=sender-not-authorized"
kill -TERM "$pid"
for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check_log "stop line" "stopping: version="
if grep -q "panic:" "$work/milter.log"; then failed=$((failed + 1)); echo "FAIL: panic in log"; grep panic: "$work/milter.log"; fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
