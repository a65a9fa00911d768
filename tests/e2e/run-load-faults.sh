#!/usr/bin/env bash
# run-load-faults.sh: load with faults through a throwaway Postfix on
# 127.0.0.1 with the real smime-milter. SMIME_LOAD_COUNT messages (default
# 10,000, about 4 minutes on a 2-core machine; a multiple of 20, at least
# 400, e.g. 2,000 for a quick run) of eight kinds, round robin:
#   in-good   signed by good@r.example (revocation PKI, OCSP) -> dave@c.example
#   in-crl    signed by crlonly@r.example (CRL only)          -> dave@c.example
#   in-tamp   in-good with its signed body changed            -> dave@c.example
#   in-plain  unsigned                                        -> dave@c.example
#   in-enc    in-good to carol@b.example (encrypt = required, certificate
#             from LDAP only): encrypted although inbound
#   out-sign  alice@a.example, unsigned, outbound             -> dave@c.example
#   out-ldap  alice -> carol@b.example (LDAP certificate), signed + encrypted
#   out-store alice -> alice@a.example (encrypt = required, certificate added
#             with smimectl cert add), signed + encrypted
# revocation = hard against local OCSP and CRL servers (revsrv.py),
# ldap_cache_size = 0 so every lookup asks the local slapd, state_dir on a
# small tmpfs and spool_memory_limit = 1K so every body is spooled there
# (without permission to mount: made unwritable instead of full, below).
#
# How mail flows: a Python client submits to two relay smtpd services
# without milter (accepted at once, queued), whose content_filter hands the
# mail with Postfix's own smtp client to a service with the milter (one
# inbound, one ORIGINATING). Whatever the milter does not accept (a 4xx at
# RCPT or end of data, or no milter at all: milter_default_action =
# tempfail) stays deferred in the relay's queue and is retried
# (queue_run_delay and minimal_backoff_time 5 s).
#
# Faults, in 20 segments of COUNT/20 messages: the milter is SIGKILLed while
# a segment is being delivered and restarted (segments 3, 7, 13); the OCSP
# and CRL servers are stopped for segment 5; slapd for segment 9; state_dir
# is filled to the last byte for segment 11 (then freed). Segments 14..20
# run without faults in the milter's last lifetime.
#
# Asserted: every Message-ID delivered exactly once or still in the Postfix
# queue (none lost, none twice; the queue is waited for); every copy for
# carol@b.example and alice@a.example is enveloped-data with no line of the
# plaintext; each kind's verdicts are all in its allowed set (temperror for
# good signatures only, from the responder outage) and the expected one is
# among them; every out-sign copy is multipart/signed; the faults were
# really met (Postfix logged the dead milter; the milter logged RCPTs
# tempfailed while slapd was down, signatures without a revocation status,
# none of them pass, and spool writes failing in the full state_dir); no
# other internal error. The milter's RSS and open files, sampled idle
# (queue drained) after segment 15 (1,000 messages into its last lifetime
# at the default count) and after the last message, are flat:
# RSS_last <= RSS_first * 1.2 + 8 MB and fds_last <= fds_first + 4 (why:
# docs/SECURITY.md, "Load with faults").
# Needs root (mount, Postfix), Postfix, python3, openssl, slapd; skips (77)
# otherwise, fails under CI=true. KEEP_WORK=1 keeps the work folder.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
# cannot_run REASON: skip here, fail in CI (tests/skip.sh).
cannot_run() { skip_or_fail "$1"; }
[ "$(id -u)" = 0 ] || cannot_run "needs root to run Postfix and mount a tmpfs"
for t in postfix postqueue postcat python3 openssl; do
  command -v "$t" >/dev/null || cannot_run "$t not installed"
done
SLAPD=$(command -v slapd || command -v /usr/sbin/slapd || true)
SLAPADD=$(command -v slapadd || command -v /usr/sbin/slapadd || true)
[ -n "$SLAPD" ] && [ -n "$SLAPADD" ] || cannot_run "slapd not installed (Debian: slapd)"
COUNT=${SMIME_LOAD_COUNT:-10000}
[ "$COUNT" -ge 400 ] && [ $((COUNT % 20)) -eq 0 ] || { echo "SMIME_LOAD_COUNT: a multiple of 20, >= 400"; exit 2; }
SEG=$((COUNT / 20))
e2e_init keys policies msgs srv

