#!/usr/bin/env bash
# run-mixed-protocols.sh: two MTAs that speak different milter protocol
# versions share ONE smime-milter socket under interleaved concurrent load,
# and every message gets the header form its own MTA expects.
#
# Why: with milter protocol 6 Postfix offers SMFIP_HDR_LEADSPC (header
# values keep their leading space, and the milter must supply it in the
# headers it adds); with `milter_protocol = 2` it does not (Postfix strips
# and adds the space itself). The negotiated flags must therefore belong to
# the milter connection, not to the process (src/milter/callbacks.cc): with
# process-wide flags a connection negotiated by one MTA flips them for the
# other's transactions in flight, and headers arrive with a missing space
# ("Authentication-Results:mx.test;") or a doubled one, and the Content-*
# headers moved into a signed entity change (docs/SECURITY.md, "Robustness").
#
# Two private Postfix instances on 127.0.0.1 (tests/e2e/postfix-lib.sh), one
# with milter_protocol = 6, one with milter_protocol = 2, and Debian's
# Sendmail 8.17 (tests/e2e/sendmail-lib.sh, relaying to smtp-sink), all
# with the same unix socket of one smime-milter (sign = clear, alice may
# sign from loopback on the ORIGINATING submission ports).
# A Python client sends MIX_COUNT messages (default 480, a multiple of 12),
# each in its own SMTP session (so that every message is a new milter
# connection and negotiation), from 8 threads, in turn to the three MTAs,
# of four kinds: inbound signed (pass), inbound tampered (fail), inbound
# signed with forged verdicts in our name (pass, forged ones removed, a
# foreign one kept), and outbound unsigned mail (signed by the milter).
# Asserted for every delivered message: delivered exactly once, by the
# instance it was sent to; every header field line has exactly one space
# after the colon (as every message sent does); inbound: exactly one
# Authentication-Results of ours, spelled `Authentication-Results: mx.test;`,
# with the kind's verdict; forged: only the foreign verdict left beside it;
# outbound: `Content-Type: multipart/signed;` at the top, the original
# `Content-Type: text/plain; charset=us-ascii` line inside the signed entity,
# and the signature verifies (`smimectl process`); no panic in the milter log.
# Needs root, Postfix, python3 and Sendmail's packages (skips otherwise; a
# failure in strict mode).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
e2e_require Postfix postfix python3 smtp-sink m4 cc unshare
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init out
COUNT=${MIX_COUNT:-480}
[ $((COUNT % 12)) -eq 0 ] || { echo "MIX_COUNT must be a multiple of 12"; exit 1; }

e2e_messages "$work/msgs"
nobody_keys alice
echo "alice@a.example $pki/alice.crt $work/keys/alice.key chain=$pki/alice.chain.pem" \
  >"$work/identities"
write_config "$work/milter.conf" "socket = unix:$work/milter.sock" "socket_mode = 0666" \
  "user = nobody" "internal_hosts = 192.0.2.0/24" "state_dir = $work/state" "sign = clear" \
  "signing_identities = $work/identities" "signing_relays = 127.0.0.1/32"

