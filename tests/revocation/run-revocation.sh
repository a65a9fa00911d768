#!/usr/bin/env bash
# run-revocation.sh: revocation checking (CRL + OCSP) end to end through
# `smimectl process`, `smimectl revocation check`, `smimectl crl fetch` and
# the smime-milter daemon, against a private PKI (gen-revocation-pki.sh) and
# local servers (servers.sh, revsrv.py) on 127.0.0.1, with the REAL clock
# (openssl stamps CRL/OCSP thisUpdate with the current time, so no --now).
#
# Inputs: the build tree (lib.sh: $SMIMECTL, smime-milter), python3 and
# openssl; miltertest for the daemon cases (skipped, not failed, without it).
# Output: "ok/FAIL LABEL ..." per check, then "N passed, N failed".
# Exit: 0 all passed, 1 some failed, 77 skip (smimectl not built, python3
# missing), 99 the test infrastructure itself is broken (PKI or servers).
# Every case has its own state_dir unless it tests the cache. Each run
# regenerates the PKI (~6 s) because the certificates name the free ports
# chosen for this run. Whole run: about 1-2 minutes (timeout cases).
# REVOCATION_KEEP=1 keeps the work folder (printed) for debugging.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
here=$top/tests/revocation
MILTER=${SMIME_MILTER:-$build/src/smime-milter}
SRV_DIR=$work/srv
mkdir -p "$SRV_DIR" "$work/msg" "$work/state"
# shellcheck source=servers.sh disable=SC2154 # top, work: from lib.sh
. "$here/servers.sh"
"$PYTHON" -c 'import http.server' 2>/dev/null || skip_or_fail "python3 missing"
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && { kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; }
  srv_stop_all
  if [ "${REVOCATION_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

read -r OCSP_PORT UNAUTH_PORT CRL_PORT DEAD_PORT SLOW_PORT BAD_PORT < <(free_ports 6)
: "$UNAUTH_PORT"
rpki=$work/pki
"$here/gen-revocation-pki.sh" "$rpki" "$OCSP_PORT" "$CRL_PORT" "$DEAD_PORT" "$SLOW_PORT" "$BAD_PORT" ||
  { echo "ERROR: gen-revocation-pki.sh failed"; exit 99; }
srv_start_all "$rpki" "$OCSP_PORT" "$CRL_PORT" "$SLOW_PORT" "$BAD_PORT" || { echo "ERROR: servers"; exit 99; }
# Infrastructure sanity (selfcheck.sh checks more): openssl's OCSP client
# gets a verified "good" from our responder. Not counted as a test.
out=$(openssl ocsp -issuer "$rpki/inter.crt" -cert "$rpki/good.crt" -url "http://127.0.0.1:$OCSP_PORT/" \
  -CAfile "$rpki/root.crt" -timeout 5 2>&1)
case $out in *"Response verify OK"*"good.crt: good"*) ;; *) echo "ERROR: OCSP responder: $out"; exit 99 ;; esac

# Messages, one per leaf, From: NAME@r.example, signed by openssl cms.
sign=$top/tests/interop/sign-openssl.sh
for n in good revoked crlonly crlrevoked underrevoked dead slow malformed unauth nosource expiredcrl ocsponly; do
  sed "s/^From: .*/From: ${n^} <$n@r.example>/" "$top/tests/golden/message.eml" >"$work/msg/$n.plain"
  "$sign" "$rpki" "$n" "$work/msg/$n.plain" >"$work/msg/$n.eml" || { echo "ERROR: signing $n"; exit 99; }
done
# crlrevoked again, with an OLD inter CRL (from before the revocation)
# embedded in its SignedData: `openssl cms -sign` has no option for that, so
# add-crl.py puts it into the crls field of openssl's DER output.
# shellcheck source=../interop/common.sh
. "$top/tests/interop/common.sh"
mkdir -p "$work/emb"
split_message "$work/msg/crlrevoked.plain" "$work/emb"
if ! openssl cms -sign -binary -md sha256 -outform DER -signer "$rpki/crlrevoked.crt" \
  -inkey "$rpki/crlrevoked.key" -certfile "$rpki/crlrevoked.chain.pem" \
  -in "$work/emb/inner" -out "$work/emb/sig.der" ||
  ! "$PYTHON" "$here/add-crl.py" "$work/emb/sig.der" "$rpki/old-inter.crl" >"$work/emb/sig-crl.der"; then
  echo "ERROR: building the embedded-CRL signature"; exit 99