state=$work/state
slapd_pid=
cleanup() {
  stop_all
  [ -n "$slapd_pid" ] && { kill "$slapd_pid" 2>/dev/null; wait "$slapd_pid" 2>/dev/null; }
  srv_stop_all
  mountpoint -q "$state" && umount "$state"
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# state_dir on its own 8 MB tmpfs, so that filling it touches nothing else.
# Where mounting is not allowed (a container without CAP_SYS_ADMIN), the
# fault becomes a state_dir the service user cannot write to (EACCES instead
# of ENOSPC on the same paths: spool file, caches); the log says which.
# SMIME_LOAD_STATE_FAULT=unwritable chooses that fallback here too.
if [ "${SMIME_LOAD_STATE_FAULT:-full}" = full ] && mount -t tmpfs -o size=8m,mode=0700 tmpfs "$state" 2>/dev/null; then
  state_fault=full
else
  state_fault=unwritable
  echo "info cannot mount a tmpfs here: state_dir will be made unwritable instead of full"
fi
chown nobody "$state"

# --- revocation PKI and its servers ---------------------------------------------
SRV_DIR=$work/srv
. "$top/tests/revocation/servers.sh"
read -r OCSP_PORT _ CRL_PORT DEAD_PORT SLOW_PORT BAD_PORT < <(free_ports 6)
rpki=$work/rpki
"$top/tests/revocation/gen-revocation-pki.sh" "$rpki" "$OCSP_PORT" "$CRL_PORT" "$DEAD_PORT" \
  "$SLOW_PORT" "$BAD_PORT" >/dev/null 2>&1 || { echo "ERROR: gen-revocation-pki.sh failed"; exit 99; }
responders_up() {
  srv_start crl static "$CRL_PORT" "$rpki/www" &&
    srv_start ocsp ocsp "$OCSP_PORT" "$rpki/ca/inter/index.txt" "$rpki/inter.crt" "$rpki/ocsp.crt" \
      "$rpki/ocsp.key"
}
responders_up || { echo "ERROR: revocation servers"; exit 99; }
cat "$pki/trust.pem" "$rpki/trust.pem" >"$work/trust.pem"

# --- slapd with carol's certificate ---------------------------------------------
d=$work/slapd
mkdir -p "$d/db"
MODULES=
for m in /usr/lib/ldap /usr/lib/*-linux-gnu/ldap /usr/lib/openldap; do
  [ -e "$m/back_mdb.so" ] && { MODULES=$m; break; }
done
openssl x509 -in "$pki/carol.crt" -outform DER -out "$d/carol.der"
{
  for s in core cosine inetorgperson; do echo "include /etc/ldap/schema/$s.schema"; done
  echo "pidfile $d/slapd.pid"
  [ -n "$MODULES" ] && printf 'modulepath %s\nmoduleload back_mdb\n' "$MODULES"
  printf 'database mdb\nsuffix "dc=test"\ndirectory %s\nmaxsize 16777216\naccess to * by * read\n' "$d/db"
} >"$d/slapd.conf"
{
  printf 'dn: dc=test\nobjectClass: dcObject\nobjectClass: organization\no: test\ndc: test\n\n'
  printf 'dn: uid=carol,dc=test\nobjectClass: inetOrgPerson\nuid: carol\ncn: carol\nsn: carol\n'
  printf 'mail: carol@b.example\nuserCertificate;binary:< file://%s\n\n' "$d/carol.der"
} >"$d/data.ldif"
"$SLAPADD" -f "$d/slapd.conf" -l "$d/data.ldif" >"$d/slapadd.log" 2>&1 ||
  { echo "ERROR: slapadd:"; cat "$d/slapadd.log"; exit 99; }
LDAP_PORT=$(free_port)
slapd_up() {
  "$SLAPD" -d 0 -f "$d/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" >>"$d/slapd.log" 2>&1 &
  slapd_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$LDAP_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "slapd did not start:"; tail -5 "$d/slapd.log"; return 1
}
slapd_down() { kill "$slapd_pid"; wait "$slapd_pid" 2>/dev/null; slapd_pid=; }
slapd_up || exit 99

# --- milter ---------------------------------------------------------------------
nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" >"$work/identities"
echo "encrypt = required" >"$work/policies/b.example.conf"
echo "encrypt = required" >"$work/policies/a.example.conf"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "state_dir = $state" "internal_hosts = 192.0.2.0/24" \
  "trust_anchors = $work/trust.pem" "revocation = hard" "revocation_timeout = 2" \
  "sign = clear" "signing_identities = $work/identities" "signing_relays = 127.0.0.1/32" \
  "policy_dir = $work/policies" "ldap_uri = ldap://127.0.0.1:$LDAP_PORT" "ldap_base = dc=test" \
  "ldap_cache_size = 0" "ldap_timeout = 2" "spool_memory_limit = 1K" \
  "revocation_breaker_cooldown = 5"
cat "$pki/alice.crt" "$pki/alice.chain.pem" >"$work/alice-add.pem"
"$SMIMECTL" -c "$work/milter.conf" cert add "$work/alice-add.pem" >"$work/cert-add.out" 2>&1 ||
  { echo "ERROR: smimectl cert add:"; cat "$work/cert-add.out"; exit 99; }
start_milter || exit 1

# --- Postfix: relays without milter -> smtp client -> services with the milter --
pf_setup "$work/pf" "$work/milter.sock" || exit 1
RELAY_IN=$(free_port) RELAY_OUT=$(free_port) HOP_IN=$(free_port) HOP_OUT=$(free_port)
printf 'alice@a.example a/alice/\ncarol@b.example b/carol/\ndave@c.example c/dave/\n' \
  >"$work/pf/etc/vmailbox"
postconf -c "$work/pf/etc" -e "virtual_mailbox_domains = a.example, b.example, c.example" \
  "smtp_connection_cache_on_demand = no" "maximal_queue_lifetime = 1d" "bounce_queue_lifetime = 1d"
cat >>"$work/pf/etc/master.cf" <<CF
127.0.0.1:$RELAY_IN inet n - n - - smtpd
  -o syslog_name=postfix/relayin
  -o smtpd_milters=
  -o content_filter=smtp:[127.0.0.1]:$HOP_IN
127.0.0.1:$RELAY_OUT inet n - n - - smtpd
  -o syslog_name=postfix/relayout
  -o smtpd_milters=
  -o content_filter=smtp:[127.0.0.1]:$HOP_OUT
127.0.0.1:$HOP_IN inet n - n - - smtpd
  -o syslog_name=postfix/hopin
127.0.0.1:$HOP_OUT inet n - n - - smtpd
  -o syslog_name=postfix/hopout
  -o milter_macro_daemon_name=ORIGINATING
CF
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

# --- message templates (the Message-ID is set per message by the sender) --------
sign=$top/tests/interop/sign-openssl.sh
for n in good crlonly; do
  sed -e "s/^From: .*/From: ${n^} <$n@r.example>/" -e 's/^Message-ID: .*/Message-ID: <x@x>/' \
    "$top/tests/golden/message.eml" >"$work/msgs/$n.plain"
  "$sign" "$rpki" "$n" "$work/msgs/$n.plain" >"$work/msgs/$n.eml" || { echo "ERROR: signing $n"; exit 99; }
done
sed 's/this message is signed/this message is forged/' "$work/msgs/good.eml" >"$work/msgs/tampered.eml"
cmp -s "$work/msgs/good.eml" "$work/msgs/tampered.eml" && { echo "ERROR: tampering changed nothing"; exit 99; }
sed -e 's/^From: .*/From: Alice <alice@a.example>/' -e 's/^Message-ID: .*/Message-ID: <x@x>/' \
  "$top/tests/golden/message.eml" >"$work/msgs/alice.plain"
secret_line=$(sed '1,/^\r*$/d' "$work/msgs/alice.plain" | grep -m1 '[a-z]' | tr -d '\r')
[ -n "$secret_line" ] || { echo "ERROR: no body line in the template"; exit 99; }

cat >"$work/send.py" <<'EOF'
# send.py WORKDIR FIRST COUNT RELAY_IN RELAY_OUT [SECONDS]: messages FIRST..FIRST+COUNT-1
# (spread over SECONDS when given),
# kind = number mod 8, Message-ID <load-N-KIND@load.test>. Retries a message
# whose submission failed (the relays have no milter, so that is rare).
import smtplib, sys, time
work, first, count, rin, rout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
pause = float(sys.argv[6]) / count if len(sys.argv) > 6 else 0
def t(name):
    return open(f"{work}/msgs/{name}", "rb").read()
KINDS = [  # name, template, relay, sender, recipient
    ("in-good", t("good.eml"), rin, "good@r.example", "dave@c.example"),
    ("in-crl", t("crlonly.eml"), rin, "crlonly@r.example", "dave@c.example"),
    ("in-tamp", t("tampered.eml"), rin, "good@r.example", "dave@c.example"),
    ("in-plain", t("good.plain"), rin, "good@r.example", "dave@c.example"),
    ("in-enc", t("good.eml"), rin, "good@r.example", "carol@b.example"),
    ("out-sign", t("alice.plain"), rout, "alice@a.example", "dave@c.example"),
    ("out-ldap", t("alice.plain"), rout, "alice@a.example", "carol@b.example"),
    ("out-store", t("alice.plain"), rout, "alice@a.example", "alice@a.example"),
]
conns = {}
def conn(port):
    if port not in conns:
        conns[port] = [smtplib.SMTP("127.0.0.1", int(port), timeout=60), 0]
    return conns[port]
for n in range(first, first + count):
    kind, tmpl, port, frm, rcpt = KINDS[n % len(KINDS)]
    msg = tmpl.replace(b"Message-ID: <x@x>", f"Message-ID: <load-{n}-{kind}@load.test>".encode())
    for attempt in range(20):
        try:
            c = conn(port)
            c[0].sendmail(frm, [rcpt], msg)
            c[1] += 1
            time.sleep(pause)
            if c[1] >= 200:
                c[0].quit(); del conns[port]
            break
        except (smtplib.SMTPException, OSError) as e:
            print(f"retry {n}: {e}", file=sys.stderr)
            conns.pop(port, None)
            time.sleep(0.5)
    else:
        sys.exit(f"could not submit message {n}")
for c in conns.values():
    c[0].quit()
EOF
sent=0
send_segment() {  # send_segment [SECONDS]: the next $SEG messages
  python3 "$work/send.py" "$work" "$sent" "$SEG" "$RELAY_IN" "$RELAY_OUT" "$@" 2>>"$work/send.err" ||
    bad "submission of messages $sent.. failed: $(tail -1 "$work/send.err")"
  sent=$((sent + SEG))
}
queued() { postqueue -c "$work/pf/etc" -p 2>/dev/null | grep -c '^[0-9A-F]' || true; }
# catch_up BEHIND SECONDS: waits until at most BEHIND messages are undelivered.
catch_up() {
  local i
  for ((i = 0; i < $2; i++)); do
    [ "$(pf_delivered)" -ge $((sent - $1)) ] && return 0
    [ $((i % 10)) = 9 ] && postqueue -c "$work/pf/etc" -f 2>/dev/null
    sleep 1
  done
  return 1
}
# kill_segment [ACTION]: the next segment, spread over 4 s; 1 s into it the
# milter is SIGKILLed (mail in flight), ACTION runs, and 2 s later (mail
# meeting no milter) it is started again.
kill_segment() {
  local sp
  send_segment 4 &
  sp=$!
  sleep 1
  kill -KILL "$MILTER_PID"
  wait "$MILTER_PID" 2>/dev/null
  MILTER_PID=
  "$@"
  sleep 2
  start_milter || { bad "milter did not restart"; exit 1; }
  wait "$sp"
  sent=$((sent + SEG))
}
# responders_down: the OCSP and CRL servers stopped and the milter's
# revocation caches emptied (the in-memory one went with the killed
# milter), so that the outage is really met.
responders_down() {
  srv_stop_all
  rm -rf "$state/ocsp" "$state/crl"
}
# sample LABEL: "RSS_KB FDS" of the running milter, queue drained; the
# fewest open files of five looks 0.5 s apart (a session Postfix is just
# closing is not a leak), and what they are, for the log.
sample() {
  local rss fds n kinds
  fds=100000
  for _ in 1 2 3 4 5; do
    n=$(find "/proc/$MILTER_PID/fd" -mindepth 1 | wc -l)
    [ "$n" -lt "$fds" ] && fds=$n
    sleep 0.5
  done
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$MILTER_PID/status")
  kinds=$(find "/proc/$MILTER_PID/fd" -mindepth 1 -exec readlink {} \; | sed 's/:.*//; s|^/.*|file|' |
    sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
  echo "info $1: pid $MILTER_PID after $sent messages: VmRSS $rss kB, $fds open files (${kinds%, })" >&2
  echo "$rss $fds"
}
fill_state() {  # fills state_dir's filesystem to the last block (as root)
  if [ "$state_fault" = unwritable ]; then
    chmod 0500 "$state"
    echo "info state_dir unwritable"
    return
  fi
  dd if=/dev/zero of="$state/fill" bs=64k 2>/dev/null || true
  head -c 100000 /dev/zero >>"$state/fill" 2>/dev/null || true
  df -k "$state" | tail -1 | awk '{print "info state_dir filled: " $4 " kB free"}'
}
free_state() { rm -f "$state/fill"; chmod 0700 "$state"; }

t0=$(date +%s)
for seg in $(seq 20); do
  case $seg in
    9) slapd_down; echo "info segment 9: slapd down" ;;
    11) fill_state ;;
  esac
  case $seg in
    3 | 7 | 13) kill_segment; echo "info segment $seg: milter SIGKILLed and restarted" ;;
    5) kill_segment responders_down; echo "info segment 5: milter SIGKILLed, OCSP and CRL servers down" ;;
    *) send_segment ;;
  esac
  case $seg in
    5) sleep 8; responders_up || bad "revocation servers did not restart" ;;
    9) sleep 8; slapd_up || bad "slapd did not restart" ;;
    11) sleep 8; free_state; echo "info segment 11: state_dir freed" ;;
  esac
  catch_up "$SEG" 300 || echo "info segment $seg: $(( sent - $(pf_delivered) )) undelivered after 300 s"
  # The first sample of the last lifetime (from segment 13): after segments
  # 14 and 15 (1,000 messages when COUNT is 10,000), idle.
  if [ "$seg" = 15 ]; then
    catch_up 0 300
    sleep 2
    read -r rss1 fds1 < <(sample "first sample")
  fi
