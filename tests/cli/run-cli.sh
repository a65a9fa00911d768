#!/usr/bin/env bash
# run-cli.sh: smimectl's stable interface: exit codes, config errors with
# file:line, LF and CRLF input, stdin.
. "$(dirname "$0")/../lib.sh"
make_pki
pass=0 failed=0
expect() {  # expect LABEL WANT_RC WANT_STDERR_SUBSTRING CMD...
  local label=$1 want=$2 text=$3 rc=0
  shift 3
  "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$work/err" "$work/out"; then
    pass=$((pass + 1)); echo "ok   $label"
  else
    failed=$((failed + 1)); echo "FAIL $label: rc=$rc (want $want), output: $(head -c 300 "$work/err")"
  fi
}
write_config "$work/good.conf"
printf 'authserv_id = mx.test\n\nmax_signers = lots\n' >"$work/bad.conf"
printf 'authserv_id = mx.test\ntrust_anchors = %s\n' "$work/none.pem" >"$work/noanchor.conf"
printf 'not a certificate\n' >"$work/junk.pem"
printf 'trust_anchors = %s\n' "$work/junk.pem" >"$work/junkanchor.conf"
printf 'From: a@b.example\nSubject: x\n\nbody\n' >"$work/lf.eml"
printf 'From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n' >"$work/crlf.eml"

expect "usage exits 64" 64 "usage:" "$SMIMECTL"
expect "unknown option exits 64" 64 "unknown option --bogus" "$SMIMECTL" -c "$work/good.conf" process --bogus
expect "bad --now exits 64" 64 "--now needs" "$SMIMECTL" -c "$work/good.conf" process --now soon
expect "bad value: file:line" 78 "bad.conf:3: max_signers: 'lots' is not a number" "$SMIMECTL" -c "$work/bad.conf" process "$work/lf.eml"
expect "missing anchors named" 78 "none.pem: trust anchors:" "$SMIMECTL" -c "$work/noanchor.conf" config check
expect "junk anchors named" 78 "junk.pem: no PEM certificate found" "$SMIMECTL" -c "$work/junkanchor.conf" config check
expect "missing config" 78 "cannot open" "$SMIMECTL" -c "$work/absent.conf" config check
expect "config check ok" 0 "ok (1 trust anchors" "$SMIMECTL" -c "$work/good.conf" config check
# Waits that cannot fit the MTA's milter timeouts are warned about, with
# the file:line of the parameter (write_config puts 4 lines first), as
# "warning: config: origin=FILE:LINE, detail=..." lines (docs/logging.md).
write_config "$work/deadline.conf" "rcpt_deadline = 30" "eom_deadline = 300"
expect "rcpt_deadline not below milter_command_timeout" 0 \
  "smimectl: warning: config: origin=$work/deadline.conf:5, detail=\"rcpt_deadline \\x3d 30 s is not below Postfix's milter_command_timeout \\x2830 s" \
  "$SMIMECTL" -c "$work/deadline.conf" config check
expect "eom_deadline not below milter_content_timeout" 0 \
  "smimectl: warning: config: origin=$work/deadline.conf:6, detail=\"eom_deadline \\x3d 300 s is not below Postfix's milter_content_timeout \\x28300 s" \
  "$SMIMECTL" -c "$work/deadline.conf" config check
write_config "$work/fetch.conf" "revocation = hard" "eom_deadline = 10" "revocation_timeout = 15"
expect "fetch timeout longer than the step deadline" 0 \
  "config: origin=$work/fetch.conf:6, detail=\"revocation_timeout \\x3d 15 s is longer than eom_deadline \\x3d 10 s" \
  "$SMIMECTL" -c "$work/fetch.conf" config check
if "$SMIMECTL" -c "$work/good.conf" config check 2>&1 | grep -q deadline; then
  failed=$((failed + 1)); echo "FAIL the defaults fit: no deadline warning wanted"
else
  pass=$((pass + 1)); echo "ok   the default deadlines fit without a warning"
