#!/usr/bin/env bash
# run-pg-store.sh: the certificate store on PostgreSQL (certificate_store =
# postgresql:...), against a private server this test starts on a unix
# socket in its temp folder (tests/pg/pg-lib.sh; as root the server runs as
# nobody). Checks: the store conformance tests on both backends
# (src/certdir/cert_store_conformance_test); `smimectl store check|init|
# migrate`; a password in the connection string refused by config check;
# two hosts (two configs, own state_dir, one database): a signature
# verified on host A makes its signer's certificate encrypt mail on host B,
# `cert remove` on B stops A at once; two processes harvesting at once; the
# database locked (slow) or stopped gives 451 4.7.1 at RCPT for a domain
# that requires encryption, and inbound mail still passes with harvesting
# skipped (harvest=failed in the log line); `store copy` moves a SQLite
# store; `bench --store` runs lookups through both backends. Inputs: the build tree (lib.sh), PostgreSQL server packages, psql.
# Exit: 0 all passed, 1 some failed, 77 skipped (not in strict mode).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=pg-lib.sh
. "$(dirname "$0")/pg-lib.sh"
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
one_line() { tr '\n' ' ' | cut -c1-400; }
make_pki
start_pg
PG="postgresql:$PG_CONNINFO"

# ---------------------------------------------------------------- conformance
if SMIME_TEST_PG="$PG_CONNINFO" "$build/src/certdir/cert_store_conformance_test" \
    >"$work/conformance.log" 2>&1 &&
  [ "$(grep -c '^\[  PASSED  \]' "$work/conformance.log")" = 3 ]; then
  ok "store conformance: sqlite, postgresql and postgresql faults"
else
  bad "store conformance:"
  grep -E 'FAIL|ERROR|error' "$work/conformance.log" | head -20
fi
pg_sql "DROP TABLE IF EXISTS certificates, intermediates, schema_version" >/dev/null

# ---------------------------------------------------------------- two hosts
mkdir -p "$work/a" "$work/b" "$work/s" "$work/pol"
echo "encrypt = required" >"$work/pol/a.example.conf"
echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
write_config "$work/a.conf" "state_dir = $work/a" "certificate_store = $PG" "sign = clear" \
  "signing_identities = $work/ids" "signing_users = $work/users" "policy_dir = $work/pol"
write_config "$work/b.conf" "state_dir = $work/b" "certificate_store = $PG" \
  "policy_dir = $work/pol" "rcpt_deadline = 2" "certificate_store_timeout = 10"
write_config "$work/pw.conf" "state_dir = $work/b" \
  "certificate_store = postgresql:host=$PG_DIR/sock dbname=certs user=smime password=secret"

out=$("$SMIMECTL" -c "$work/pw.conf" config check 2>&1)
rc=$?
[ $rc = 78 ] && grep -q 'passfile' <<<"$out" && ok "config check refuses a password in the connection string" ||
  bad "password in conninfo: exit $rc: $(one_line <<<"$out")"

"$SMIMECTL" -c "$work/a.conf" store copy sqlite >/dev/null 2>&1
[ $? = 64 ] && ok "store copy without TO: usage, exit 64" || bad "store copy without TO: not exit 64"
out=$("$SMIMECTL" -c "$work/a.conf" store check 2>&1)
rc=$?
[ $rc = 78 ] && grep -q 'schema version 0, expected 2' <<<"$out" &&
  ok "store check: an empty database needs store init (exit 78)" ||
  bad "store check on an empty database: exit $rc: $(one_line <<<"$out")"
out=$("$SMIMECTL" -c "$work/a.conf" store init 2>&1)
rc=$?
[ $rc = 0 ] && grep -q 'schema version 2, 0 certificates' <<<"$out" && ok "store init creates schema version 2" ||
  bad "store init: exit $rc: $(one_line <<<"$out")"