done
catch_up 0 600 || true
sleep 2
read -r rss2 fds2 < <(sample "last sample")
echo "info $COUNT messages in $(($(date +%s) - t0)) s"

# --- one pass over the Maildirs ----------------------------------------------------
# report.tsv: per delivered file: mailbox (a, b, c), Message-ID, the first
# smime= of the first Authentication-Results (ours: mx.test), whether a line
# of the plaintext is anywhere in the file (1) or not (0), and the top-level
# Content-Type (unfolded, tabs made spaces).
find "$work/pf/mail" -path '*/new/*' -type f -print0 |
  xargs -0 awk -v base="$work/pf/mail/" -v secret="$secret_line" '
    function flush() {
      if (file != "") printf "%s\t%s\t%s\t%s\t%s\n", box, id, v, clear, ct
    }
    FNR == 1 {
      flush(); file = FILENAME; box = substr(FILENAME, length(base) + 1, 1)
      id = "-"; v = "-"; ct = "-"; clear = 0; inhead = 1; cur = ""; nar = 0
    }
    { sub(/\r$/, "") }
    index($0, secret) || index($0, "this message is signed") { clear = 1 }
    !inhead { next }
    /^$/ { inhead = 0; next }
    /^[ \t]/ {
      if (cur == "ar" && v == "-" && match($0, /smime=[a-z]+/)) v = substr($0, RSTART + 6, RLENGTH - 6)
      if (cur == "ct") { l = $0; gsub(/\t/, " ", l); ct = ct l }
      next
    }
    {
      cur = ""; h = tolower($0); sub(/:.*/, "", h)
      if (h == "message-id" && id == "-" && match($0, /<load-[^@]*/)) id = substr($0, RSTART + 1, RLENGTH - 1)
      else if (h == "authentication-results" && ++nar == 1 && $0 ~ /^Authentication-Results: mx\.test;/) {
        cur = "ar"; if (match($0, /smime=[a-z]+/)) v = substr($0, RSTART + 6, RLENGTH - 6)
      } else if (h == "content-type" && ct == "-") { cur = "ct"; ct = $0; sub(/^[^:]*:[ \t]*/, "", ct); gsub(/\t/, " ", ct) }
    }
    END { flush() }' >"$work/report.tsv"