fi
expect "config dump origin" 0 "authserv_id = mx.test  # $work/good.conf:1" "$SMIMECTL" -c "$work/good.conf" config dump
expect "outbound untouched and logged" 0 "outbound: from=<a@b.example>, why=forced, sign=none, action=none, reason=policy" \
  "$SMIMECTL" -c "$work/good.conf" process --outbound --from a@b.example "$work/lf.eml"
expect "sasl user means outbound" 0 "login=alice, why=sasl_user" \
  "$SMIMECTL" -c "$work/good.conf" process --sasl-user alice --client-ip 192.0.2.1 "$work/lf.eml"

# LF in, LF out; CRLF in, CRLF out; stdin works; outbound output is the input.
"$SMIMECTL" -c "$work/good.conf" process --inbound "$work/lf.eml" >"$work/lf.out" 2>/dev/null
"$SMIMECTL" -c "$work/good.conf" process --inbound - <"$work/crlf.eml" >"$work/crlf.out" 2>/dev/null
"$SMIMECTL" -c "$work/good.conf" process --outbound "$work/crlf.eml" >"$work/ob.out" 2>/dev/null
if printf 'Authentication-Results: mx.test; smime=none\n' | cat - "$work/lf.eml" | cmp -s - "$work/lf.out" &&
   printf 'Authentication-Results: mx.test; smime=none\r\n' | cat - "$work/crlf.eml" | cmp -s - "$work/crlf.out" &&
   cmp -s "$work/crlf.eml" "$work/ob.out"; then
  pass=$((pass + 1)); echo "ok   line endings kept, stdin read, outbound unchanged"
else
  failed=$((failed + 1)); echo "FAIL line endings / stdin / outbound output"
fi
# Per-domain policy: the generated PKI publishes no revocation source, so
# under the default (hard) a signature is policy no-revocation-source; a
# policy file for a.example turns revocation off for that domain only.
mkdir -p "$work/policies"
printf '# a.example: no CRL/OCSP published\nrevocation = off\n' >"$work/policies/a.example.conf"
write_config "$work/policy.conf" "revocation = hard" "policy_dir = $work/policies"
sed 's/^From: .*/From: Alice <alice@a.example>/' "$top/tests/golden/message.eml" >"$work/alice.plain"
"$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/alice.plain" >"$work/alice.eml"
sed 's/^From: .*/From: Carol <carol@b.example>/' "$top/tests/golden/message.eml" >"$work/carol.plain"
"$top/tests/interop/sign-openssl.sh" "$pki" carol "$work/carol.plain" >"$work/carol.eml"
got_a=$(verdict_of "$work/policy.conf" "$work/alice.eml")
got_c=$(verdict_of "$work/policy.conf" "$work/carol.eml")
if [ "$got_a" = "pass " ] && [ "$got_c" = "policy no-revocation-source" ]; then
  pass=$((pass + 1)); echo "ok   policy file overrides revocation for its domain only"
else
  failed=$((failed + 1)); echo "FAIL per-domain policy: a.example got '$got_a', b.example got '$got_c'"
fi
expect "policy explain shows file:line" 0 "revocation = off  # $work/policies/a.example.conf:2" \
  "$SMIMECTL" -c "$work/policy.conf" policy explain someone@mail.a.example
printf 'user = root\n' >"$work/policies/evil.example.conf"
expect "global parameter in a policy file refused" 78 "evil.example.conf:1: 'user' can only be set in the main configuration" \
  "$SMIMECTL" -c "$work/policy.conf" config check
write_config "$work/shipped.conf" "policy_dir = $top/policies"
expect "shipped policies/ examples load" 0 "allow_sha1 = yes  # $top/policies/example.com.conf" \
  "$SMIMECTL" -c "$work/shipped.conf" policy explain a@www.example.com

