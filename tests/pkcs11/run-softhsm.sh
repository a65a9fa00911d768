#!/usr/bin/env bash
# run-softhsm.sh: signing identities whose keys live on a PKCS#11 token.
#
# Builds a private SoftHSM2 token under $work (SOFTHSM2_CONF), imports
# alice's RSA key and bob's P-256 key (with their certificates: libp11 needs
# the public half of an EC key on the token), lists them in an identities
# file as pkcs11: URIs and has `smimectl process --outbound` sign with them
# (clear, opaque, RSA-PSS; 20 in a row with bench); the output must verify with `openssl cms -verify` and pass our own inbound
# check. Then the refusals, each exit 78 with a clear message: wrong PIN,
# no such object, a PIN file others can read, no pkcs11_module, no PIN file,
# a PIN in the URI. Then the daemon (with miltertest): a reload with a
# wrong PIN in the PIN file fails naming it while the running configuration
# keeps signing, and a token outage tempfails signing until the token is
# back, then signing resumes without a restart. Decryption: alice's token
# key opens mail encrypted to her (PKCS#1 v1.5, OAEP); an EC token key is
# refused as a decryption key at start-up. Skips (77) only without
# softhsm2-util, pkcs11-tool or libp11's OpenSSL engine (Debian: softhsm2,
# opensc, libengine-pkcs11-openssl; contrib/install-deps.sh installs them);
# without miltertest only the daemon part is skipped (tests/skip.sh: a
# failure in strict mode, CI=true).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
  [ -r "$m" ] && { module=$m; break; }
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null; then
  skip_or_fail "softhsm2 not installed"
fi
command -v pkcs11-tool >/dev/null || skip_or_fail "pkcs11-tool (opensc) not installed"
openssl engine pkcs11 >/dev/null 2>&1 || skip_or_fail "OpenSSL engine pkcs11 (libengine-pkcs11-openssl) not installed"
make_pki
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# --- a private token ---------------------------------------------------------
umask 077  # the token, the key copies on their way in, the PIN files
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" \
  >"$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label "smime test" --so-pin 87654321 --pin 123456 >/dev/null ||
  { echo "FAIL cannot create a SoftHSM2 token"; exit 1; }
