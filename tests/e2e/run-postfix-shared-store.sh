#!/usr/bin/env bash
# run-postfix-shared-store.sh: two hosts share one certificate store on
# PostgreSQL (certificate_store = postgresql:..., docs/scaling.md) through
# real Postfix. A private PostgreSQL (tests/pg/pg-lib.sh) and two throwaway
# Postfix instances, each with its own smime-milter (own state_dir, both
# running as nobody, one database):
# - host A (the MX): alice's signed message to carol@b.example is verified
#   (pass) and her certificate harvested into the shared store;
# - host B (submission, a.example has encrypt = required): before that,
#   RCPT alice@a.example gets 550 5.7.1 (no certificate); after it, the
#   message is accepted and delivered encrypted (application/pkcs7-mime,
#   `openssl cms -decrypt` with alice's key gives the body back);
# - `smimectl cert remove` run against host A's configuration: host B's
#   next RCPT gets 550 5.7.1 at once;
# - the database stopped mid-traffic: host B answers 451 4.7.1 (the sender
#   retries), host A still delivers the signed message, logging
#   harvest=failed; started again, host A harvests and host B encrypts
#   again. Every accepted message is delivered (nothing lost).
# Needs root, Postfix, swaks and the PostgreSQL server packages (skips
# otherwise; strict mode fails; CI has them).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
# shellcheck source=../pg/pg-lib.sh
. "$(dirname "$0")/../pg/pg-lib.sh"
e2e_require Postfix postfix swaks openssl perl
e2e_init policies out msgs statea stateb
chown nobody "$work/statea" "$work/stateb"
start_pg
PG="postgresql:$PG_CONNINFO"
echo "encrypt = required" >"$work/policies/a.example.conf"
for h in a b; do
  write_config "$work/$h.conf" "socket = unix:$work/$h.sock" "socket_mode = 0666" \
    "user = nobody" "state_dir = $work/state$h" "policy_dir = $work/policies" \
    "certificate_store = $PG" "rcpt_deadline = 5" "internal_hosts = 192.0.2.0/24"
done
"$SMIMECTL" -c "$work/a.conf" store init >"$work/out/init" 2>&1 && ok "store init" ||
  bad "store init: $(cat "$work/out/init")"

# internal_hosts without loopback: swaks on 127.0.0.1 is the Internet on
# the MX port; the submission port (ORIGINATING) is outbound.
# Host A delivers b.example (carol); host B also a.example (alice), so that
# what it encrypts can be read back.
pf_setup "$work/pfa" "$work/a.sock" || exit 1
PFA_BASE=$PF_BASE PFA_PORT=$PF_PORT
pf_setup "$work/pfb" "$work/b.sock" || exit 1
PFB_BASE=$PF_BASE PFB_PORT=$PF_PORT PFB_SUBMIT=$PF_SUBMIT
printf 'carol@b.example carol/\nalice@a.example alice/\n' >"$PFB_BASE/etc/vmailbox"
postconf -c "$PFB_BASE/etc" -e "virtual_mailbox_domains = b.example, a.example"
touch -d '-1 minute' "$PFB_BASE"/etc/*

PFA_PID= PFB_PID= A_PID= B_PID=
start_host_milter() {  # start_host_milter a|b: sets A_PID / B_PID
  "$MILTER" -c "$work/$1.conf" -f -e >/dev/null 2>>"$work/$1.log" &
  eval "$(echo "$1" | tr a-z A-Z)_PID=$!"
  for _ in $(seq 50); do [ -S "$work/$1.sock" ] && return 0; sleep 0.1; done
  echo "milter $1 did not start"; cat "$work/$1.log"; exit 1
}
stop_hosts() {
  PF_PID=$PFA_PID pf_stop
  PF_PID=$PFB_PID pf_stop
  for p in $A_PID $B_PID; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  stop_pg
}
trap 'stop_hosts; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_host_milter a
start_host_milter b
PF_BASE=$PFA_BASE PF_PORT=$PFA_PORT pf_start || exit 1
PFA_PID=$PF_PID
PF_BASE=$PFB_BASE PF_PORT=$PFB_PORT pf_start || exit 1
PFB_PID=$PF_PID

delivered() { find "$1/mail" -path '*/new/*' -type f 2>/dev/null | wc -l; }
wait_delivered() {  # wait_delivered BASE N
  for _ in $(seq 600); do [ "$(delivered "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}
# swaks_to PORT FROM RCPT FILE NAME: the SMTP dialogue in out/NAME.swaks
swaks_to() {
  perl -0777 -pe 's/\r?\n\z//' "$4" >"$4.swaks"
  swaks --server "127.0.0.1:$1" --from "$2" --to "$3" --data "@$4.swaks" >"$work/out/$5.swaks" 2>&1
}
accepted() { grep -Eq '^ *<- *250 .*queued as' "$work/out/$1.swaks"; }
refused_with() { grep -Eq "^ *<\*\* *$2" "$work/out/$1.swaks"; }
last_reply() { grep -E '^ *<(-|\*\*|~\*) ' "$work/out/$1.swaks" | tail -1; }

# alice's signed message (openssl), and bob's message to alice.
sed -e 's/^From: .*/From: Alice <alice@a.example>/' -e 's/^To: .*/To: Carol <carol@b.example>/' \
  -e 's/^Message-ID: .*/Message-ID: <signed1@a.example>/' "$top/tests/golden/message.eml" >"$work/msgs/plain.eml"