[ "$(pg_sql 'SELECT version FROM schema_version')" = 2 ] && ok "schema_version table holds 2" ||
  bad "schema_version: $(pg_sql 'SELECT * FROM schema_version' 2>&1)"
"$SMIMECTL" -c "$work/b.conf" store migrate >/dev/null 2>&1 && "$SMIMECTL" -c "$work/b.conf" store check >/dev/null 2>&1 &&
  ok "store migrate and check on a current schema: exit 0" || bad "store migrate/check on a current schema"

# alice signs on A (outbound); the signed message arrives on A (inbound)
# and her certificate is harvested into the shared store.
sed 's/^From: .*/From: Alice <alice@a.example>/' "$top/tests/golden/message.eml" >"$work/in.eml"
sed 's/^From: .*/From: Bob <bob@b.example>/' "$top/tests/golden/message.eml" >"$work/bob.eml"
"$SMIMECTL" -c "$work/a.conf" process --outbound --sasl-user alice --rcpt partner@c.example \
  --now "$NOW" "$work/in.eml" >"$work/signed.eml" 2>"$work/sign.log" || bad "signing: $(one_line <"$work/sign.log")"
# encrypt_b: B sends bob's message to alice@a.example (encryption required);
# prints the exit status, the log in $work/enc.log, the message in $work/enc.eml.
encrypt_b() {
  "$SMIMECTL" -c "$work/b.conf" process --outbound --from bob@b.example --rcpt alice@a.example \
    --now "$NOW" "$work/bob.eml" >"$work/enc.eml" 2>"$work/enc.log"
  echo $?
}
rc=$(encrypt_b)
[ "$rc" = 77 ] && grep -q '550 5.7.1' "$work/enc.log" && ok "B before the harvest: no certificate, 550 5.7.1" ||
  bad "B before the harvest: exit $rc: $(one_line <"$work/enc.log")"
"$SMIMECTL" -c "$work/a.conf" process --inbound --rcpt bob@b.example --now "$NOW" "$work/signed.eml" \
  >/dev/null 2>"$work/in.log"
grep -q 'result=pass' "$work/in.log" && ! grep -q 'harvest=' "$work/in.log" &&
  ok "A verifies alice's signature and harvests" || bad "A inbound: $(one_line <"$work/in.log")"
rc=$(encrypt_b)
[ "$rc" = 0 ] && grep -q 'encryption=aes256-gcm' "$work/enc.log" &&
  grep -qi '^Content-Type: application/pkcs7-mime' "$work/enc.eml" &&
  ok "B encrypts to the certificate harvested on A" || bad "B after the harvest: exit $rc: $(one_line <"$work/enc.log")"

# Two processes (two hosts) harvest the same certificate at once.
for i in 1 2 3 4; do
  for h in a b; do
    "$SMIMECTL" -c "$work/$h.conf" process --inbound --rcpt bob@b.example --now "$NOW" \
      "$work/signed.eml" >/dev/null 2>"$work/par-$h-$i.log" &
  done
done
wait
if ! grep -l 'harvest=failed' "$work"/par-*.log >/dev/null &&
  [ "$(grep -l 'result=pass' "$work"/par-*.log | wc -l)" = 8 ] &&
  [ "$(pg_sql "SELECT count(*) FROM certificates WHERE address = 'alice@a.example'")" = 1 ]; then
  ok "8 concurrent harvests from two hosts: all stored, one row"
else
  bad "concurrent harvests: $(cat "$work"/par-*.log | one_line)"
fi

# The database slow: a lock holds every lookup; RCPT ends at rcpt_deadline.
psql -X -q -h "$PG_DIR/sock" -U smime -d certs \
  -c "BEGIN; LOCK TABLE certificates IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT" \
  >/dev/null 2>&1 &
locker=$!
for _ in $(seq 50); do
  [ "$(pg_sql "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted" 2>/dev/null)" -ge 1 ] 2>/dev/null && break
  sleep 0.1
