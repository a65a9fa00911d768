#!/usr/bin/env bash
# run-daemon-cli.sh: smime-milter's start-up checks: -n validates and
# exits, configuration errors name file:line, an account of uid 0 is
# refused, keys and certificates.db are never followed through links or
# taken from another account, and the daemon serves over an inet socket (TCP_NODELAY path)
# as it does over a unix one.
. "$(dirname "$0")/../lib.sh"
MILTER=${SMIME_MILTER:-$build/src/smime-milter}
make_pki
pass=0 failed=0
expect() {  # expect LABEL WANT_RC TEXT CMD...
  local label=$1 want=$2 text=$3 rc=0
  shift 3
  "$@" >"$work/out" 2>&1 </dev/null || rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$work/out"; then
    pass=$((pass + 1)); echo "ok   $label"
  else
    failed=$((failed + 1)); echo "FAIL $label: rc=$rc (want $want): $(head -c 300 "$work/out")"
  fi
}
# -n as root checks again as the service user (nobody here): it must be
# able to reach the configuration and the test PKI, as a deployment's
# service user reaches /etc/smime-milter.
[ "$(id -u)" -eq 0 ] && chmod 711 "$work"
write_config "$work/ok.conf" "user = nobody" "socket = inet:0@127.0.0.1"
write_config "$work/root.conf" "user = root"
write_config "$work/nouser.conf" "user = no-such-account-here"
write_config "$work/bad.conf" "max_mime_depth = deep"
expect "-n accepts a good configuration" 0 "ok (1 trust anchors, 0 signing identities, authserv_id mx.test" "$MILTER" -n -c "$work/ok.conf"
# Signing identities: expiry warnings (alice's certificate ends in 2030, so a
# 10-year window must warn and the default 30 days must not), a key that
# others can read is refused with owner and mode.
cp "$pki/alice.key" "$work/alice.key" && chmod 600 "$work/alice.key"
owner=$(id -un)
# The service user's key, as the daemon needs it (a root-only key is below).
[ "$(id -u)" -eq 0 ] && chown nobody "$work/alice.key" && owner=nobody
echo "alice@a.example $pki/alice.crt $work/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
chmod 644 "$work/identities"
write_config "$work/id.conf" "user = nobody" "socket = inet:0@127.0.0.1" "signing_identities = $work/identities"
write_config "$work/idwarn.conf" "user = nobody" "socket = inet:0@127.0.0.1" "signing_identities = $work/identities" \
  "identity_expiry_warning = 3650"
expect "-n counts identities" 0 "ok (1 trust anchors, 1 signing identities" "$MILTER" -n -c "$work/id.conf"
if "$MILTER" -n -c "$work/id.conf" 2>&1 | grep -q "expiry: "; then
  failed=$((failed + 1)); echo "FAIL expiry warning outside the window"
else
  pass=$((pass + 1)); echo "ok   no expiry warning outside the window"
fi
# In the log shape of docs/logging.md (event expiry), as the daemon logs it.
expect "-n warns of an identity near expiry" 0 "smime-milter: warning: expiry: kind=identity, name=alice@a.example, origin=$work/identities:1, serial=" \
  "$MILTER" -n -c "$work/idwarn.conf"
expect "-n: the expiry warning's date, state and action" 0 ", not_after=2030-01-01T00:00:00Z, days=" \
  "$MILTER" -n -c "$work/idwarn.conf"
expect "-n: the expiry warning's state and action" 0 ", state=expiring, action=renew, detail=\"renew it\"" \
  "$MILTER" -n -c "$work/idwarn.conf"
"$MILTER" -n -c "$work/idwarn.conf" 2>"$work/idwarn.log" >/dev/null  # checked with the daemon's lines below
chmod 644 "$work/alice.key"
expect "world-readable key refused" 78 "identities:1: refusing $work/alice.key (owner $owner, mode 0644)" \
  "$MILTER" -n -c "$work/id.conf"
chmod 600 "$work/alice.key"
# As root (-n, the unit's ExecStartPre) nothing is followed or trusted that
# another account could have put there (docs/SECURITY.md).
ln -s "$work/alice.key" "$work/alice-link.key"
echo "alice@a.example $pki/alice.crt $work/alice-link.key chain=$pki/alice.chain.pem" >"$work/identities-link"
write_config "$work/idlink.conf" "user = nobody" "signing_identities = $work/identities-link"
expect "key named through a symbolic link refused" 78 "identities-link:1: refusing $work/alice-link.key: a symbolic link" \
  "$MILTER" -n -c "$work/idlink.conf"