# --- every Message-ID delivered exactly once, or still queued -------------------
cut -f2 "$work/report.tsv" | sort >"$work/delivered.ids"
: >"$work/queued.ids"
for qid in $(postqueue -c "$work/pf/etc" -p 2>/dev/null | awk '/^[0-9A-F]/ {sub(/[*!]$/, "", $1); print $1}'); do
  postcat -c "$work/pf/etc" -q "$qid" 2>/dev/null | tr -d '\r' |
    sed -n 's/^Message-ID: <\(load-[^@]*\)@.*/\1/p' | head -1 >>"$work/queued.ids"
done
seq 0 $((COUNT - 1)) | awk '{k = split("in-good in-crl in-tamp in-plain in-enc out-sign out-ldap out-store", n, " ");
  print "load-" $1 "-" n[$1 % k + 1]}' | sort >"$work/all.ids"
dups=$(uniq -d "$work/delivered.ids" | wc -l)
lost=$(sort -u "$work/delivered.ids" "$work/queued.ids" | comm -23 "$work/all.ids" - | wc -l)
stray=$(sort -u "$work/delivered.ids" | comm -13 "$work/all.ids" - | wc -l)
nq=$(grep -c . "$work/queued.ids" || true)
nd=$(sort -u "$work/delivered.ids" | wc -l)
if [ "$lost" -eq 0 ] && [ "$dups" -eq 0 ] && [ "$stray" -eq 0 ]; then
  ok "$COUNT messages: $nd delivered exactly once, $nq still queued, none lost"