p11() { pkcs11-tool --module "$module" --token-label "smime test" --login --pin 123456 "$@" >/dev/null; }
for who in alice:01 bob:02; do
  name=${who%%:*} id=${who#*:}
  openssl pkey -in "$pki/$name.key" -outform DER -out "$work/$name.key.der"
  openssl x509 -in "$pki/$name.crt" -outform DER -out "$work/$name.crt.der"
  if ! p11 --write-object "$work/$name.key.der" --type privkey --label "$name" --id "$id" ||
     ! p11 --write-object "$work/$name.crt.der" --type cert --label "$name" --id "$id"; then
    echo "FAIL cannot import $name into the token"; exit 1
  fi
done
rm -f "$work"/*.key.der

printf '123456\n' >"$work/pin"
printf '999999\n' >"$work/wrong-pin"
cp "$work/pin" "$work/open-pin" && chmod 0644 "$work/open-pin"
mkdir -p "$work/policies"
printf 'alice alice@a.example\nbob bob@a.example\n' >"$work/signing-users"
tok="pkcs11:token=smime%20test;object"
ids() {  # ids LINE...: writes the identities file
  printf '%s\n' "$@" >"$work/identities"
}
conf() {  # conf FILE SIGN-MODE [EXTRA LINES...]
  local f=$1 mode=$2
  shift 2
  write_config "$f" "sign = $mode" "signing_identities = $work/identities" \
    "signing_users = $work/signing-users" "policy_dir = $work/policies" "$@"
}
conf "$work/sign.conf" clear
conf "$work/pss.conf" clear "signing_rsa_padding = pss"
conf "$work/opaque.conf" opaque
write_config "$work/verify.conf" "policy_dir = $work/policies"
ids "alice@a.example $pki/alice.crt $tok=alice pkcs11_module=$module pin_file=$work/pin chain=$pki/alice.chain.pem" \
    "bob@a.example $pki/bob.crt $tok=bob pkcs11_module=$module pin_file=$work/pin chain=$pki/bob.chain.pem"

# --- signing with token keys -------------------------------------------------
# sign_as NAME CONF [NOTE]: signs a message from NAME@a.example, checks it both ways.
sign_as() {
  local name=$1 cf=$2 label="$1 signs with the token key${3:+ ($3)}" out=$work/$1.signed
  local want=multipart/signed
  [ "${3:-}" = opaque ] && want=application/pkcs7-mime
  sed "s/^From: .*/From: ${name^} <$name@a.example>/" "$top/tests/golden/message.eml" >"$work/$name.eml"
  local rc=0
  "$SMIMECTL" -c "$cf" process --outbound --sasl-user "$name" --now "$NOW" "$work/$name.eml" \
    >"$out" 2>"$work/err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    bad "$label: smimectl exit status $rc: $(head -c 400 "$work/err")"
  elif ! grep -q "$want" "$out"; then
    bad "$label: output is not $want: $(head -c 400 "$work/err")"
  elif ! openssl cms -verify -CAfile "$pki/root.crt" -attime "$NOW" -purpose smimesign -in "$out" \
      -out /dev/null -signer "$work/$name.signer" 2>"$work/err"; then
    bad "$label: openssl cms -verify: $(head -n 2 "$work/err" | tr '\n' ' ')"
  elif ! cmp -s <(openssl x509 -in "$work/$name.signer" -outform DER) \
      <(openssl x509 -in "$pki/$name.crt" -outform DER); then
    bad "$label: signer is not $name"
  elif [ "$(verdict_of "$work/verify.conf" "$out")" != "pass " ]; then
    bad "$label: inbound verdict '$(verdict_of "$work/verify.conf" "$out")'"
  else
    ok "$label"
  fi
}
sign_as alice "$work/sign.conf"
sign_as bob "$work/sign.conf"
sign_as bob "$work/opaque.conf" opaque
sign_as alice "$work/pss.conf" "RSA-PSS"
if openssl cms -cmsout -print -in "$work/alice.signed" 2>/dev/null | grep -q rsassaPss; then
  ok "signing_rsa_padding = pss gives an RSASSA-PSS signature from the token"
else
  bad "signing_rsa_padding = pss: no RSASSA-PSS signature"
fi
# Several signatures in one process from one token: bench runs the whole
# outbound engine back to back.
if "$SMIMECTL" -c "$work/sign.conf" bench -n 20 --now "$NOW" --outbound --sasl-user alice \
    "$work/alice.eml" >"$work/bench" 2>&1 && grep -q 'action=signed' "$work/bench"; then
  ok "20 signatures in one process"
else
  bad "bench with a token key: $(head -c 300 "$work/bench")"
fi

# --- refusals ----------------------------------------------------------------
expect78() {  # expect78 LABEL STDERR_SUBSTRING IDENTITY_LINE
  local label=$1 text=$2 rc=0
  ids "$3"
  "$SMIMECTL" -c "$work/sign.conf" process --outbound --sasl-user alice --now "$NOW" \
    "$work/alice.eml" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  if [ "$rc" -eq 78 ] && grep -qF -- "$text" "$work/err"; then
    ok "$label"
  else
    bad "$label: rc=$rc (want 78), stderr: $(head -c 400 "$work/err")"
  fi
}
line="alice@a.example $pki/alice.crt"
opts="pkcs11_module=$module chain=$pki/alice.chain.pem"
expect78 "wrong PIN refused" "identities:1: wrong PIN in $work/wrong-pin" \
  "$line $tok=alice $opts pin_file=$work/wrong-pin"