if [ "$(id -u)" -eq 0 ]; then
  chown 4242 "$work/alice.key"
  expect "key of another account refused" 78 "refusing $work/alice.key (owner 4242, mode 0600): owned by an account other than root or the service user" \
    "$MILTER" -n -c "$work/id.conf"
  chown nobody "$work/alice.key"
  expect "key of the service user accepted" 0 "ok (1 trust anchors, 1 signing identities" "$MILTER" -n -c "$work/id.conf"
  chown root "$work/alice.key"
  # Root may read it, the daemon (and every reload) may not: -n says so.
  expect "key only root can read refused as the service user" 78 "fatal: as user nobody: $work/identities:1:" \
    "$MILTER" -n -c "$work/id.conf"
  # The socket's folder should be the service user's to write: checked by
  # root, a warning (a daemon started as root opens the socket as root); by
  # the service user (the unit's ExecStartPre), an error.
  mkdir -m 755 "$work/rootsock"
  write_config "$work/rootsock.conf" "user = nobody" "socket = unix:$work/rootsock/s.sock"
  expect "socket folder the service user cannot write: warning as root" 0 "warning: socket: path=$work/rootsock, user=nobody, result=not-writable, effect=start-as-root-only, origin=$work/rootsock.conf:6, detail=" \
    "$MILTER" -n -c "$work/rootsock.conf"
  chmod 644 "$work/rootsock.conf"
  if command -v setpriv >/dev/null; then
    expect "socket folder the service user cannot write: refused as that user" 78 "fatal: $work/rootsock.conf:6: socket: folder $work/rootsock is not writable by nobody" \
      setpriv --reuid=nobody --regid=nogroup --clear-groups "$MILTER" -n -c "$work/rootsock.conf"
  fi
  # certificates.db pointing at a file root must not touch.
  rm -f "$work"/certificates.db*
  printf 'root:x:0:0\n' >"$work/victim" && chmod 600 "$work/victim"
  ln -s "$work/victim" "$work/certificates.db"
  expect "certificates.db symbolic link refused" 0 "certificate store $work/certificates.db: refusing $work/certificates.db: a symbolic link" \
    "$MILTER" -n -c "$work/ok.conf"
  if [ "$(cat "$work/victim")" = "root:x:0:0" ] && [ -L "$work/certificates.db" ]; then
    pass=$((pass + 1)); echo "ok   link target untouched"
  else
    failed=$((failed + 1)); echo "FAIL link target changed"
  fi
  rm -f "$work/certificates.db"
  expect "-n creates the store" 0 "ok (1 trust anchors" "$MILTER" -n -c "$work/ok.conf"
  mode=$(stat -c %a "$work/certificates.db")
  [ "$mode" = 600 ] && { pass=$((pass + 1)); echo "ok   certificates.db created 0600"; } ||
    { failed=$((failed + 1)); echo "FAIL certificates.db mode $mode"; }
else
  skip_part "ownership cases: not root"
fi
expect "-n names file:line of a bad value" 78 "bad.conf:5: max_mime_depth: 'deep' is not a number" "$MILTER" -n -c "$work/bad.conf"
expect "uid 0 refused" 78 "user: refusing to serve as root" "$MILTER" -n -c "$work/root.conf"
write_config "$work/tcp.conf" "user = nobody" "socket = tcp:8895"
expect "unknown socket scheme refused with file:line" 78 "tcp.conf:6: socket: 'tcp:8895': unknown scheme 'tcp'" "$MILTER" -n -c "$work/tcp.conf"
write_config "$work/port.conf" "user = nobody" "socket = inet:99999@127.0.0.1"
expect "port out of range refused with file:line" 78 "port.conf:6: socket: 'inet:99999@127.0.0.1': port '99999' is not a number 1..65535" "$MILTER" -n -c "$work/port.conf"
write_config "$work/nodir.conf" "user = nobody" "socket = unix:$work/no-such-dir/s.sock"
expect "missing socket folder refused" 78 "socket: folder $work/no-such-dir does not exist" "$MILTER" -n -c "$work/nodir.conf"
expect "unknown account" 78 "no such account 'no-such-account-here'" "$MILTER" -n -c "$work/nouser.conf"
expect "usage" 64 "usage: smime-milter" "$MILTER" -x
expect "--version" 0 "smime-milter $(sed -n 's/^AC_INIT(\[smime-milter\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")" "$MILTER" --version
expect "smimectl --version" 0 "smimectl " "$SMIMECTL" --version