fi
wrap_detached "$work/emb" "$work/emb/sig-crl.der" >"$work/msg/embedded-old-crl.eml"
# carry NAME CRL OUT: $work/msg/OUT.eml, NAME's message signed again with
# the DER CRL carried in its SignedData.
carry() {
  local d=$work/carry/$3
  mkdir -p "$d"
  split_message "$work/msg/$1.plain" "$d" &&
    openssl cms -sign -binary -md sha256 -outform DER -signer "$rpki/$1.crt" \
      -inkey "$rpki/$1.key" -certfile "$rpki/$1.chain.pem" -in "$d/inner" -out "$d/sig.der" &&
    "$PYTHON" "$here/add-crl.py" "$d/sig.der" "$2" >"$d/sig-crl.der" &&
    wrap_detached "$d" "$d/sig-crl.der" >"$work/msg/$3.eml"
}
# ocsponly (OCSP on a dead port, no distribution point, revoked) with the
# old inter CRL that predates its revocation.
carry ocsponly "$rpki/old-inter.crl" ocsponly-old-crl || { echo "ERROR: building ocsponly-old-crl"; exit 99; }

pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# rconf LABEL [LINE...]: $work/LABEL.conf with its own state_dir and
# revocation_timeout = 2 (unless a LINE sets revocation_timeout).
rconf() {
  local label=$1 f=$work/$1.conf
  shift
  mkdir -p "$work/state/$label"
  {
    echo "authserv_id = mx.test"
    echo "trust_anchors = $rpki/trust.pem"
    echo "state_dir = $work/state/$label"
    case " $* " in *" revocation_timeout "*) ;; *) echo "revocation_timeout = 2" ;; esac
    for l in "$@"; do echo "$l"; done
  } >"$f"
  echo "$f"
}

