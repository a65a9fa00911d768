#!/bin/sh
# contrib/demo.sh: the main job on built-in defaults. Installs what is
# needed (Debian 12, root), builds, generates a demo PKI on first run, signs
# sample messages with `openssl cms` and runs each through
# `smimectl process` exactly as the milter would, showing the verdict
# header and the log line. Everything it writes goes under ./demo/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
contrib/install-deps.sh
contrib/build.sh
demo=$top/demo
mkdir -p "$demo/msgs"
tests/pki/gen-pki.sh "$demo/pki" >/dev/null
cat >"$demo/smime-milter.conf" <<CONF
# Demo configuration: the test PKI's root is the only S/MIME trust anchor.
authserv_id = mx.demo.example
trust_anchors = $demo/pki/trust.pem
state_dir = $demo
CONF

sample() {  # sample FROM SUBJECT > file
  printf 'From: %s\nTo: Carol <carol@b.example>\nSubject: %s\nDate: %s\nMessage-ID: <%s@demo.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello Carol,\n\nthis is a demo message.\n' \
    "$1" "$2" "$(date -R)" "$(date +%s%N)"
}
sign=tests/interop/sign-openssl.sh
sample 'Alice <alice@a.example>' 'signed by alice' >"$demo/msgs/plain-alice.eml"
sample 'Carol <carol@b.example>' 'alice signs as carol' >"$demo/msgs/plain-carol.eml"
"$sign" "$demo/pki" alice "$demo/msgs/plain-alice.eml" >"$demo/msgs/1-signed.eml"
sed 's/this is a demo message/this is a changed message/' "$demo/msgs/1-signed.eml" >"$demo/msgs/2-tampered.eml"
{ printf 'Authentication-Results: mx.demo.example; smime=pass\r\n'; cat "$demo/msgs/2-tampered.eml"; } >"$demo/msgs/3-forged-header.eml"
"$sign" "$demo/pki" alice "$demo/msgs/plain-carol.eml" >"$demo/msgs/4-signer-mismatch.eml"
"$sign" --opaque "$demo/pki" alice "$demo/msgs/plain-alice.eml" >"$demo/msgs/5-opaque-signed.eml"
"$sign" "$demo/pki" expired "$demo/msgs/plain-alice.eml" >"$demo/msgs/6-expired-cert.eml" 2>/dev/null
cp "$demo/msgs/plain-alice.eml" "$demo/msgs/7-unsigned.eml"

for m in "$demo"/msgs/[0-9]-*.eml; do
  echo "=== $(basename "$m")"
  src/smimectl -c "$demo/smime-milter.conf" process --inbound "$m" 2>"$demo/log" |
    tr -d '\r' | awk '/^$/ { exit } /^[A-Za-z-]+:/ { show = /^Authentication-Results:/ } show'
  sed 's/^/    log: /' "$demo/log"
done
echo
echo "Try your own: src/smimectl -c $demo/smime-milter.conf process --inbound FILE.eml"
echo "(add --report for the machine-readable outcome; see README.md)"