if command -v miltertest >/dev/null; then
  port=$((20000 + RANDOM % 20000))
  write_config "$work/inet.conf" "user = nobody" "socket = inet:$port@127.0.0.1"
  mkdir -p "$work/msgs"
  sed 's/^From: .*/From: Alice <alice@a.example>/' "$top/tests/golden/message.eml" >"$work/msgs/plain.eml"
  "$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/msgs/plain.eml" >"$work/msgs/signed.eml"
  # Open for the service user, but not the keys in $work/pki (tests/lib.sh).
  chmod 755 "$work" && chmod -R a+rX "$work/msgs" "$work/inet.conf"
  "$MILTER" -c "$work/inet.conf" -f -e >/dev/null 2>"$work/milter.log" &
  pid=$!
  if miltertest -s "$top/tests/milter/inbound-pass.lua" -D sock="inet:$port@127.0.0.1" \
      -D msgdir="$work/msgs" -D helper="$top/tests/milter/helper.lua" >"$work/mt.out" 2>&1; then
    pass=$((pass + 1)); echo "ok   inet socket serves"
  else
    failed=$((failed + 1)); echo "FAIL inet socket:"; cat "$work/mt.out" "$work/milter.log"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null
else
  skip_part "inet socket: miltertest not installed"
fi
# A start-up refusal (not -n) is one line in the log's shape, the place to
# fix in origin= (docs/logging.md); -n says it for people.
write_config "$work/badstart.conf" "max_signers = many"
expect "start-up refusal: fatal: starting: result=refused, origin=FILE:LINE" 78 \
  "smime-milter: fatal: starting: result=refused, config=$work/badstart.conf, origin=$work/badstart.conf:5, detail=\"max_signers: 'many' is not a number\"" \
  "$MILTER" -f -e -c "$work/badstart.conf"
expect "-n: the same refusal for people" 78 "smime-milter: fatal: $work/badstart.conf:5: max_signers: 'many' is not a number" \
  "$MILTER" -n -c "$work/badstart.conf"
# Pid file and smimectl reload: the daemon's answer, with exit status.
mkdir -p "$work/rl" "$work/rlsock"
write_config "$work/rl.conf" "user = nobody" "state_dir = $work/rl" "socket = unix:$work/rlsock/s.sock" \
  "metrics_file = $work/rl/metrics.prom"
chmod 644 "$work/rl.conf"
# A recipient certificate added by hand: its expiry is a gauge.
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
"$SMIMECTL" -c "$work/rl.conf" cert add "$work/carol-add.pem" >/dev/null
[ "$(id -u)" -eq 0 ] && chown -R nobody "$work/rl" "$work/rlsock"
expect "reload without a daemon: exit 69" 69 "no daemon: cannot read a pid from $work/rl/smime-milter.pid" \
  "$SMIMECTL" -c "$work/rl.conf" reload
"$MILTER" -c "$work/rl.conf" -f -e >/dev/null 2>"$work/rl.log" &
rlpid=$!
for _ in $(seq 100); do [ -s "$work/rl/smime-milter.pid.reload" ] && break; sleep 0.1; done
if [ "$(cat "$work/rl/smime-milter.pid" 2>/dev/null)" = "$rlpid" ] &&
   [ "$(cat "$work/rl/smime-milter.pid.reload")" = "0 ok" ]; then
  pass=$((pass + 1)); echo "ok   pid file holds the daemon's pid, reload status generation 0"
else
  failed=$((failed + 1)); echo "FAIL pid file: $(cat "$work/rl/smime-milter.pid" 2>&1) (want $rlpid); $(cat "$work/rl.log")"