# run CONF MSG LABEL: one `smimectl process --inbound --report` with the
# real clock. Sets GOT ("verdict reason"), LOG (stderr + the JSON "log"),
# MS (elapsed milliseconds), RC.
run() {
  local conf=$1 msg=$2 label=$3 json t0
  t0=$(date +%s%N)
  RC=0
  json=$("$SMIMECTL" -c "$conf" process --inbound --report "$msg" 2>"$work/$label.err") || RC=$?
  MS=$((($(date +%s%N) - t0) / 1000000))
  printf '%s\n' "$json" >"$work/$label.json"
  local v r
  v=$(printf '%s' "$json" | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
  r=$(printf '%s' "$json" | sed -n 's/.*"results":\[{"result":"[a-z]*","reason":"\([^"]*\)".*/\1/p')
  GOT="${v:-no-report} $r"
  GOT=${GOT% }
  LOG="$(cat "$work/$label.err") $(printf '%s' "$json" | sed -n 's/.*"log":"\(.*\)"}[[:space:]]*$/\1/p')"
}

# expect LABEL CONF MSG WANT LOG_ERE: verdict+reason must equal WANT
# ("pass", "fail certificate-revoked", ...) and the log must match LOG_ERE.
expect() {
  local label=$1 conf=$2 msg=$3 want=$4 re=$5
  run "$conf" "$msg" "$label"
  if [ "$GOT" != "$want" ]; then
    bad "$label: expected '$want', got '$GOT' (rc=$RC, ${MS} ms); log: $(head -c 400 <<<"$LOG")"
  elif ! grep -Eq -- "$re" <<<"$LOG"; then
    bad "$label: verdict ok but log does not match /$re/: $(head -c 400 <<<"$LOG")"
  else
    ok "$label: $GOT (${MS} ms)"
  fi
}

# within LABEL MAX_MS: the previous run's elapsed time is below MAX_MS.
within() {
  if [ "$MS" -lt "$2" ]; then ok "$1: ${MS} ms < $2 ms"; else bad "$1: took ${MS} ms, limit $2 ms"; fi
}

# counts: "OCSP CRL" request counters of the good responder and CRL server.
counts() { echo "$(srv_count ocsp) $(srv_count crl)"; }

M=$work/msg
UNAVAIL='revocation=(unavailable|unknown)'
BOUND=$((2 * 4 * 1000 + 5000)) # revocation_timeout*4 + 5 s, in ms

# --- verdicts under revocation = hard (the default, also set explicitly) ---
expect good "$(rconf good 'revocation = hard')" "$M/good.eml" "pass" 'revocation=good, revocation_source=ocsp'
expect revoked "$(rconf revoked)" "$M/revoked.eml" "fail certificate-revoked" 'revocation=revoked, revocation_source=ocsp'
expect revoked-order-crl "$(rconf revoked-crl 'revocation_order = crl')" "$M/revoked.eml" \
  "fail certificate-revoked" 'revocation=revoked, revocation_source=crl'
expect revoked-order-crl-ocsp "$(rconf revoked-crl-ocsp 'revocation_order = crl, ocsp')" "$M/revoked.eml" \
  "fail certificate-revoked" 'revocation=revoked, revocation_source=crl'
expect crlonly "$(rconf crlonly)" "$M/crlonly.eml" "pass" 'revocation=good, revocation_source=crl'
expect crlrevoked "$(rconf crlrevoked)" "$M/crlrevoked.eml" "fail certificate-revoked" 'revocation=revoked, revocation_source=crl'
expect underrevoked "$(rconf underrevoked)" "$M/underrevoked.eml" "fail certificate-revoked" 'revocation=revoked'
expect embedded-old-crl "$(rconf embedded)" "$M/embedded-old-crl.eml" "fail certificate-revoked" 'revocation=revoked'
expect embedded-crl-dp-unreachable "$(rconf embdown 'revocation_order = crl' 'revocation_network = no')" "$M/embedded-old-crl.eml" "temperror revocation-status-unknown" 'revocation=unavailable'
# OCSP responder down and no distribution point: the carried CRL (from
# before the revocation) is never the only source.
expect carried-crl-ocsp-down "$(rconf ocspdown)" "$M/ocsponly-old-crl.eml" \
  "temperror revocation-status-unknown" 'revocation=unknown, revocation_source=crl'
expect dead "$(rconf dead)" "$M/dead.eml" "temperror revocation-status-unknown" "$UNAVAIL"
within "dead bounded" "$BOUND"
expect slow "$(rconf slow)" "$M/slow.eml" "temperror revocation-status-unknown" "$UNAVAIL"
within "slow bounded" "$BOUND"
# One deadline for all waits of the message (eom_deadline): the slow
# responder's fetch gets the 3 s left, not its revocation_timeout of 10 s,
# and nothing is fetched after it (without the deadline: OCSP, then CRL,
# 20 s).
expect slow-eom-deadline "$(rconf slowdl 'revocation_timeout = 10' 'eom_deadline = 3')" "$M/slow.eml" \
  "temperror revocation-status-unknown" 'revocation=unavailable, revocation_source=deadline'
within "slow cut at eom_deadline" 6000
expect malformed "$(rconf malformed)" "$M/malformed.eml" "temperror revocation-status-unknown" "$UNAVAIL"
within "malformed bounded" "$BOUND"
# OCSP answer signed by a key inter never authorised: ignored. OCSP only, so
# no CRL fallback can rescue it: temperror, never pass.
n0=$(srv_count unauth)
expect unauth-ocsp-only "$(rconf unauth 'revocation_order = ocsp')" "$M/unauth.eml" \
  "temperror revocation-status-unknown" "$UNAVAIL"
if [ "$(srv_count unauth)" -gt "$n0" ]; then ok "unauth: the rogue responder was asked"; else bad "unauth: rogue responder never asked"; fi
# With the default order the CRL may rescue it, but only as good from the crl.
run "$(rconf unauth-default)" "$M/unauth.eml" unauth-default
case "$GOT" in
  "temperror revocation-status-unknown") ok "unauth-default-order: $GOT" ;;
  pass) if grep -Eq 'revocation=good, revocation_source=crl' <<<"$LOG"; then ok "unauth-default-order: pass via crl"
        else bad "unauth-default-order: pass NOT via crl: $LOG"; fi ;;
  *) bad "unauth-default-order: got '$GOT': $LOG" ;;
esac
expect nosource-hard "$(rconf nosource-hard)" "$M/nosource.eml" "policy no-revocation-source" \
  'revocation=(no-source|unknown|unavailable)'