# pf_setup/pf_start work on one instance at a time: remember each one's variables.
pf_setup "$work/pf6" "$work/milter.sock" || exit 1
P6_BASE=$PF_BASE P6_PORT=$PF_PORT P6_SUBMIT=$PF_SUBMIT
pf_setup "$work/pf2" "$work/milter.sock" || exit 1
P2_BASE=$PF_BASE P2_PORT=$PF_PORT P2_SUBMIT=$PF_SUBMIT
postconf -c "$P2_BASE/etc" -e "milter_protocol = 2"
touch -d '-1 minute' "$P2_BASE"/etc/*
[ "$(postconf -c "$P2_BASE/etc" -h milter_protocol)" = 2 ] &&
  [ "$(postconf -c "$P6_BASE/etc" -h milter_protocol)" = 6 ] || { echo "milter_protocol not set"; exit 1; }

sm_setup "$work/sm" "$work/milter.sock"

P6_PID='' P2_PID=''
stop_all_mtas() {
  PF_PID=$P6_PID pf_stop
  PF_PID=$P2_PID pf_stop
  sm_stop
  stop_milter
}
trap 'stop_all_mtas; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
PF_BASE=$P6_BASE PF_PORT=$P6_PORT pf_start || exit 1
P6_PID=$PF_PID
PF_BASE=$P2_BASE PF_PORT=$P2_PORT pf_start || exit 1
P2_PID=$PF_PID
sm_start || exit 1

cat >"$work/send.py" <<'EOF'
# send.py MSGDIR COUNT P6_PORT P6_SUBMIT P2_PORT P2_SUBMIT SM_PORT SM_SUBMIT:
# COUNT messages, number n: MTA = "6", "2", "s" for n % 3, kind = (n // 3) % 4,
# Message-ID <mix-N-KIND-pINSTANCE@a.example>, each in its own SMTP session,
# from 8 threads. Prints one line per message that was not accepted.
import smtplib, sys, threading
d, count = sys.argv[1], int(sys.argv[2])
ports = {"6": (sys.argv[3], sys.argv[4]), "2": (sys.argv[5], sys.argv[6]),
         "s": (sys.argv[7], sys.argv[8])}
def t(name):
    return open(f"{d}/{name}", "rb").read()
KINDS = [("signed", t("signed.eml"), 0), ("tampered", t("tampered.eml"), 0),
         ("forged", t("forged.eml"), 0), ("outbound", t("outbound.eml"), 1)]
lock = threading.Lock()
todo = list(range(count))
failures = []
def worker():
    while True:
        with lock:
            if not todo:
                return
            n = todo.pop(0)
        inst = "62s"[n % 3]
        kind, tmpl, submit = KINDS[(n // 3) % 4]
        mid = f"mix-{n}-{kind}-p{inst}@a.example"
        # The templates are CRLF or LF; smtplib sends bytes as they are.
        msg = b"\r\n".join(
            (b"Message-ID: <" + mid.encode() + b">" if l.startswith(b"Message-ID:") else l)
            for l in tmpl.replace(b"\r\n", b"\n").split(b"\n"))
        try:
            with smtplib.SMTP("127.0.0.1", int(ports[inst][submit]), timeout=120) as s:
                s.sendmail("alice@a.example", ["carol@b.example"], msg)
        except (smtplib.SMTPException, OSError) as e:
            with lock:
                failures.append(f"{mid}: {e}")
threads = [threading.Thread(target=worker) for _ in range(8)]
for th in threads:
    th.start()
for th in threads:
    th.join()
for f in failures:
    print(f)
EOF
python3 "$work/send.py" "$work/msgs" "$COUNT" "$P6_PORT" "$P6_SUBMIT" "$P2_PORT" "$P2_SUBMIT" \
  "$SM_PORT" "$SM_SUBMIT" >"$work/out/send" 2>&1
if [ -s "$work/out/send" ]; then
  bad "$(wc -l <"$work/out/send") submissions not accepted: $(head -3 "$work/out/send")"
else
  ok "$COUNT messages accepted by the three MTAs (8 concurrent sessions, one message each)"
fi
third=$((COUNT / 3))
PF_BASE=$P6_BASE pf_wait_delivered "$third" 180 || true
PF_BASE=$P2_BASE pf_wait_delivered "$third" 180 || true
sm_wait_sent "$third" 180 || true

verdict_ok=0 form_bad=0 once_bad=0 sig_bad=0
declare -A seen
# Where each MTA delivered: the Postfix Maildirs, smtp-sink's files.
delivered_files() {
  case $1 in
    6) find "$P6_BASE/mail" -path '*/new/*' -type f ;;
    2) find "$P2_BASE/mail" -path '*/new/*' -type f ;;
    s) find "$SM_BASE/sink" -type f ;;
  esac
}
for inst in 6 2 s; do
  while IFS= read -r f; do
    hdr=$(sed '/^\r*$/q' "$f" | tr -d '\r')
    mid=$(printf '%s\n' "$hdr" | sed -n 's/^Message-ID: <\(mix-[^>]*\)>.*/\1/p')
    if [ -z "$mid" ]; then bad "p$inst: a delivery without a test Message-ID: $f"; continue; fi
    if [ -n "${seen[$mid]:-}" ]; then
      once_bad=$((once_bad + 1)); echo "twice: $mid"
    fi
    seen[$mid]=1
    kind=$(echo "$mid" | cut -d- -f3)
    [ "$(echo "$mid" | cut -d- -f4 | cut -d@ -f1)" = "p$inst" ] ||
      { once_bad=$((once_bad + 1)); echo "wrong instance: $mid in p$inst"; }
    problems=""
    # Every header field line: exactly one space after the colon.
    lines=$(printf '%s\n' "$hdr" | grep -v '^[[:blank:]]' | grep -v '^$' | grep -Ev '^[^:]+: [^[:blank:]]' || true)
    [ -z "$lines" ] || problems+=" spacing:[$lines]"
    ours=$(printf '%s\n' "$hdr" | grep -ciE '^Authentication-Results:[[:blank:]]*mx\.test[[:blank:]]*;' || true)
    case $kind in
      signed|tampered|forged)
        want=pass; [ "$kind" = tampered ] && want=fail
        [ "$ours" = 1 ] || problems+=" ours=$ours"
        printf '%s\n' "$hdr" | grep -A1 '^Authentication-Results: mx\.test;' | grep -q "smime=$want" ||
          problems+=" no-smime=$want"
        others=$(printf '%s\n' "$hdr" | grep -ci '^Authentication-Results:' || true)
        if [ "$kind" = forged ]; then
          [ "$others" = 2 ] && printf '%s\n' "$hdr" |
            grep -q '^Authentication-Results: other.example; dkim=pass$' || problems+=" forged-left=$others"
        else
          [ "$others" = 1 ] || problems+=" ar-count=$others"
        fi ;;
      outbound)
        [ "$ours" = 0 ] || problems+=" ours-on-outbound=$ours"
        printf '%s\n' "$hdr" | grep -q '^Content-Type: multipart/signed;' || problems+=" no-multipart-signed"
        [ "$(printf '%s\n' "$hdr" | grep -ci '^Content-Type:')" = 1 ] || problems+=" content-type-count"
        [ "$(printf '%s\n' "$hdr" | grep -ci '^MIME-Version:')" = 1 ] || problems+=" mime-version-count"
        [ "$(sed '1,/^\r*$/d' "$f" | tr -d '\r' | grep -c '^Content-Type: text/plain; charset=us-ascii$')" = 1 ] ||
          problems+=" inner-entity:[$(sed '1,/^\r*$/d' "$f" | grep -i '^Content-Type' | head -2 | tr -d '\r')]"
        v=$("$SMIMECTL" -c "$work/milter.conf" process --inbound --report "$f" 2>/dev/null |
          sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
        [ "$v" = pass ] || { sig_bad=$((sig_bad + 1)); problems+=" signature=$v"; } ;;
      *) problems+=" unknown-kind" ;;
    esac
    if [ -z "$problems" ]; then
      verdict_ok=$((verdict_ok + 1))
    else
      form_bad=$((form_bad + 1))
      [ "$form_bad" -le 10 ] && echo "wrong: p$inst $mid:$problems"
    fi
  done < <(delivered_files "$inst")