# Encryption follows the recipient's domain in every direction: mail that
# is not outbound (the sendmail command through Postfix pickup, or a relay
# outside internal_hosts: no client address, no login, no originating
# daemon) to an encrypt = required domain is encrypted to the recipient.
mkdir -p "$work/encpolicies" "$work/encstate"
printf 'encrypt = required\n' >"$work/encpolicies/b.example.conf"
write_config "$work/enc.conf" "policy_dir = $work/encpolicies" "state_dir = $work/encstate"
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol-add.pem"
expect "cert add carol for encryption" 0 "added carol@b.example" \
  "$SMIMECTL" -c "$work/enc.conf" cert add "$work/carol-add.pem"
for how in "" "--inbound"; do
  rc=0
  # shellcheck disable=SC2086
  "$SMIMECTL" -c "$work/enc.conf" process $how --now "$NOW" --rcpt '<carol@B.Example.>' \
    "$work/alice.plain" >"$work/enc.out" 2>"$work/enc.err" || rc=$?
  if [ "$rc" = 0 ] && grep -q '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$work/enc.out" &&
     grep -q 'verify: .*result=none.*encryption=aes256-cbc, recipients=1, encrypt_why=required' "$work/enc.err" &&
     ! grep -q 'this message is signed' "$work/enc.out" &&
     openssl cms -decrypt -inkey "$pki/carol.key" -recip "$pki/carol.crt" -in "$work/enc.out" 2>/dev/null |
       grep -q 'this message is signed'; then
    pass=$((pass + 1)); echo "ok   inbound-direction mail ${how:-(auto)} to a required domain is encrypted to carol"
  else
    failed=$((failed + 1)); echo "FAIL inbound-direction encryption ${how:-(auto)}: rc=$rc $(head -c 300 "$work/enc.err")"
  fi
done
# A new body larger than spool_memory_limit is written to a spool file in
# state_dir and copied out in 64 KB slices (docs/performance.md, "Memory per
# message"). LF in, LF out, also where a slice ends between a CR and its LF
# ("x" lines of 3 bytes: every third slice boundary falls there); the
# clear-signed result verifies and holds every line; signed and encrypted,
# carol decrypts all of it. A spool that cannot be written is a tempfail
# (exit 75) with its reason, before any message is written, logged with one
# action (tempfail replaces signing's action=signed: docs/logging.md).
echo "alice alice@a.example" >"$work/spool-users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/spool-ids"
spool_common=("signing_identities = $work/spool-ids" "signing_users = $work/spool-users"
              "policy_dir = $work/encpolicies" "state_dir = $work/encstate" "spool_memory_limit = 1K")
write_config "$work/spool.conf" "sign = clear" "${spool_common[@]}"
write_config "$work/spool-opaque.conf" "sign = opaque" "${spool_common[@]}"
{ printf 'From: Alice <alice@a.example>\nTo: Partner <partner@c.example>\nSubject: big\n'
  printf 'Content-Type: text/plain; charset=us-ascii\n\n'
  awk 'BEGIN { for (i = 0; i < 300000; i++) print "x"; print "the last line" }'; } >"$work/big-lf.eml"
rc=0
"$SMIMECTL" -c "$work/spool.conf" process --outbound --sasl-user alice --now "$NOW" \
  --rcpt partner@c.example "$work/big-lf.eml" >"$work/big-lf.out" 2>"$work/big-lf.err" || rc=$?
if [ "$rc" = 0 ] && grep -q 'format=clear' "$work/big-lf.err" && ! grep -q $'\r' "$work/big-lf.out" &&
   [ "$(grep -cx 'x' "$work/big-lf.out")" = 300000 ] && grep -qx 'the last line' "$work/big-lf.out" &&
   [ "$(verdict_of "$work/spool.conf" "$work/big-lf.out")" = "pass " ]; then
  pass=$((pass + 1)); echo "ok   spooled new body: LF kept across slices, every line, signature verifies"
else
  failed=$((failed + 1)); echo "FAIL spooled new body (LF): rc=$rc $(head -c 300 "$work/big-lf.err")"