expect78 "missing object refused" "identities:1: no private key at $tok=carol" \
  "$line $tok=carol $opts pin_file=$work/pin"
expect78 "unknown token refused" "no private key at pkcs11:token=nosuch;object=alice" \
  "$line pkcs11:token=nosuch;object=alice $opts pin_file=$work/pin"
expect78 "PIN file mode 0644 refused" "refusing $work/open-pin (owner $(id -un), mode 0644)" \
  "$line $tok=alice $opts pin_file=$work/open-pin"
expect78 "pkcs11_module required" "needs pkcs11_module=FILE" \
  "$line $tok=alice pin_file=$work/pin"
expect78 "pin_file required" "needs pin_file=FILE" \
  "$line $tok=alice $opts"
expect78 "PIN in the URI refused" "keep the PIN out of the URI (pin-value)" \
  "$line $tok=alice;pin-value=123456 $opts pin_file=$work/pin"
expect78 "missing module named" "PKCS#11 module $work/none.so: No such file or directory" \
  "$line $tok=alice pkcs11_module=$work/none.so pin_file=$work/pin"
expect78 "token key of another certificate refused" "does not belong to the certificate" \
  "$line $tok=bob $opts pin_file=$work/pin"
expect78 "pin_file on a key file refused" "pkcs11_module and pin_file are for token keys" \
  "$line $pki/alice.key pin_file=$work/pin"

# --- decryption with token keys (docs/decryption.md) --------------------------
# alice's RSA key on the token opens mail encrypted to her (PKCS#1 v1.5 and
# OAEP key transport); bob's EC key cannot (ECDH stays off the token): the
# start-up probe refuses that line with exit 78.
printf 'decrypt = yes\n' >"$work/policies/a.example.conf"
write_config "$work/decrypt.conf" "policy_dir = $work/policies" "decryption_keys = $work/dkeys"
printf 'alice@a.example %s %s=alice pkcs11_module=%s pin_file=%s\n' "$pki/alice.crt" "$tok" \
  "$module" "$work/pin" >"$work/dkeys"