expect nosource-soft "$(rconf nosource-soft 'revocation = soft')" "$M/nosource.eml" "pass" \
  'revocation=(unknown|no-source)'
expect nosource-off "$(rconf nosource-off 'revocation = off')" "$M/nosource.eml" "pass" 'revocation=not-checked'
expect expiredcrl-hard "$(rconf expiredcrl-hard)" "$M/expiredcrl.eml" "temperror revocation-status-unknown" "$UNAVAIL"
expect expiredcrl-soft "$(rconf expiredcrl-soft 'revocation = soft')" "$M/expiredcrl.eml" "pass" 'revocation=unknown'
expect revoked-soft "$(rconf revoked-soft 'revocation = soft')" "$M/revoked.eml" "fail certificate-revoked" 'revocation=revoked'
expect dead-soft "$(rconf dead-soft 'revocation = soft')" "$M/dead.eml" "pass" 'revocation=(unknown|unavailable)'
expect good-nonce "$(rconf good-nonce 'ocsp_nonce = yes')" "$M/good.eml" "pass" 'revocation=good, revocation_source=ocsp'
# A local CRL (crl_files, PEM) is a revocation source for the leaf.
openssl crl -inform DER -in "$rpki/www/inter.crl" -out "$work/inter-local.pem"
expect nosource-local-crl "$(rconf local-crl "crl_files = $work/inter-local.pem")" "$M/nosource.eml" \
  "pass" 'revocation=good, revocation_source=crl'
# ...and DER works too, and it revokes.
expect crlrevoked-local-der "$(rconf local-der "crl_files = $rpki/www/inter.crl" 'revocation_order = crl')" \
  "$M/crlrevoked.eml" "fail certificate-revoked" 'revocation=revoked'
# The OCSP answer (~1.4 kB with the responder certificate) exceeds 1K.
expect ocsp-too-big "$(rconf toobig 'revocation_order = ocsp' 'revocation_max_response_size = 1K')" \
  "$M/good.eml" "temperror revocation-status-unknown" "$UNAVAIL"
# off: no network at all.
before=$(counts)
expect good-off "$(rconf good-off 'revocation = off')" "$M/good.eml" "pass" 'revocation=not-checked'
if [ "$(counts)" = "$before" ]; then ok "off: no request"; else bad "off: requests $before -> $(counts)"; fi
# A bad value is a configuration error (78).
run "$(rconf badvalue 'revocation = sometimes')" "$M/good.eml" badvalue
if [ "$RC" = 78 ]; then ok "revocation = sometimes: exit 78"; else bad "revocation = sometimes: exit $RC"; fi

# --- cache: a second smimectl (a restart) with the same state_dir asks no one ---
conf=$(rconf cache)
expect cache-first "$conf" "$M/good.eml" "pass" 'revocation=good, revocation_source=ocsp'
before=$(counts)
expect cache-second "$conf" "$M/good.eml" "pass" 'revocation=good, revocation_source=cache'
if [ "$(counts)" = "$before" ]; then ok "cache: no OCSP/CRL request on the second run"
else bad "cache: requests (ocsp crl) $before -> $(counts)"; fi
conf=$(rconf crlcache)
expect crlcache-first "$conf" "$M/crlonly.eml" "pass" 'revocation=good, revocation_source=crl'
if ls "$work/state/crlcache/crl/"* >/dev/null 2>&1; then ok "CRL cached under state_dir/crl/"
else bad "nothing under state_dir/crl/"; fi
before=$(counts)
expect crlcache-second "$conf" "$M/crlonly.eml" "pass" 'revocation=good, revocation_source=cache'
if [ "$(counts)" = "$before" ]; then ok "CRL cache from disk: no request"
else bad "CRL cache: requests (ocsp crl) $before -> $(counts)"; fi