else
  bad "$lost lost, $dups delivered twice, $stray files without a known Message-ID ($nd delivered, $nq queued)"
  sort -u "$work/delivered.ids" "$work/queued.ids" | comm -23 "$work/all.ids" - | head -5
fi
[ "$nq" -eq 0 ] || echo "info still queued: $(head -3 "$work/queued.ids" | tr '\n' ' ')"

# --- encrypt = required: never in clear ------------------------------------------
# Every file in the mailboxes of a.example and b.example (both required).
read -r enc clear_copies < <(awk -F'\t' '$1 == "a" || $1 == "b" {
    if ($5 ~ /^application\/pkcs7-mime/ && $4 == 0) e++; else c++ } END { print e + 0, c + 0 }' "$work/report.tsv")
want_enc=$(grep -Ec -- '-(in-enc|out-ldap|out-store)$' "$work/delivered.ids" || true)
if [ "$clear_copies" -eq 0 ] && [ "$enc" -eq "$want_enc" ] && [ "$enc" -gt 0 ]; then
  ok "encrypt = required: all $enc copies for carol and alice are enveloped-data, none in clear"
else
  bad "encrypt = required: $clear_copies copies in clear, $enc encrypted (want $want_enc)"
  awk -F'\t' '($1 == "a" || $1 == "b") && !($5 ~ /^application\/pkcs7-mime/ && $4 == 0)' "$work/report.tsv" | head -3