done
delivered=${#seen[@]}
if [ "$delivered" -eq "$COUNT" ] && [ "$once_bad" -eq 0 ]; then
  ok "all $COUNT messages delivered exactly once, each by the MTA it was sent to"
else
  bad "$delivered of $COUNT distinct messages delivered, $once_bad twice or by the wrong MTA"
  postqueue -c "$P2_BASE/etc" -p | tail -3; postqueue -c "$P6_BASE/etc" -p | tail -3
fi
if [ "$form_bad" -eq 0 ] && [ "$verdict_ok" -eq "$COUNT" ]; then
  ok "$verdict_ok deliveries: one leading space in every header (Postfix protocol 2 and 6, Sendmail), right verdicts, forged ones removed, outbound signed and verifying"
else
  bad "$form_bad of $delivered deliveries with a wrong header form, verdict or signature ($sig_bad signatures not pass)"
fi
grep -q 'panic:' "$work/milter.log" && bad "panic in milter log: $(grep -m1 'panic:' "$work/milter.log")"
n_verify=$(grep -c ': verify: ' "$work/milter.log" || true)
[ "$n_verify" -eq $((COUNT * 3 / 4)) ] && ok "one verify log line per inbound message ($n_verify)" ||
  bad "verify log lines: $n_verify, want $((COUNT * 3 / 4))"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