# --- smimectl crl fetch: refreshes the cached CRLs after the server's changed ---
sleep 1.1 # mtime granularity
stamp() { find "$work/state/crlcache/crl" -type f -printf '%p %T@ %s\n' 2>/dev/null | sort; }
old=$(stamp)
"$here/gen-revocation-pki.sh" --gencrl "$rpki" inter
n0=$(srv_count crl)
rc=0
"$SMIMECTL" -c "$conf" crl fetch >"$work/crlfetch.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then ok "crl fetch: exit 0"; else bad "crl fetch: exit $rc: $(head -c 300 "$work/crlfetch.out")"; fi
if [ "$(srv_count crl)" -gt "$n0" ]; then ok "crl fetch: asked the CRL server"; else bad "crl fetch: no request"; fi
if [ -n "$old" ] && [ "$(stamp)" != "$old" ]; then ok "crl fetch: cache files refreshed"
else bad "crl fetch: cache unchanged: $old"; fi
# A cached CRL whose distribution point now answers 404: crl fetch says 75.
mv "$rpki/www/inter.crl" "$rpki/www/inter.crl.away"
rc=0
"$SMIMECTL" -c "$conf" crl fetch >"$work/crlfetch2.out" 2>&1 || rc=$?
mv "$rpki/www/inter.crl.away" "$rpki/www/inter.crl"
if [ "$rc" = 75 ]; then ok "crl fetch with a failing distribution point: exit 75"
else bad "crl fetch (404): exit $rc, want 75: $(head -c 300 "$work/crlfetch2.out")"; fi
# ...and the cached CRL is still used afterwards (not dropped by the failure).
before=$(counts)
expect crlcache-after-failed-fetch "$conf" "$M/crlonly.eml" "pass" 'revocation=good, revocation_source=cache'
if [ "$(counts)" = "$before" ]; then ok "CRL cache kept after a failed fetch"
else bad "CRL cache after failed fetch: requests $before -> $(counts)"; fi

# --- smimectl revocation check ---
# check LABEL CONF PEM WANT_RC ERE...: exit status and one line per ERE.
check() {
  local label=$1 conf=$2 pem=$3 want=$4 rc=0 re
  shift 4
  "$SMIMECTL" -c "$conf" revocation check "$pem" >"$work/$label.out" 2>&1 || rc=$?
  if [ "$rc" != "$want" ]; then bad "$label: exit $rc, want $want: $(head -c 400 "$work/$label.out")"; return; fi
  for re in "$@"; do
    grep -Eq -- "$re" "$work/$label.out" || { bad "$label: no line /$re/ in: $(head -c 400 "$work/$label.out")"; return; }
  done
  ok "$label: exit $rc"
}
check check-good "$(rconf check-good)" "$rpki/good.full.pem" 0 \
  '^depth=0 subject="[^"]*Good[^"]*" status=good source=ocsp \(live\)' \
  '^depth=1 subject="[^"]*Intermediate[^"]*" status=good source=crl \((live|cache)\)'
check check-revoked "$(rconf check-revoked)" "$rpki/revoked.full.pem" 2 \
  '^depth=0 .*status=revoked source=ocsp'
check check-underrevoked "$(rconf check-under)" "$rpki/underrevoked.full.pem" 2 \
  '^depth=0 .*status=good source=crl' '^depth=1 .*Revoked Intermediate.*status=revoked source=crl'
check check-nosource "$(rconf check-nosource)" "$rpki/nosource.full.pem" 3 '^depth=0 .*status=no-source source=none'
check check-dead "$(rconf check-dead)" "$rpki/dead.full.pem" 3 '^depth=0 .*status=(unavailable|unknown)'
conf=$(rconf check-cached)
check check-live "$conf" "$rpki/good.full.pem" 0 '^depth=0 .*status=good source=ocsp \(live\)'
check check-cache "$conf" "$rpki/good.full.pem" 0 '^depth=0 .*status=good source=ocsp \(cache\)'
check check-badconf "$(rconf check-bad 'revocation_order = dns')" "$rpki/good.full.pem" 78