fi
for _ in $(seq 100); do [ -s "$work/rl/metrics.prom" ] && break; sleep 0.1; done
expect "status: running, with the counters" 0 "smime_milter_trust_anchors 1" "$SMIMECTL" -c "$work/rl.conf" status
expect "status names the pid" 0 "daemon: running, pid $rlpid" "$SMIMECTL" -c "$work/rl.conf" status
expect "status: store size" 0 'smime_milter_certificates_stored{trust="harvested"} 0' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: days to the first anchor's expiry" 0 'smime_milter_expiry_days_min{kind="trust_anchor"} ' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: days to the first added recipient certificate's expiry" 0 'smime_milter_expiry_days_min{kind="recipient_certificate"} ' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: store size counts the added certificate" 0 'smime_milter_certificates_stored{trust="admin"} 1' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: recipient certificate expiry warnings" 0 'smime_milter_expiry_warnings{kind="recipient_certificate"} 0' "$SMIMECTL" -c "$work/rl.conf" status
# The AIA fetcher's counters and breakers, and days to expiry per
# certificate: the added one named by its address and fingerprint.
expect "status: AIA fetches" 0 'smime_milter_aia_fetches_total 0' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: AIA cache hits" 0 'smime_milter_aia_cache_hits_total 0' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: the AIA breakers" 0 'smime_milter_breakers{component="aia",state="open"} 0' "$SMIMECTL" -c "$work/rl.conf" status
carol_fp=$(openssl x509 -in "$pki/carol.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' | cut -c1-16)
expect "status: the added recipient certificate's days to expiry" 0 \
  "smime_milter_certificate_expiry_days{kind=\"recipient_certificate\",name=\"carol@b.example\",fingerprint=\"$carol_fp\"} " \
  "$SMIMECTL" -c "$work/rl.conf" status
expect "status: the anchor's days to expiry" 0 'smime_milter_certificate_expiry_days{kind="trust_anchor",name="' "$SMIMECTL" -c "$work/rl.conf" status
expect "status: recipient certificates expiring within 90 days" 0 \
  'smime_milter_certificates_expiring{kind="recipient_certificate",within_days="90"} ' "$SMIMECTL" -c "$work/rl.conf" status
expect "reload reports success" 0 "reload: ok (pid $rlpid, generation 1)" "$SMIMECTL" -c "$work/rl.conf" reload
cp "$work/rl.conf" "$work/rl.good"
echo "max_signers = many" >>"$work/rl.conf"
expect "reload of a configuration that does not parse: exit 78, nothing signalled" 78 "rl.conf:8: max_signers: 'many' is not a number" \
  "$SMIMECTL" -c "$work/rl.conf" reload
cp "$work/rl.good" "$work/rl.conf"
echo "trust_anchors = $work/no-such-anchors.pem" >>"$work/rl.conf"
expect "reload reports the daemon's refusal and its reason" 1 "reload: failed, the daemon keeps the running configuration: $work/rl.conf:8: trust_anchors: $work/no-such-anchors.pem: trust anchors: No such file" \
  "$SMIMECTL" -c "$work/rl.conf" reload
cp "$work/rl.good" "$work/rl.conf"
expect "reload after the fix" 0 "generation 3" "$SMIMECTL" -c "$work/rl.conf" reload
# A new socket (set twice: a config warning) is taken only at a restart: a
# warning line in the log shape, checked with the others below.
echo "socket = unix:$work/rlsock/other.sock" >>"$work/rl.conf"
expect "reload with another socket" 0 "generation 4" "$SMIMECTL" -c "$work/rl.conf" reload
cp "$work/rl.good" "$work/rl.conf"
for want in "warning: reload: config=$work/rl.conf, socket=unix:$work/rlsock/other.sock, socket_in_use=unix:$work/rlsock/s.sock, effect=socket-changes-after-restart" \
    "warning: config: origin=$work/rl.conf:8, detail=\"'socket' is also set at $work/rl.conf:6; the last one counts\""; do
  if grep -qF -- "$want" "$work/rl.log"; then
    pass=$((pass + 1)); echo "ok   daemon log: $want"
  else
    failed=$((failed + 1)); echo "FAIL daemon log lacks '$want': $(tail -c 600 "$work/rl.log")"
  fi
done
kill "$rlpid"; wait "$rlpid" 2>/dev/null
# The last write at stop holds the final counts: 3 reloads taken, 1 refused.
if grep -qx 'smime_milter_reloads_total{result="ok"} 3' "$work/rl/metrics.prom" &&
   grep -qx 'smime_milter_reloads_total{result="failed"} 1' "$work/rl/metrics.prom"; then
  pass=$((pass + 1)); echo "ok   metrics_file counts the reloads"
else
  failed=$((failed + 1)); echo "FAIL metrics_file: $(grep reloads "$work/rl/metrics.prom" 2>&1)"
fi
# Every line the daemon logged (start, reloads, the refused one, stop), and
# -n's expiry warnings (kept above), in the shape of docs/logging.md.
if grep -q "reload: result=failed" "$work/rl.log" && grep -q "expiry: " "$work/idwarn.log" &&
   out=$(python3 "$top/tests/docs/check_log_lines.py" "$top/docs/logging.md" lines "$work/rl.log" "$work/idwarn.log"); then
  pass=$((pass + 1)); echo "ok   the daemon's log lines follow docs/logging.md"
else
  failed=$((failed + 1)); echo "FAIL daemon log lines: ${out:-}: -n: $(head -c 300 "$work/idwarn.log"); daemon: $(head -c 600 "$work/rl.log")"
fi
expect "status of a stopped daemon: exit 69" 69 "daemon: not running" "$SMIMECTL" -c "$work/rl.conf" status
if [ ! -e "$work/rl/smime-milter.pid" ] && [ ! -e "$work/rl/smime-milter.pid.reload" ]; then
  pass=$((pass + 1)); echo "ok   pid file and reload status removed at exit"
else
  failed=$((failed + 1)); echo "FAIL pid file left behind"
fi
expect "reload of a stopped daemon: exit 69" 69 "no daemon" "$SMIMECTL" -c "$work/rl.conf" reload
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
