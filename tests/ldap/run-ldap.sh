#!/usr/bin/env bash
# run-ldap.sh: LDAP recipient certificates (certdir/ldap_source) against a
# real OpenLDAP slapd on 127.0.0.1.
#
# Starts a private slapd (slapd.conf under $work, mdb backend, schemas core,
# cosine, inetorgperson, a free port, StartTLS with a throw-away server
# certificate) loaded with slapadd from the test PKI (make_pki): alice (one
# userCertificate;binary), bob (two, plus a userSMIMECertificate PKCS#7 that
# repeats bob and carries the intermediate CA), ed (userSMIMECertificate
# only), mal (garbage in userCertificate;binary and userSMIMECertificate
# beside a good certificate), carol (under ou=staff, readable only after a
# bind). The driver tests/ldap/ldap_lookup builds LdapSource from a config
# file via LdapOptionsFromConfig and prints the candidates. Cases: found,
# not found, several certificates, PKCS#7, malformed values skipped, 8
# threads sharing one source (connection pool, cache off), filter injection, bind (good and wrong password, private password file), StartTLS
# (trusted and untrusted server certificate), bad base, URI failover,
# connection refused (fast), a SIGSTOPped slapd (each lookup within the
# deadline, then the breaker answers at once), cache (slapd stopped after a
# lookup: cached answers still come back, others fail fast), reconnect after
# a slapd restart. Skips (77) only without slapd/slapadd (Debian: slapd;
# contrib/install-deps.sh installs it). Runtime: about 10 s.
# LDAP_KEEP=1 keeps the work folder (printed) for debugging.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
DRIVER=${LDAP_LOOKUP:-$build/tests/ldap/ldap_lookup}
SLAPD=$(command -v slapd || command -v /usr/sbin/slapd || true)
SLAPADD=$(command -v slapadd || command -v /usr/sbin/slapadd || true)
[ -n "$SLAPD" ] && [ -n "$SLAPADD" ] || skip_or_fail "slapd not installed (Debian: slapd)"
[ -x "$DRIVER" ] || { echo "ERROR: $DRIVER not built (make check builds it)"; exit 99; }
MODULES=
for d in /usr/lib/ldap /usr/lib/*-linux-gnu/ldap /usr/lib/openldap; do
  [ -e "$d/back_mdb.so" ] && { MODULES=$d; break; }
done
SCHEMA=/etc/ldap/schema
[ -r "$SCHEMA/inetorgperson.schema" ] || { echo "ERROR: $SCHEMA/inetorgperson.schema missing"; exit 99; }
make_pki

slapd_pid=
stop_slapd() {
  [ -n "$slapd_pid" ] || return 0
  kill -CONT "$slapd_pid" 2>/dev/null
  kill "$slapd_pid" 2>/dev/null
  wait "$slapd_pid" 2>/dev/null
  slapd_pid=
}
cleanup() {
  stop_slapd
  if [ "${LDAP_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the directory -------------------------------------------------------------
d=$work/slapd
mkdir -p "$d/db"
der() { openssl x509 -in "$pki/$1.crt" -outform DER -out "$d/$1.der"; }
for n in alice bob weak ed noeku carol; do der "$n"; done
openssl crl2pkcs7 -nocrl -certfile "$pki/bob.crt" -certfile "$pki/inter.crt" -outform DER \
  -out "$d/bob.p7"
openssl crl2pkcs7 -nocrl -certfile "$pki/ed.crt" -certfile "$pki/inter.crt" -outform DER \
  -out "$d/ed.p7"
printf 'not a certificate' >"$d/garbage"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.crt" \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null ||
  { echo "ERROR: cannot make the slapd server certificate"; exit 99; }
{
  for s in core cosine inetorgperson; do echo "include $SCHEMA/$s.schema"; done
  echo "pidfile $d/slapd.pid"
  echo "argsfile $d/slapd.args"
  [ -n "$MODULES" ] && printf 'modulepath %s\nmoduleload back_mdb\n' "$MODULES"
  echo "TLSCertificateFile $d/server.crt"
  echo "TLSCertificateKeyFile $d/server.key"
  cat <<EOF
database mdb
suffix "dc=test"
rootdn "cn=admin,dc=test"
directory $d/db
maxsize 16777216
access to attrs=userPassword by anonymous auth by * none
access to dn.subtree="ou=staff,dc=test" by users read by * none
access to * by * read
EOF
} >"$d/slapd.conf"
person() {  # person DN MAIL ATTR:FILE...
  local dn=$1 mail=$2 uid
  shift 2
  uid=${dn%%,*}
  uid=${uid#uid=}
  printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n' \
    "$dn" "$uid" "$uid" "$uid" "$mail"
  for v in "$@"; do printf '%s:< file://%s\n' "${v%%:*}" "$d/${v#*:}"; done
  echo
}
{
  printf 'dn: dc=test\nobjectClass: dcObject\nobjectClass: organization\no: test\ndc: test\n\n'
  printf 'dn: ou=people,dc=test\nobjectClass: organizationalUnit\nou: people\n\n'
  printf 'dn: ou=staff,dc=test\nobjectClass: organizationalUnit\nou: staff\n\n'
  printf 'dn: cn=milter,dc=test\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n'
  printf 'cn: milter\nuserPassword: milter-secret\n\n'
  person uid=alice,ou=people,dc=test alice@a.example "userCertificate;binary:alice.der"
  person uid=bob,ou=people,dc=test bob@a.example "userCertificate;binary:bob.der" \
    "userCertificate;binary:weak.der" "userSMIMECertificate:bob.p7"
  person uid=ed,ou=people,dc=test ed@a.example "userSMIMECertificate:ed.p7"
  person uid=mal,ou=people,dc=test mal@a.example "userCertificate;binary:garbage" \
    "userCertificate;binary:noeku.der" "userSMIMECertificate:garbage"
  person uid=nocert,ou=people,dc=test nocert@a.example
  person uid=carol,ou=staff,dc=test carol@b.example "userCertificate;binary:carol.der"
} >"$d/data.ldif"
# libldap's client settings: not the system's /etc/ldap/ldap.conf (TLS CAs
# come from LDAPTLS_CACERT where a case wants them).
: >"$d/ldap.conf"
export LDAPCONF=$d/ldap.conf
unset LDAPTLS_CACERT LDAPTLS_CACERTDIR LDAPTLS_REQCERT
"$SLAPADD" -f "$d/slapd.conf" -l "$d/data.ldif" >"$d/slapadd.log" 2>&1 ||
  { echo "ERROR: slapadd failed:"; cat "$d/slapadd.log"; exit 99; }

PORT=
start_slapd() {  # start_slapd [PORT]: foreground slapd (-d 0) in the background
  local try port
  for try in 1 2 3 4 5; do
    port=${1:-$(free_port)}
    "$SLAPD" -d 0 -f "$d/slapd.conf" -h "ldap://127.0.0.1:$port/" >>"$d/slapd.log" 2>&1 &
    slapd_pid=$!
    for _ in $(seq 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        PORT=$port
        return 0
      fi
      kill -0 "$slapd_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_slapd
    [ -n "${1:-}" ] && sleep 1  # a fixed port may still be in TIME_WAIT use: retry it
  done
  return 1
}
start_slapd || { echo "ERROR: slapd did not start:"; tail -20 "$d/slapd.log"; exit 99; }

# --- helpers ----------------------------------------------------------------------
conf() {  # conf FILE [LINE...]: an LDAP config for this slapd; a LINE replaces a default
  local f=$1 line defaults=()
  shift
  for line in "ldap_uri = ldap://127.0.0.1:$PORT" "ldap_base = dc=test"; do
    printf '%s\n' "$@" | grep -q "^${line%% =*} =" || defaults+=("$line")
  done
  write_config "$f" "${defaults[@]}" "$@"
}
out=$work/out
look() {  # look CONF ITEM...: runs the driver, output in $out, returns its exit status
  "$DRIVER" "$@" >"$out" 2>&1
}
# expect LABEL PATTERN: a line of $out matches the extended regular expression
expect() {
  if grep -Eq -- "$2" "$out"; then ok "$1"; else bad "$1: no line matching '$2' in:"; sed 's/^/    /' "$out"; fi
}
expect_not() {
  if ! grep -Eq -- "$2" "$out"; then ok "$1"; else bad "$1: unexpected '$2' in:"; sed 's/^/    /' "$out"; fi
}
# ms_of ADDRESS [N]: the elapsed ms of the Nth lookup of ADDRESS in $out
ms_of() {
  grep -F "lookup $1: " "$out" | sed -n "${2:-1}s/.* ms=\([0-9]*\)\$/\1/p"
}
within() {  # within LABEL MS LIMIT
  if [ -n "$2" ] && [ "$2" -le "$3" ]; then ok "$1 (${2} ms <= $3)"; else bad "$1: ${2:-?} ms > $3"; sed 's/^/    /' "$out"; fi
}

# --- found, not found, several, PKCS#7, malformed -------------------------------------
conf "$work/plain.conf"
look "$work/plain.conf" alice@a.example ALICE@A.EXAMPLE nobody@a.example nocert@a.example \
  bob@a.example ed@a.example mal@a.example carol@b.example
rc=$?
[ "$rc" = 0 ] && ok "driver exit 0 when every lookup answers" || bad "driver exit $rc"
expect "found: alice, one certificate" '^lookup alice@a\.example: ok 1 ms='
expect "found: candidate fields" \
  '^  cert serial=1001 subject=CN=Alice,O=smime-milter tests trust=directory source=ldap origin=ldap: uid=alice,ou=people,dc=test$'
expect "found: address compared case-insensitively (and cached)" '^lookup ALICE@A\.EXAMPLE: ok 1 cached'
expect "not found: no entry" '^lookup nobody@a\.example: ok 0 ms='
expect "not found: entry without certificates" '^lookup nocert@a\.example: ok 0 ms='
expect "several: bob has two certificates (PKCS#7 copy deduplicated, CA left out)" \
  '^lookup bob@a\.example: ok 2 ms='
if [ "$(grep -A3 '^lookup bob@' "$out" | grep -c 'serial=100[2A] .*origin=ldap: uid=bob,')" = 2 ]; then
  ok "several: bob's certificates are 1002 and 100A"
else bad "several: bob's serials"; sed 's/^/    /' "$out"; fi
expect "userSMIMECertificate: ed's certificate from PKCS#7" '^  cert serial=1003 .*origin=ldap: uid=ed,'
expect_not "userSMIMECertificate: CA certificates are not candidates" 'serial=02 '
expect "malformed: good certificate still returned" '^lookup mal@a\.example: ok 1 ms='
expect "malformed: noeku certificate is the one" '^  cert serial=1006 .*uid=mal,'
expect "malformed: userCertificate;binary value skipped, with a reason" \
  '^  note uid=mal,ou=people,dc=test: userCertificate;binary: value 1 skipped: neither a DER certificate nor PKCS#7/CMS$'
expect "malformed: userSMIMECertificate value skipped" '^  note uid=mal,.*: userSMIMECertificate: value 1 skipped'
expect "anonymous: ou=staff not readable" '^lookup carol@b\.example: ok 0 ms='
expect "stats: malformed counter" '^stats .* malformed=2$'

# --- the same directory through the engine (smimectl cert lookup) ---------------------
# LDAP entries carry no chain: the intermediate comes from the store's chain
# hints (smimectl cert add of a CA file), the anchor from trust_anchors.
conf "$work/engine.conf" "certificate_sources = ldap"
"$SMIMECTL" -c "$work/engine.conf" cert lookup alice@a.example --now "$NOW" >"$out" 2>&1
expect "engine: without the intermediate the LDAP certificate does not chain" \
  '^rejected: ldap serial 1001: chain: unable to get local issuer certificate'
"$SMIMECTL" -c "$work/engine.conf" cert add "$pki/inter.crt" >"$out" 2>&1
expect "engine: a CA file is stored as chain hints" 'as chain hints'
"$SMIMECTL" -c "$work/engine.conf" cert lookup alice@a.example --now "$NOW" >"$out" 2>&1
expect "engine: smimectl cert lookup finds alice in LDAP" \
  '^certificate: ldap serial 1001, .*trust directory \(ldap: uid=alice,ou=people,dc=test\)'
"$SMIMECTL" -c "$work/engine.conf" cert lookup nobody@a.example --now "$NOW" >"$out" 2>&1
[ $? = 3 ] && ok "engine: not in LDAP: exit 3" || bad "engine: nobody@a.example found?"

# --- many threads, one source (the milter's case), no cache: the pool at work -------------
conf "$work/threads.conf" "ldap_cache_size = 0"
look "$work/threads.conf" @parallel:8 bob@a.example @parallel:4 nobody@a.example alice@a.example
expect "threads: 8 threads x 10 lookups all answered" \
  '^parallel 8 bob@a\.example: ok=80 errors=0 certificates=160$'
expect "threads: negative answers too" '^parallel 4 nobody@a\.example: ok=40 errors=0 certificates=0$'
expect "threads: the source still works afterwards" '^lookup alice@a\.example: ok 1 ms='
expect "threads: every lookup went to the directory" '^stats searches=121 '

# --- filter injection ---------------------------------------------------------------------
conf "$work/inject.conf" "ldap_filter = (|(mail=%s)(uid=nobody))"
look "$work/inject.conf" '*' '*)(uid=*' 'alice*' '*)(mail=alice@a.example' 'alice@a.example'
expect "injection: '*' matches nothing" '^lookup \*: ok 0 ms='
expect "injection: '*)(uid=*' matches nothing" '^lookup \*\)\(uid=\*: ok 0 ms='
expect "injection: 'alice*' matches nothing" '^lookup alice\*: ok 0 ms='
expect "injection: '*)(mail=alice@a.example' matches nothing" '^lookup \*\)\(mail=alice@a\.example: ok 0 ms='
expect "injection: template with two %s still finds alice" '^lookup alice@a\.example: ok 1 ms='

# --- bind ------------------------------------------------------------------------------------
printf 'milter-secret\n' >"$work/bind.pw"
chmod 600 "$work/bind.pw"
conf "$work/bind.conf" "ldap_bind_dn = cn=milter,dc=test" "ldap_bind_password_file = $work/bind.pw"
look "$work/bind.conf" carol@b.example alice@a.example
expect "bind: ou=staff readable after bind" '^  cert serial=100D .*origin=ldap: uid=carol,ou=staff,dc=test$'
expect "bind: others still found" '^lookup alice@a\.example: ok 1 ms='
printf 'wrong\n' >"$work/wrong.pw"
chmod 600 "$work/wrong.pw"
conf "$work/wrong.conf" "ldap_bind_dn = cn=milter,dc=test" "ldap_bind_password_file = $work/wrong.pw"
look "$work/wrong.conf" carol@b.example
rc=$?
[ "$rc" = 1 ] && ok "bind: wrong password: driver exit 1" || bad "bind: wrong password: exit $rc"
expect "bind: wrong password is an error naming the DN" \
  '^lookup carol@b\.example: error ldap: ldap://127\.0\.0\.1:[0-9]+: bind as cn=milter,dc=test: Invalid credentials'
chmod 644 "$work/wrong.pw"
look "$work/wrong.conf" carol@b.example
rc=$?
[ "$rc" = 78 ] && ok "bind: readable password file refused (exit 78)" || bad "bind: open password file: exit $rc"
expect "bind: refusal names the parameter's line" \
  "^config error: $work/wrong.conf:[0-9]+: ldap_bind_password_file: refusing $work/wrong.pw"

# --- StartTLS ----------------------------------------------------------------------------------
conf "$work/tls.conf" "ldap_starttls = yes"
LDAPTLS_CACERT=$d/server.crt look "$work/tls.conf" alice@a.example
expect "StartTLS: found over TLS" '^lookup alice@a\.example: ok 1 ms='
look "$work/tls.conf" alice@a.example  # no CA: the server certificate is not trusted
expect "StartTLS: untrusted server certificate is an error" \
  '^lookup alice@a\.example: error ldap: ldap://127\.0\.0\.1:[0-9]+: StartTLS'

# --- configuration and directory errors ----------------------------------------------------------
conf "$work/base.conf" "ldap_base = ou=nowhere,dc=test"
look "$work/base.conf" alice@a.example
expect "bad base: a defined error" '^lookup alice@a\.example: error ldap: search \(mail=alice@a\.example\): No such object'
conf "$work/filter.conf" "ldap_filter = (mail=alice)"
look "$work/filter.conf" alice@a.example
expect "config: filter without %s refused with file:line" \
  "^config error: $work/filter.conf:[0-9]+: ldap_filter: '\(mail=alice\)': no %s"

dead=$(free_port)
write_config "$work/failover.conf" "ldap_uri = ldap://127.0.0.1:$dead ldap://127.0.0.1:$PORT" \
  "ldap_base = dc=test"
look "$work/failover.conf" alice@a.example
expect "failover: second URI answers when the first refuses" '^lookup alice@a\.example: ok 1 ms='

write_config "$work/refused.conf" "ldap_uri = ldap://127.0.0.1:$dead" "ldap_base = dc=test"
look "$work/refused.conf" alice@a.example
rc=$?
[ "$rc" = 1 ] && ok "down: connection refused: driver exit 1" || bad "down: refused: exit $rc"
expect "down: connection refused is an error" \
  "^lookup alice@a\\.example: error ldap: ldap://127\\.0\\.0\\.1:$dead: Can't contact LDAP server"
within "down: connection refused fails fast" "$(ms_of alice@a.example)" 1000

# --- a hung directory (SIGSTOP) ---------------------------------------------------------------------
conf "$work/hung.conf" "ldap_timeout = 1"
kill -STOP "$slapd_pid"
look "$work/hung.conf" a1@a.example a2@a.example a3@a.example a4@a.example
kill -CONT "$slapd_pid"
expect "hung: the lookup fails with the deadline" \
  '^lookup a1@a\.example: error ldap: search \(mail=a1@a\.example\): no answer within the deadline of 1000 ms'
within "hung: first lookup returns within the deadline" "$(ms_of a1@a.example)" 1600
within "hung: third lookup returns within the deadline" "$(ms_of a3@a.example)" 1600
expect "hung: after 3 failures the breaker answers at once" '^lookup a4@a\.example: error ldap: directory unavailable'
within "hung: breaker answer is immediate" "$(ms_of a4@a.example)" 200

# --- cache: the directory goes away after the first lookups -------------------------------------------
conf "$work/cache.conf"
"$DRIVER" "$work/cache.conf" alice@a.example nobody@a.example "@wait:$work/go" \
  alice@a.example nobody@a.example bob@a.example >"$out" 2>&1 &
drv=$!
for _ in $(seq 100); do grep -q '^waiting' "$out" && break; sleep 0.1; done
stop_slapd
touch "$work/go"
wait "$drv"
expect "cache: first lookup from the directory" '^lookup alice@a\.example: ok 1 ms='
expect "cache: found answer served from the cache while slapd is down" '^lookup alice@a\.example: ok 1 cached'
expect "cache: negative answer served from the cache" '^lookup nobody@a\.example: ok 0 cached'
expect "cache: an uncached address fails while slapd is down" '^lookup bob@a\.example: error ldap: '
within "cache: ... and fails fast" "$(ms_of bob@a.example)" 1000
expect "cache: stats" '^stats searches=3 cache_hits=1 negative_hits=1 failures=1 malformed=0$'

# --- reconnect: slapd restarts between two lookups of one source ----------------------------------------
start_slapd || { echo "ERROR: slapd did not start again"; exit 99; }
conf "$work/restart.conf"
rm -f "$work/go"
"$DRIVER" "$work/restart.conf" alice@a.example "@wait:$work/go" bob@a.example >"$out" 2>&1 &
drv=$!
for _ in $(seq 100); do grep -q '^waiting' "$out" && break; sleep 0.1; done
port=$PORT
stop_slapd
start_slapd "$port" || { echo "ERROR: slapd did not restart on port $port"; exit 99; }
touch "$work/go"
wait "$drv"
expect "reconnect: lookup after a slapd restart succeeds on a new connection" '^lookup bob@a\.example: ok 2 ms='

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