# --- delta CRLs are refused (RFC 5280 5.2.4): never the complete list ---
# xcrl NAME INDEX CRLNUM LASTUPDATE [BASE_CRLNUM] [IDP_URL]: $work/NAME.crl
# (DER) signed by inter from a private copy of an index (inter's real
# database is left alone), nextUpdate in 30 days; with BASE_CRLNUM (hex,
# like the crlnumber file) it carries a critical deltaCRLIndicator naming
# that base; with IDP_URL a critical issuingDistributionPoint naming that
# URL (a partition). openssl 3.0 has no config syntax for deltaCRL's value,
# hence the generic ASN1: form.
dnow=$(date -u +%s)
dts() { date -u -d "@$1" +%Y%m%d%H%M%SZ; }
xcrl() {
  local name=$1 index=$2 num=$3 last=$4 delta=${5:-} idp=${6:-} d=$work/xcrl/$1
  mkdir -p "$d"
  cp "$index" "$d/index.txt"
  echo "$num" >"$d/crlnumber"
  cat >"$d/ca.cnf" <<EOT
[ca]
default_ca = x
[x]
database = $d/index.txt
crlnumber = $d/crlnumber
certificate = $rpki/inter.crt
private_key = $rpki/inter.key
default_md = sha256
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
${delta:+deltaCRL = critical, ASN1:INTEGER:0x$delta}
${idp:+issuingDistributionPoint = critical, @idp}
${idp:+[idp]}
${idp:+fullname = URI:$idp}
EOT
  openssl ca -batch -config "$d/ca.cnf" -gencrl -crl_lastupdate "$(dts "$last")" \
    -crl_nextupdate "$(dts $((dnow + 30 * 86400)))" -out "$d/crl.pem" 2>"$d/err" &&
    openssl crl -in "$d/crl.pem" -outform DER -out "$work/$name.crl"
}
: >"$work/empty-index.txt"
# base: complete, 2 h old, revokes revoked + crlrevoked (inter's index).
# delta: 1 h old (newer), crlNumber 11 >= base 10, lists nothing.
# complete-empty: the same as delta but WITHOUT deltaCRLIndicator (control:
# it shows what the delta would mean if it were taken as the full list).
if ! xcrl base "$rpki/ca/inter/index.txt" 10 $((dnow - 7200)) ||
  ! xcrl delta "$work/empty-index.txt" 11 $((dnow - 3600)) 10 ||
  ! xcrl complete-empty "$work/empty-index.txt" 11 $((dnow - 3600)) ||
  ! openssl crl -in "$work/delta.crl" -inform DER -noout -text | grep -q 'Delta CRL Indicator: critical'; then
  bad "delta CRL: could not build the CRLs: $(cat "$work"/xcrl/*/err)"