fi
rc=0
"$SMIMECTL" -c "$work/spool-opaque.conf" process --outbound --sasl-user alice --now "$NOW" \
  --rcpt carol@b.example "$work/big-lf.eml" >"$work/big-enc.out" 2>"$work/big-enc.err" || rc=$?
if [ "$rc" = 0 ] && grep -q 'format=opaque.*encryption=aes256-cbc' "$work/big-enc.err" &&
   openssl cms -decrypt -inkey "$pki/carol.key" -recip "$pki/carol.crt" -in "$work/big-enc.out" 2>/dev/null |
     openssl cms -verify -noverify -in - -inform SMIME 2>/dev/null | tr -d '\r' | grep -cx 'x' | grep -qx 300000; then
  pass=$((pass + 1)); echo "ok   spooled ciphertext and body: carol decrypts every line"
else
  failed=$((failed + 1)); echo "FAIL spooled signed+encrypted body: rc=$rc $(head -c 300 "$work/big-enc.err")"
fi
rc=0
# The spool file may not grow beyond 200 KB (RLIMIT_FSIZE, SIGXFSZ ignored:
# the write fails with EFBIG), as root too.
(trap '' XFSZ; ulimit -f 200; exec "$SMIMECTL" -c "$work/spool.conf" process --outbound --sasl-user alice \
  --now "$NOW" --rcpt partner@c.example "$work/big-lf.eml") >"$work/big-full.out" 2>"$work/big-full.err" || rc=$?
if [ "$rc" = 75 ] && [ ! -s "$work/big-full.out" ] &&
   grep -q 'action=tempfail, reason=spool-failed, .*detail="spool write: File too large"' "$work/big-full.err" &&
   [ "$(grep ': outbound: ' "$work/big-full.err" | grep -o ', action=' | wc -l)" = 1 ] &&
   grep -q '451 4.3.0 Internal error in the S/MIME filter' "$work/big-full.err"; then
  pass=$((pass + 1)); echo "ok   spool that cannot grow: tempfail with its reason, nothing written"
else
  failed=$((failed + 1)); echo "FAIL spool failure: rc=$rc $(head -c 300 "$work/big-full.err")"
fi
# RCPT spellings the MTA would clean up into carol@b.example: refused, never judged elsewhere.
expect "comment in RCPT refused 550 5.1.3" 77 "550 5.1.3 Bad recipient address syntax (whitespace)" \
  "$SMIMECTL" -c "$work/enc.conf" process --now "$NOW" --rcpt '<carol@b.example (x)>' "$work/alice.plain"
expect "RCPT comment before the domain refused" 77 "550 5.1.3 Bad recipient address syntax (comment)" \
  "$SMIMECTL" -c "$work/enc.conf" process --now "$NOW" --rcpt '<carol@(x)b.example>' "$work/alice.plain"
expect "required recipient without certificate refused, any direction" 77 "550 5.7.1 No usable S/MIME certificate for erin@b.example" \
  "$SMIMECTL" -c "$work/enc.conf" process --inbound --now "$NOW" --rcpt erin@b.example "$work/alice.plain"

# Postfix habits: a repeated parameter warns with both lines, the last wins.
printf 'authserv_id = mx.test\ntrust_anchors = %s\nmax_signers = 2\nmax_signers = 5\n' "$pki/trust.pem" >"$work/twice.conf"
expect "repeated parameter warns with both lines" 0 "config: origin=$work/twice.conf:4, detail=\"'max_signers' is also set at $work/twice.conf:3; the last one counts\"" \
  "$SMIMECTL" -c "$work/twice.conf" config check
expect "repeated parameter: the last value counts" 0 "max_signers = 5  # $work/twice.conf:4" "$SMIMECTL" -c "$work/twice.conf" config dump

