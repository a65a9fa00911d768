#!/bin/bash
# contrib/demo.sh [start|stop]: the main job on built-in defaults.
#
# start (default): installs what is needed (Debian 12, root), builds,
# generates a demo PKI on first run, starts smime-milter and a private
# Postfix on 127.0.0.1 (nothing of the system's mail setup is touched), sends
# sample mail through them (signed, tampered, forged verdict; outbound signed,
# and signed then encrypted to a recipient certificate) and
# shows the headers the mail arrived with. Both keep running for your own
# tests until `contrib/demo.sh stop`. Everything lives under ./demo/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
build=$top
demo=$top/demo
stop() {
  for f in "$demo"/run/*.pid; do
    [ -f "$f" ] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
if [ "${1:-start}" = stop ]; then
  stop
  echo "demo stopped (files remain in $demo)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and runs Postfix)" >&2; exit 1; }
contrib/install-deps.sh
contrib/build.sh
stop
. tests/e2e/postfix-lib.sh
mkdir -p "$demo/msgs" "$demo/state" "$demo/run"
chmod 755 "$demo"
chown nobody "$demo/state"
tests/pki/gen-pki.sh "$demo/pki" >/dev/null
# The service user reads keys on reload: give it its own copy, mode 0600.
install -m 600 -o nobody "$demo/pki/alice.key" "$demo/alice.key"
echo "alice@a.example $demo/pki/alice.crt $demo/alice.key chain=$demo/pki/alice.chain.pem" >"$demo/identities"
echo "# LOGIN  ADDRESSES" >"$demo/signing-users"
mkdir -p "$demo/policies"
# b.example: encrypt when the recipient has a certificate (carol does, below).
echo "encrypt = opportunistic" >"$demo/policies/b.example.conf"
cat >"$demo/smime-milter.conf" <<CONF
# Demo configuration: the test PKI's root is the only S/MIME trust anchor.
authserv_id = mx.demo.example
trust_anchors = $demo/pki/trust.pem
state_dir = $demo/state
socket = unix:$demo/run/milter.sock
socket_mode = 0666
user = nobody
# Loopback SMTP from 127.0.0.1 counts as inbound here; port PF_SUBMIT is the
# outbound door. 127.0.0.2 plays a trusted internal relay that may have its
# mail signed (signing_relays); everyone else needs an SMTP AUTH login
# listed in signing_users.
internal_hosts = 192.0.2.0/24, 127.0.0.2/32
signing_relays = 127.0.0.2/32
log_why = yes
# Outbound signing with alice's identity from the demo PKI (docs/signing.md).
sign = clear
signing_identities = $demo/identities
signing_users = $demo/signing-users
policy_dir = $demo/policies
# The demo PKI publishes no CRL or OCSP source; under the default
# (revocation = hard) every signature would be "policy no-revocation-source".
revocation = off
CONF
src/smime-milter -c "$demo/smime-milter.conf" -n
rm -rf "$demo/pf"
setsid src/smime-milter -c "$demo/smime-milter.conf" -f -e >/dev/null 2>>"$demo/milter.log" </dev/null &
echo $! >"$demo/run/milter.pid"
for _ in $(seq 50); do [ -S "$demo/run/milter.sock" ] && break; sleep 0.1; done
pf_setup "$demo/pf" "$demo/run/milter.sock"
PF_PID=
setsid /usr/lib/postfix/sbin/master -c "$demo/pf/etc" -s >"$demo/pf/master.out" 2>&1 </dev/null &
echo $! >"$demo/run/postfix.pid"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null && break; sleep 0.1; done

sample() {  # sample NAME FROM SUBJECT
  printf 'From: %s\nTo: Carol <carol@b.example>\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@demo.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello Carol,\n\nthis is a demo message.\n' \
    "$2" "$3" "$(date -R)" "$1" "$(date +%s)" >"$demo/msgs/$1.eml"
}
sign=tests/interop/sign-openssl.sh
sample plain 'Alice <alice@a.example>' 'signed by alice'
"$sign" "$demo/pki" alice "$demo/msgs/plain.eml" >"$demo/msgs/1-signed.eml"
sed -e 's/this is a demo message/this is a changed message/' -e 's/^Message-ID: <plain/Message-ID: <tampered/' \
  -e 's/^Subject: .*/Subject: signed by alice, then changed in transit\r/' \
  "$demo/msgs/1-signed.eml" >"$demo/msgs/2-tampered.eml"
{ printf 'Authentication-Results: mx.demo.example; smime=pass\r\n'
  sed -e 's/^Message-ID: <tampered/Message-ID: <forged/' \
    -e 's/^Subject: .*/Subject: changed in transit, with a forged smime=pass verdict\r/' \
    "$demo/msgs/2-tampered.eml"; } >"$demo/msgs/3-forged-verdict.eml"
sample outbound 'Alice <alice@a.example>' 'outbound from a trusted relay: signed by the milter'
sample secret 'Alice <alice@a.example>' 'outbound to carol: signed, then encrypted to her certificate'
# carol's certificate (and its chain) in the recipient certificate store.
cat "$demo/pki/carol.crt" "$demo/pki/carol.chain.pem" >"$demo/carol-full.pem"
src/smimectl -c "$demo/smime-milter.conf" cert add "$demo/carol-full.pem" >/dev/null
for m in 1-signed 2-tampered 3-forged-verdict; do
  swaks --server "127.0.0.1:$PF_PORT" --from alice@a.example --to carol@b.example \
    --data "@$demo/msgs/$m.eml" --silent 2 || true
done
swaks --server "127.0.0.1:$PF_SUBMIT" --local-interface 127.0.0.2 --from alice@a.example \
  --to dave@b.example --data "@$demo/msgs/outbound.eml" --silent 2 || true
swaks --server "127.0.0.1:$PF_SUBMIT" --local-interface 127.0.0.2 --from alice@a.example \
  --to carol@b.example --data "@$demo/msgs/secret.eml" --silent 2 || true
pf_wait_delivered 5 30 || echo "(not all demo messages arrived yet; see $demo/pf/maillog)"

for f in $(ls -tr "$demo"/pf/mail/*/new/*); do
  echo "=== $(grep -m1 '^Subject:' "$f")"
  sed '/^$/q' "$f" | awk '/^[A-Za-z-]+:/ { show = /^(Authentication-Results|From|Subject|Content-Type):/ } show'
  # Outbound mail gets no verdict header: a signed one was signed by us.
  if grep -q '^Content-Type: multipart/signed' "$f" && ! grep -q '^Authentication-Results:' "$f"; then
    echo "    (signed by the milter on the way out; our own verification of the delivered file:"
    src/smimectl -c "$demo/smime-milter.conf" process --inbound --now "$(date +%s)" "$f" 2>&1 >/dev/null |
      sed 's/^/     /'
    echo "    )"
  fi
  if grep -q '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f"; then
    echo "    (encrypted by the milter; decrypted with carol's key and verified, as her client would:"
    # The client's view: the outer header with the decrypted entity in place of the content.
    { sed -n '/^\r*$/q; p' "$f" | grep -vi '^Content-'
      openssl cms -decrypt -recip "$demo/pki/carol.crt" -inkey "$demo/pki/carol.key" -in "$f"; } |
      src/smimectl -c "$demo/smime-milter.conf" process --inbound --now "$(date +%s)" 2>&1 >/dev/null |
      sed 's/^/     /'
    echo "    )"
  fi
done
echo
echo "=== milter log"
sed 's/^/  /' "$demo/milter.log" | tail -7
cat <<TXT

The milter and Postfix keep running. Send more mail with, for example:
  swaks --server 127.0.0.1:$PF_PORT --from alice@a.example --to carol@b.example --data @$demo/msgs/1-signed.eml
  swaks --server 127.0.0.1:$PF_SUBMIT --local-interface 127.0.0.2 --from alice@a.example --to dave@b.example   (outbound, signed)
Delivered mail: $demo/pf/mail/*/new/   Logs: $demo/milter.log, $demo/pf/maillog
Run one message through the same engine without an MTA:
  src/smimectl -c $demo/smime-milter.conf process --inbound $demo/msgs/1-signed.eml
Stop: contrib/demo.sh stop
TXT