else
  R=$rpki/www/root.crl # so that depth=1 (inter) is good offline too
  off=('revocation_network = no' 'revocation_order = crl')
  # Controls: the generated CRLs are sound (signature, times, issuer).
  check delta-control-empty "$(rconf dc-empty "${off[@]}" "crl_files = $R, $work/complete-empty.crl")" \
    "$rpki/nosource.full.pem" 0 '^depth=0 .*Nosource.*status=good source=crl'
  check delta-control-base "$(rconf dc-base "${off[@]}" "crl_files = $R, $work/base.crl")" \
    "$rpki/crlrevoked.full.pem" 2 '^depth=0 .*Crlrevoked.*status=revoked source=crl'
  # ...and a newer COMPLETE CRL does supersede the base: exactly what a
  # delta must not do.
  check delta-control-newer-complete \
    "$(rconf dc-newer "${off[@]}" "crl_files = $R, $work/base.crl, $work/complete-empty.crl")" \
    "$rpki/crlrevoked.full.pem" 0 '^depth=0 .*Crlrevoked.*status=good source=crl'
  # A delta CRL alone is no usable source: not good.
  check delta-only "$(rconf d-only "${off[@]}" "crl_files = $R, $work/delta.crl")" \
    "$rpki/nosource.full.pem" 3 '^depth=0 .*Nosource.*status=(unavailable|unknown) source=crl.*delta-crl-not-supported' \
    '^depth=1 .*status=good'
  expect delta-only-message "$(rconf d-only-msg "${off[@]}" "crl_files = $R, $work/delta.crl")" \
    "$M/nosource.eml" "temperror revocation-status-unknown" "$UNAVAIL"
  expect delta-only-soft "$(rconf d-only-soft 'revocation = soft' "${off[@]}" "crl_files = $R, $work/delta.crl")" \
    "$M/nosource.eml" "pass" 'revocation=(unavailable|unknown)'
  # Base (revoking the leaf) + newer delta (not listing it), both orders: revoked.
  check delta-base-then-delta "$(rconf d-bd "${off[@]}" "crl_files = $R, $work/base.crl, $work/delta.crl")" \
    "$rpki/crlrevoked.full.pem" 2 '^depth=0 .*Crlrevoked.*status=revoked source=crl'
  check delta-delta-then-base "$(rconf d-db "${off[@]}" "crl_files = $R, $work/delta.crl, $work/base.crl")" \
    "$rpki/crlrevoked.full.pem" 2 '^depth=0 .*Crlrevoked.*status=revoked source=crl'
  expect delta-base-message "$(rconf d-bd-msg "${off[@]}" "crl_files = $R, $work/delta.crl, $work/base.crl")" \
    "$M/crlrevoked.eml" "fail certificate-revoked" 'revocation=revoked, revocation_source=crl'
  # Served by the distribution point (network on): the delta in place of
  # inter.crl is refused, alone and next to a local base CRL.
  mv "$rpki/www/inter.crl" "$work/inter.crl.saved"
  cp "$work/delta.crl" "$rpki/www/inter.crl"
  n0=$(srv_count crl)
  check delta-at-dp "$(rconf d-dp 'revocation_order = crl')" "$rpki/crlonly.full.pem" 3 \
    '^depth=0 .*Crlonly.*status=(unavailable|unknown) source=crl.*delta-crl-not-supported'
  check delta-at-dp-with-base "$(rconf d-dp-base 'revocation_order = crl' "crl_files = $work/base.crl")" \
    "$rpki/crlrevoked.full.pem" 2 '^depth=0 .*Crlrevoked.*status=revoked source=crl'
  if [ "$(srv_count crl)" -gt "$n0" ]; then ok "delta-at-dp: the CRL server was asked"
  else bad "delta-at-dp: the CRL server was never asked"; fi
  mv "$work/inter.crl.saved" "$rpki/www/inter.crl"
  # Carried in the message (no distribution point on the leaf): refused too.
  mkdir -p "$work/demb"
  split_message "$work/msg/nosource.plain" "$work/demb"
  if openssl cms -sign -binary -md sha256 -outform DER -signer "$rpki/nosource.crt" \
    -inkey "$rpki/nosource.key" -certfile "$rpki/nosource.chain.pem" \
    -in "$work/demb/inner" -out "$work/demb/sig.der" &&
    "$PYTHON" "$here/add-crl.py" "$work/demb/sig.der" "$work/delta.crl" >"$work/demb/sig-crl.der"; then
    wrap_detached "$work/demb" "$work/demb/sig-crl.der" >"$work/msg/nosource-embedded-delta.eml"
    expect delta-embedded "$(rconf d-emb "${off[@]}" "crl_files = $R")" "$M/nosource-embedded-delta.eml" \
      "temperror revocation-status-unknown" "$UNAVAIL"
  else
    bad "delta-embedded: could not build the message"
  fi
fi

# --- CRL partitions (issuingDistributionPoint, RFC 5280 6.3.3) ---
# part2: a newer CRL of inter for ANOTHER partition (other.crl), listing
# nothing; part1: the same for inter.crl's own partition (control).
crlurl=http://127.0.0.1:$CRL_PORT
if ! xcrl part2 "$work/empty-index.txt" 20 $((dnow + 60)) '' "$crlurl/other.crl" ||
  ! xcrl part1 "$work/empty-index.txt" 20 $((dnow + 60)) '' "$crlurl/inter.crl" ||
  ! openssl crl -in "$work/part2.crl" -inform DER -noout -text | grep -q 'Issuing Distribution Point: critical'; then
  bad "partitions: could not build the CRLs: $(cat "$work"/xcrl/part*/err)"
else
  # Carried in crlrevoked's message, next to inter.crl (which lists it).
  if carry crlrevoked "$work/part2.crl" crlrevoked-part2 && carry crlrevoked "$work/part1.crl" crlrevoked-part1; then
    expect carried-other-partition "$(rconf part2-carried 'revocation_order = crl')" "$M/crlrevoked-part2.eml" \
      "fail certificate-revoked" 'revocation=revoked, revocation_source=crl'
    # Control: a newer CRL of its own partition is used (the CA's newer word).
    expect carried-own-partition "$(rconf part1-carried 'revocation_order = crl')" "$M/crlrevoked-part1.eml" \
      "pass" 'revocation=good, revocation_source=crl'
  else
    bad "partitions: could not build the messages"
  fi
  # Served at inter.crl's URL: another partition is refused, its own is used.
  mv "$rpki/www/inter.crl" "$work/inter.crl.saved"
  cp "$work/part2.crl" "$rpki/www/inter.crl"
  check partition-mismatch-at-dp "$(rconf part2-dp 'revocation_order = crl')" "$rpki/crlonly.full.pem" 3 \
    '^depth=0 .*Crlonly.*status=unknown source=crl.*crl-distribution-point-mismatch'
  cp "$work/part1.crl" "$rpki/www/inter.crl"
  check partition-match-at-dp "$(rconf part1-dp 'revocation_order = crl')" "$rpki/crlonly.full.pem" 0 \
    '^depth=0 .*Crlonly.*status=good source=crl'
  mv "$work/inter.crl.saved" "$rpki/www/inter.crl"