done
rc=$(encrypt_b)
[ "$rc" = 75 ] && grep -q '451 4.7.1' "$work/enc.log" && ok "database slow: 451 4.7.1 at rcpt_deadline" ||
  bad "database slow: exit $rc: $(one_line <"$work/enc.log")"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
rc=$(encrypt_b)
[ "$rc" = 0 ] && ok "lock gone: B encrypts again" || bad "after the lock: exit $rc: $(one_line <"$work/enc.log")"

# cert remove on B: A stops using the certificate at once.
out=$("$SMIMECTL" -c "$work/b.conf" cert remove alice@a.example 2>&1)
[ $? = 0 ] && grep -q 'removed 1' <<<"$out" && ok "cert remove on B" || bad "cert remove on B: $(one_line <<<"$out")"
out=$("$SMIMECTL" -c "$work/a.conf" cert lookup alice@a.example --now "$NOW" 2>&1)
[ $? = 3 ] && ok "A: the removed certificate is gone at once (cert lookup exit 3)" ||
  bad "A still finds it: $(one_line <<<"$out")"

# The database down: 451 at RCPT where encryption is required, inbound mail
# passes with harvesting skipped.
stop_pg
rc=$(encrypt_b)
[ "$rc" = 75 ] && grep -q '451 4.7.1' "$work/enc.log" &&
  ok "database down: 451 4.7.1 at RCPT" || bad "database down: exit $rc: $(one_line <"$work/enc.log")"
"$SMIMECTL" -c "$work/a.conf" process --inbound --rcpt bob@b.example --now "$NOW" "$work/signed.eml" \
  >"$work/down.eml" 2>"$work/down.log"
rc=$?
[ $rc = 0 ] && grep -q 'result=pass' "$work/down.log" && grep -q 'harvest=failed' "$work/down.log" &&
  ok "database down: inbound delivered, harvest skipped with a log field" ||
  bad "database down inbound: exit $rc: $(one_line <"$work/down.log")"
out=$("$SMIMECTL" -c "$work/a.conf" store check 2>&1)
[ $? = 75 ] && ok "database down: store check exit 75" || bad "store check while down: $(one_line <<<"$out")"
out=$("$SMIMECTL" -c "$work/a.conf" cert list 2>&1)
[ $? = 75 ] && grep -q 'postgresql: cannot connect' <<<"$out" && ok "database down: cert list exit 75" ||
  bad "cert list while down: $(one_line <<<"$out")"
restart_pg

# store copy: a single host's SQLite store moves to the shared one.
write_config "$work/s.conf" "state_dir = $work/s"
cat "$pki/carol.crt" "$pki/inter.crt" >"$work/carol-chain.pem"  # the intermediate is stored too
"$SMIMECTL" -c "$work/s.conf" cert add "$work/carol-chain.pem" >/dev/null 2>&1 || bad "cert add to SQLite"
out=$("$SMIMECTL" -c "$work/s.conf" store copy sqlite "$PG" 2>&1)
rc=$?
[ $rc = 0 ] && grep -q 'copied 1 certificates and 1 intermediates' <<<"$out" && ok "store copy sqlite -> postgresql" ||
  bad "store copy: exit $rc: $(one_line <<<"$out")"
out=$("$SMIMECTL" -c "$work/b.conf" cert list carol@b.example 2>&1)
grep -q '^carol@b.example  *admin' <<<"$out" && ok "B lists the copied admin certificate" ||
  bad "B cert list: $(one_line <<<"$out")"

# bench --store: the same lookups through both stores (numbers, not timed
# assertions: both must find carol every time).
out=$("$SMIMECTL" -c "$work/s.conf" bench --store sqlite --store "$PG" -n 20 --now "$NOW" \
  --rcpt carol@b.example 2>&1)
echo "$out"
[ "$(grep -c 'lookups, found=20 unavailable=0, .* lookups/s' <<<"$out")" = 2 ] &&
  ok "bench --store sqlite and postgresql" || bad "bench --store: $(one_line <<<"$out")"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