# cert add warns when the certificate does not chain yet; cert remove takes
# the fingerprint cert list prints.
mkdir -p "$work/addstate"
write_config "$work/add.conf" "state_dir = $work/addstate"
expect "cert add without its CA warns" 0 "does not chain to a trust anchor yet" \
  "$SMIMECTL" -c "$work/add.conf" cert add "$pki/carol.crt"
"$SMIMECTL" -c "$work/add.conf" cert add "$work/carol-add.pem" >"$work/out" 2>"$work/err" || true
if grep -q "added carol@b.example" "$work/out" && ! grep -q "does not chain" "$work/err"; then
  pass=$((pass + 1)); echo "ok   cert add with its chain: no warning"
else
  failed=$((failed + 1)); echo "FAIL cert add with its chain: $(head -c 300 "$work/err")"
fi
listed=$("$SMIMECTL" -c "$work/add.conf" cert list carol@b.example | awk 'NR == 2 { print $6 }')
if [ "${#listed}" -ge 12 ]; then pass=$((pass + 1)); echo "ok   cert list shows a fingerprint"
else failed=$((failed + 1)); echo "FAIL cert list fingerprint: '$listed'"; fi
# carol's certificate ends 2030-01-01, 1310 days after $NOW.
n_soon=$("$SMIMECTL" -c "$work/add.conf" cert list --expiring 1309 --now "$NOW" | grep -c 'carol@b.example' || true)
n_late=$("$SMIMECTL" -c "$work/add.conf" cert list --expiring 1310 --now "$NOW" | grep -c 'carol@b.example' || true)
if [ "$n_soon" = 0 ] && [ "$n_late" = 1 ]; then
  pass=$((pass + 1)); echo "ok   cert list --expiring DAYS lists what expires within DAYS"
else
  failed=$((failed + 1)); echo "FAIL cert list --expiring: $n_soon (want 0), $n_late (want 1)"
fi
# Without ADDR it also lists the trust anchors that expire: the test root
# ends 2045-01-01, 6789 days after $NOW; not with an ADDR.
a_late=$("$SMIMECTL" -c "$work/add.conf" cert list --expiring 6789 --now "$NOW" | grep -c '^trust anchor .*expires at 2045-01-01T00:00:00Z, in 6789 days' || true)
a_soon=$("$SMIMECTL" -c "$work/add.conf" cert list --expiring 6788 --now "$NOW" | grep -c '^trust anchor ' || true)
a_addr=$("$SMIMECTL" -c "$work/add.conf" cert list carol@b.example --expiring 6789 --now "$NOW" | grep -c '^trust anchor ' || true)
if [ "$a_late" = 1 ] && [ "$a_soon" = 0 ] && [ "$a_addr" = 0 ]; then
  pass=$((pass + 1)); echo "ok   cert list --expiring DAYS lists the trust anchors that expire within DAYS"
else
  failed=$((failed + 1)); echo "FAIL cert list --expiring anchors: $a_late (want 1), $a_soon (want 0), $a_addr (want 0)"
fi
expect "cert list --expiring needs a number" 64 "--expiring needs a number of days" \
  "$SMIMECTL" -c "$work/add.conf" cert list --expiring soon
expect "cert remove refuses a shorter prefix" 78 "prefix of at least 12 hex digits" \
  "$SMIMECTL" -c "$work/add.conf" cert remove carol@b.example "${listed:0:11}"
expect "cert remove takes the listed fingerprint" 0 "removed 1 certificate(s) of carol@b.example" \
  "$SMIMECTL" -c "$work/add.conf" cert remove carol@b.example "$listed"

expect "bench runs the engine and reports throughput" 0 "2 runs, " \
  "$SMIMECTL" -c "$work/good.conf" bench -n 2 --now "$NOW" "$work/alice.eml"
if "$SMIMECTL" -c "$work/good.conf" bench -n 2 --now "$NOW" "$work/alice.eml" | grep -q 'verdict=pass,'; then
  pass=$((pass + 1)); echo "ok   bench verdict is the engine's"
else
  failed=$((failed + 1)); echo "FAIL bench verdict"
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