fi

# --- the daemon: in-memory OCSP cache and circuit breaker (one process) ---
if ! command -v miltertest >/dev/null || [ ! -x "$MILTER" ]; then
  skip_part "daemon cases: miltertest or $MILTER missing"
else
  chmod 755 "$work" "$work/msg"
  chmod -R a+rX "$rpki"
  mkdir -p "$work/dstate"
  chown nobody "$work/dstate" 2>/dev/null || true
  dconf=$work/daemon.conf
  {
    echo "authserv_id = mx.test"
    echo "trust_anchors = $rpki/trust.pem"
    echo "state_dir = $work/dstate"
    echo "socket = unix:$work/milter.sock"
    echo "socket_mode = 0666"
    echo "user = nobody"
    echo "revocation_timeout = 2"
    echo "revocation_breaker_threshold = 2"
    echo "revocation_breaker_cooldown = 600"
  } >"$dconf"
  "$MILTER" -c "$dconf" -f -e >/dev/null 2>"$work/milter.log" &
  daemon_pid=$!
  for _ in $(seq 50); do [ -S "$work/milter.sock" ] && break; sleep 0.1; done
  # send QID MSG VERDICT: one message; sets MS.
  send() {
    local t0
    t0=$(date +%s%N)
    if miltertest -s "$here/send.lua" -D sock="unix:$work/milter.sock" -D msgdir="$work/msg" \
      -D helper="$top/tests/milter/helper.lua" -D msg="$2" -D qid="$1" -D verdict="$3" \
      >"$work/$1.mt" 2>&1; then
      MS=$((($(date +%s%N) - t0) / 1000000)); return 0
    fi
    MS=$((($(date +%s%N) - t0) / 1000000)); bad "daemon $1: $(tr '\n' ' ' <"$work/$1.mt")"; return 1
  }
  # dlog QID ERE: the daemon's log line for QID matches ERE.
  dlog() {
    local line
    line=$(grep "$1: verify:" "$work/milter.log" | tail -1)
    if grep -Eq -- "$2" <<<"$line"; then ok "daemon $1: /$2/"; else bad "daemon $1: /$2/ not in: $line"; fi
  }
  if [ -S "$work/milter.sock" ]; then
    send QGOOD1 good.eml pass && dlog QGOOD1 'revocation=good, revocation_source=ocsp'
    before=$(counts)
    send QGOOD2 good.eml pass && dlog QGOOD2 'revocation=good, revocation_source=cache'
    if [ "$(counts)" = "$before" ]; then ok "daemon: in-memory cache, no request"
    else bad "daemon: requests $before -> $(counts)"; fi
    # Breaker: slow responder, threshold 2. Two slow failures (each bounded
    # by the timeout), then the third must not touch the network at all.
    # (The dead port refuses at once, so only the slow one shows the time.)
    send QSLOW1 slow.eml temperror && within "daemon slow 1 bounded" "$BOUND"
    send QSLOW2 slow.eml temperror && within "daemon slow 2 bounded" "$BOUND"
    n0=$(srv_count slow)
    send QSLOW3 slow.eml temperror && within "daemon slow 3: breaker open, fast" 1500
    if [ "$(srv_count slow)" = "$n0" ]; then ok "daemon: breaker open, no request to the slow server"
    else bad "daemon: breaker: slow server asked again ($n0 -> $(srv_count slow))"; fi
    for q in QDEAD1 QDEAD2 QDEAD3; do send "$q" dead.eml temperror || true; done
    within "daemon dead 3 fast" 1500
    send QGOOD3 good.eml pass # other responders are unaffected
    if grep -q "panic:" "$work/milter.log"; then bad "daemon: panic in log"; fi
  else
    bad "daemon did not start: $(head -c 400 "$work/milter.log")"
  fi
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