dmarker="Token-secret-$RANDOM$RANDOM"
printf 'Content-Type: text/plain\r\n\r\n%s\r\n' "$dmarker" >"$work/dinner"
for variant in "pkcs1:-aes-256-gcm" "oaep:-aes-128-gcm -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"; do
  label=${variant%%:*}
  # shellcheck disable=SC2086 # the options are a word list
  openssl cms -encrypt -binary -outform DER -in "$work/dinner" -out "$work/d-$label.der" \
    -recip "$pki/alice.crt" ${variant#*:}
  {
    printf 'From: Carol <carol@b.example>\r\nTo: alice@a.example\r\nSubject: token\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    base64 -w 76 "$work/d-$label.der" | sed 's/$/\r/'
  } >"$work/d-$label.eml"
  if "$SMIMECTL" -c "$work/decrypt.conf" process --inbound --now "$NOW" --rcpt alice@a.example \
      "$work/d-$label.eml" >"$work/d-$label.out" 2>"$work/d-$label.err" &&
     grep -qF "$dmarker" "$work/d-$label.out" && grep -q 'decrypted=aes-' "$work/d-$label.err"; then
    ok "token RSA key decrypts ($label)"
  else
    bad "token RSA key decrypts ($label): $(head -c 400 "$work/d-$label.err")"
  fi
done
printf 'bob@a.example %s %s=bob pkcs11_module=%s pin_file=%s\n' "$pki/bob.crt" "$tok" \
  "$module" "$work/pin" >"$work/dkeys"
rc=0
"$SMIMECTL" -c "$work/decrypt.conf" process --inbound --now "$NOW" --rcpt bob@a.example \
  "$work/d-pkcs1.eml" >/dev/null 2>"$work/d-ec.err" || rc=$?
if [ "$rc" -eq 78 ] && grep -qF "dkeys:1: test decryption failed" "$work/d-ec.err"; then
  ok "token EC decryption key refused at start-up"
else
  bad "token EC decryption key: rc=$rc (want 78): $(head -c 400 "$work/d-ec.err")"
fi
rm -f "$work/policies/a.example.conf"

# --- the daemon: reloads and token outages -----------------------------------
# A reload must present the PIN file's PIN to the token as start-up does
# (libp11 alone skips the login once logged in); a signature that fails
# because the token went away restarts the module (at most every
# kTokenRetrySeconds = 5 s), so signing resumes when the token returns.
# SoftHSM2 cannot unplug a token, but moving its token directory away
# breaks the open object handles the way a removal does (signatures fail
# with "Object handle invalid"), and only a fresh start of the module finds
# the token again once it is back.
MILTER=${SMIME_MILTER:-$build/src/smime-milter}
if ! command -v miltertest >/dev/null; then
  skip_part "daemon part: miltertest not installed"
else
  chmod 755 "$work"
  mkdir -p "$work/msgs" "$work/state"
  for name in alice bob; do
    sed "s/^From: .*/From: ${name^} <$name@a.example>/" "$top/tests/golden/message.eml" \
      >"$work/msgs/$name.eml"
  done
  # alice (RSA) on the first token, bob (EC) on a second one with its own PIN.
  softhsm2-util --init-token --free --label "smime two" --so-pin 87654321 --pin 654321 \
    >/dev/null || { echo "FAIL cannot create a second SoftHSM2 token"; exit 1; }
  openssl pkey -in "$pki/bob.key" -outform DER -out "$work/bob.key.der"
  for t in "$work/bob.key.der privkey" "$work/bob.crt.der cert"; do
    pkcs11-tool --module "$module" --token-label "smime two" --login --pin 654321 \
      --write-object "${t% *}" --type "${t#* }" --label bob --id 02 >/dev/null ||
      { echo "FAIL cannot import bob into the second token"; exit 1; }
  done
  rm -f "$work/bob.key.der"
  printf '654321\n' >"$work/pin2"
  {
    printf 'alice@a.example %s %s=alice pkcs11_module=%s pin_file=%s chain=%s\n' "$pki/alice.crt" \
      "$tok" "$module" "$work/pin" "$pki/alice.chain.pem"
    printf 'bob@a.example %s pkcs11:token=smime%%20two;object=bob pkcs11_module=%s pin_file=%s chain=%s\n' \
      "$pki/bob.crt" "$module" "$work/pin2" "$pki/bob.chain.pem"
  } >"$work/identities"
  # The daemon reads the PIN file and uses the token as the service user
  # after start-up (reloads, restarts of the module).
  chmod 644 "$work/identities" "$work/signing-users" "$work/softhsm2.conf"
  chmod 755 "$work/policies"
  chown -R nobody "$work/tokens" "$work/pin" "$work/pin2" "$work/state" 2>/dev/null || true
  conf "$work/milter.conf" clear "socket = unix:$work/milter.sock" "socket_mode = 0666" \
    "user = nobody" "state_dir = $work/state"
  chmod 644 "$work/milter.conf"
  "$MILTER" -c "$work/milter.conf" -f -e >/dev/null 2>"$work/milter.log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 50); do [ -S "$work/milter.sock" ] && break; sleep 0.1; done
  # miltertest 1.0 overflows its stack on a replaced body larger than its
  # read buffer (a signed message is), so a signature is judged by the
  # daemon's log line alone; a refusal by miltertest as well.
  send() {  # send QID signed|tempfail LABEL [WHO]
    local rc=0
    miltertest -s "$top/tests/pkcs11/sign.lua" -D sock="unix:$work/milter.sock" \
      -D msgdir="$work/msgs" -D helper="$top/tests/milter/helper.lua" -D qid="$1" \
      -D expect="$2" -D who="${4:-alice}" >"$work/$1.out" 2>&1 || rc=$?
    [ "$2" = signed ] && rc=0
    if [ "$rc" -eq 0 ] && grep -q "$1: outbound: .*action=$2" "$work/milter.log"; then
      ok "$3"
    else
      bad "$3: $(head -c 300 "$work/$1.out"); log: $(grep "$1:" "$work/milter.log" | head -c 300)"
    fi
  }
  reload() {  # reload: SIGUSR1, then waits for the daemon's answer
    local before
    before=$(grep -c "reload: " "$work/milter.log")
    kill -USR1 "$pid"
    for _ in $(seq 100); do
      [ "$(grep -c "reload: " "$work/milter.log")" -gt "$before" ] && return
      sleep 0.1
    done
  }
  log_has() {  # log_has LABEL PATTERN
    if grep -q -- "$2" "$work/milter.log"; then ok "$1"; else bad "$1: no '$2' in the log"; fi
  }
  send QSIGN1 signed "the daemon signs with the token key"
  send QBOB1 signed "the daemon signs with the EC key on the second token" bob
  # (a) a reload with a wrong PIN fails, naming the PIN file, and the
  # running configuration keeps signing.
  printf '999999\n' >"$work/pin"
  reload
  log_has "reload with a wrong PIN refused, naming the PIN file" \
    "reload: result=failed, reason=config, .*origin=$work/identities:1, detail=\"wrong PIN in $work/pin"
  send QSIGN2 signed "the old configuration signs after the refused reload"
  send QBOB2 signed "with both tokens" bob
  printf '123456\n' >"$work/pin"
  printf '999999\n' >"$work/pin2"
  reload
  log_has "a wrong PIN for the second token refused, naming its file" \
    "reload: result=failed, reason=config, .*origin=$work/identities:2, detail=\"wrong PIN in $work/pin2"
  printf '654321\n' >"$work/pin2"
  reload
  log_has "reload with the right PINs accepted" "reload: version="
  send QSIGN3 signed "the new configuration signs"
  send QBOB3 signed "on both tokens" bob
  # (b) the token goes away: signing tempfails (never unsigned) ...
  mv "$work/tokens" "$work/tokens.away"
  mkdir "$work/tokens" && chown nobody "$work/tokens" 2>/dev/null
  gone_at=$(date +%s%N)
  send QGONE1 tempfail "signing tempfails while the token is away"
  log_has "the failure names the token key" "QGONE1: outbound: .*reason=signing-failed.*token key unusable: token away or its PIN"
  send QGONE2 tempfail "and again, within the retry interval"
  # ... and resumes once it is back, without a restart of the daemon.
  rmdir "$work/tokens" && mv "$work/tokens.away" "$work/tokens"
  # (Judged only when this machine got here well within the 5 s.)
  if [ $(($(date +%s%N) - gone_at)) -lt 4000000000 ]; then
    send QBACK0 tempfail "within 5 s of the last retry the module is not restarted"
  fi
  sleep 5.5
  send QBACK1 signed "signing resumes when the token is back"
  send QBACK2 signed "and goes on"
  send QBOB4 signed "on the second token as well" bob
  if kill -0 "$pid" 2>/dev/null && [ "$(grep -c "starting: " "$work/milter.log")" -eq 1 ]; then
    ok "no restart of the daemon"
  else
    bad "the daemon restarted or died"
  fi
  # Stopping frees every token key and then the module: no deadlock.
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log_has "the daemon stops cleanly" "stopping: version="
  # The module is finalised before exit, not by OpenSSL's exit-time cleanup
  # after its own destructors ran (a crash: status 139).
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -eq 0 ]; then ok "the daemon exits with status 0"; else bad "the daemon exited with status $rc"; fi
  if grep -q "panic:" "$work/milter.log"; then bad "panic in the log: $(grep panic: "$work/milter.log")"; fi
  [ "$failed" -eq 0 ] || { echo "the daemon's log:"; sed 's/^/    /' "$work/milter.log"; }
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