fi

# --- verdicts per kind --------------------------------------------------------------
# Each kind's verdicts, counted; every one must be in the kind's allowed set
# (temperror for good signatures only: revocation = hard while the OCSP and
# CRL servers were down), and the expected one must be there.
for k in in-good:pass:temperror in-crl:pass:temperror in-tamp:fail in-plain:none in-enc:pass:temperror; do
  IFS=: read -r kind want also <<<"$k"
  v=$(awk -F'\t' -v k="$kind" '$2 ~ ("-" k "$") { n[$3]++ } END { for (x in n) printf "%s=%d ", x, n[x] }' \
    "$work/report.tsv")
  others=$(tr ' ' '\n' <<<"$v" | grep . | grep -v "^$want=" | grep -v "^${also:-none-allowed}=" || true)
  if grep -q "$want=" <<<"$v" && [ -z "$others" ]; then
    ok "$kind: verdicts $v"
  else
    bad "$kind: expected smime=$want${also:+ (or $also)}, got: $v"
  fi
done
read -r signed_out n_out < <(awk -F'\t' '$2 ~ /-out-sign$/ { n++; if ($5 ~ /^multipart\/signed/) s++ }
  END { print s + 0, n + 0 }' "$work/report.tsv")
[ "$signed_out" -eq "$n_out" ] && [ "$n_out" -gt 0 ] && ok "out-sign: all $n_out delivered copies signed" ||
  bad "out-sign: $signed_out of $n_out signed"

# --- the faults were met ----------------------------------------------------------
n=$(grep -c "Milter service unix:$work/milter.sock\|milter unix:$work/milter.sock" "$work/pf/maillog" || true)
[ "$n" -gt 0 ] && ok "Postfix met the killed milter ($n log lines)" || bad "no milter kill hit Postfix"
grep -c 'status=deferred' "$work/pf/maillog" | awk '{print "info deferred deliveries in the maillog: " $1}'
n=$(grep -c 'rcpt: to=<carol@b.example>, .*cert=none, cert_why="ldap: .*action=tempfail' "$work/milter.log" || true)
[ "$n" -gt 0 ] && ok "slapd down: $n RCPTs for carol tempfailed (451), not sent in clear" ||
  bad "no LDAP failure in the milter log"
grep "Milter service unix:$work/milter.sock\|milter unix:$work/milter.sock" "$work/pf/maillog" |
  sed 's/.*milter.sock: //' | sort | uniq -c | sed 's/^/info Postfix and the dead milter: /'
# The spool error of a full (or unwritable) state_dir: not a bug of the
# filter, so an error line (not panic) with its reason and the reply:
# 452 4.3.1 for a full state_dir, 451 4.3.0 for an unwritable one.
spool_err='error: [0-9A-F]*: body: error="[^"]*No space left on device", reason=spool-full, action=tempfail, reply="452 4.3.1"'
[ "$state_fault" = unwritable ] &&
  spool_err='error: [0-9A-F]*: body: error=cannot create spool file in [^ ]*: Permission denied, reason=spool-failed, action=tempfail, reply=451 4.3.0'
n=$(grep -c "$spool_err" "$work/milter.log" || true)
[ "$n" -gt 0 ] && ok "state_dir $state_fault: $n messages tempfailed, logged as errors (${spool_err#*, reason=})" ||
  bad "no state_dir failure ($spool_err) in the milter log"
grep -oE 'revocation=[a-z-]+(, revocation_source=[a-z]+)?' "$work/milter.log" | sort | uniq -c | sed 's/^/info /'
down=$(grep -c ': verify: .*revocation=unavailable' "$work/milter.log" || true)
if [ "$down" -gt 0 ] && ! grep ': verify: .*revocation=unavailable' "$work/milter.log" | grep -q 'result=pass'; then
  ok "responders down: $down signatures without a revocation status, none of them pass (hard)"
else
  bad "responders down: $down signatures without a status, or one of them pass"
fi
# An internal error is logged at panic severity; none is expected (the
# full state_dir is an error line, above).
if grep -q 'panic:' "$work/milter.log"; then
  bad "unexpected internal errors: $(grep 'panic:' "$work/milter.log" | head -2)"
fi
grep -q 'AddressSanitizer\|runtime error:' "$work/milter.log" && bad "sanitizer report in the milter log"

# --- RSS and open files flat ------------------------------------------------------
limit=$((rss1 * 12 / 10 + 8192))
if [ "$rss2" -le "$limit" ]; then
  ok "RSS flat in the last lifetime: $rss1 kB -> $rss2 kB (limit $limit kB)"
else
  bad "RSS grew: $rss1 kB -> $rss2 kB (limit $limit kB)"
fi
if [ "$fds2" -le $((fds1 + 4)) ]; then
  ok "open files flat: $fds1 -> $fds2"
else
  bad "open files grew: $fds1 -> $fds2"
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