"$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/msgs/plain.eml" >"$work/msgs/signed.eml" ||
  { echo "FAIL cannot sign"; exit 1; }
mkbob() {  # mkbob NAME
  printf 'From: Bob <bob@b.example>\nTo: Alice <alice@a.example>\nSubject: shared store\nDate: Mon, 07 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@b.example>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nSecret note %s for alice.\n' \
    "$1" "$1" >"$work/msgs/$1.eml"
}

mkbob before
swaks_to "$PFB_SUBMIT" bob@b.example alice@a.example "$work/msgs/before.eml" before
refused_with before '550 5\.7\.1' && ok "B before any harvest: RCPT alice 550 5.7.1" ||
  bad "B before the harvest: $(last_reply before)"

swaks_to "$PFA_PORT" alice@a.example carol@b.example "$work/msgs/signed.eml" signed1
accepted signed1 && wait_delivered "$PFA_BASE" 1 && ok "A: alice's signed message delivered" ||
  bad "A: signed message: $(last_reply signed1)"
grep -q 'result=pass' "$work/a.log" && ! grep -q 'harvest=failed' "$work/a.log" &&
  ok "A: verified (pass) and harvested" || bad "A: $(grep -E 'verify|harvest' "$work/a.log" | tail -2)"

mkbob after
swaks_to "$PFB_SUBMIT" bob@b.example alice@a.example "$work/msgs/after.eml" after
if accepted after && wait_delivered "$PFB_BASE" 1; then
  f=$(find "$PFB_BASE/mail/alice" -path '*/new/*' -type f | head -1)
  if grep -qi '^Content-Type: application/pkcs7-mime' "$f" && ! grep -q 'Secret note' "$f" &&
    openssl cms -decrypt -in "$f" -recip "$pki/alice.crt" -inkey "$pki/alice.key" 2>/dev/null |
    grep -q 'Secret note after'; then
    ok "B encrypts to the certificate harvested on A (alice decrypts it)"
  else
    bad "B's delivery is not encrypted to alice: $(head -c 300 "$f")"
  fi
else
  bad "B after the harvest: $(last_reply after)"
fi

"$SMIMECTL" -c "$work/a.conf" cert remove alice@a.example >"$work/out/remove" 2>&1 &&
  grep -q 'removed 1' "$work/out/remove" && ok "cert remove alice on A" ||
  bad "cert remove: $(cat "$work/out/remove")"
mkbob removed
swaks_to "$PFB_SUBMIT" bob@b.example alice@a.example "$work/msgs/removed.eml" removed
refused_with removed '550 5\.7\.1' && ok "B at once after the removal on A: 550 5.7.1" ||
  bad "B after the removal: $(last_reply removed)"

# The database stopped mid-traffic.
stop_pg
mkbob down
swaks_to "$PFB_SUBMIT" bob@b.example alice@a.example "$work/msgs/down.eml" down
refused_with down '451 4\.7\.1' && ok "database down: B answers 451 4.7.1 (sender retries)" ||
  bad "database down, B: $(last_reply down)"
sed 's/^Message-ID: .*/Message-ID: <signed2@a.example>\r/' "$work/msgs/signed.eml" >"$work/msgs/signed2.eml"
swaks_to "$PFA_PORT" alice@a.example carol@b.example "$work/msgs/signed2.eml" signed2
accepted signed2 && wait_delivered "$PFA_BASE" 2 && ok "database down: A still delivers signed mail" ||
  bad "database down, A: $(last_reply signed2)"
grep -q 'harvest=failed' "$work/a.log" &&
  ok "database down: A logs harvest=failed" || bad "no harvest=failed in A's log"

restart_pg
# The milters back off (1 s, doubling) after failed attempts: retry until
# the harvest succeeds (bounded; no timing asserted).
sed 's/^Message-ID: .*/Message-ID: <signed3@a.example>\r/' "$work/msgs/signed.eml" >"$work/msgs/signed3.eml"
n=2
for i in $(seq 10); do
  before=$(grep -c 'harvest=failed' "$work/a.log")
  swaks_to "$PFA_PORT" alice@a.example carol@b.example "$work/msgs/signed3.eml" "signed3-$i"
  n=$((n + 1))
  wait_delivered "$PFA_BASE" "$n" || break
  [ "$(grep -c 'harvest=failed' "$work/a.log")" = "$before" ] && break
  sleep 2
done
[ "$(pg_sql "SELECT count(*) FROM certificates WHERE address = 'alice@a.example'")" = 1 ] &&
  ok "database back: A harvests again" || bad "database back: nothing harvested"
for i in $(seq 10); do
  mkbob "back$i"
  swaks_to "$PFB_SUBMIT" bob@b.example alice@a.example "$work/msgs/back$i.eml" "back$i"
  accepted "back$i" && break
  sleep 2
done
accepted "back$i" && wait_delivered "$PFB_BASE" 2 && ok "database back: B encrypts again" ||
  bad "database back, B: $(last_reply "back$i")"
[ "$(delivered "$PFA_BASE")" = "$n" ] && ok "every accepted message delivered on A ($n)" ||
  bad "A delivered $(delivered "$PFA_BASE") of $n"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
