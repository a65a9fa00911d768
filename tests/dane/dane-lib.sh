# shellcheck shell=bash
# tests/dane/dane-lib.sh: a DNSSEC-signed test zone served by a private nsd
# (sourced after tests/lib.sh; used by tests/dane/run-dane.sh and
# tests/e2e/run-postfix-dane.sh).
#
# dane_require: fails in strict mode (skips otherwise) without nsd,
#   ldns-keygen, ldns-signzone or drill (Debian: nsd ldnsutils).
# dane_zones: (after make_pki) builds $work/nsd with two zones. dane.example
#   is signed with ldns-keygen/ldns-signzone; its DNSKEY is the test's own
#   trust anchor, $work/anchor.key (0644). plain.example is unsigned.
#   Records (RFC 8162 owner names, in RFC 3597 form):
#     alice@dane.example  3 0 0: the PKI's "selfsigned" certificate (no CA,
#                         another address)
#     big@dane.example    3 0 0 three times (selfsigned, alice, carol): more
#                         than 1232 octets, so truncated over UDP
#     mal@dane.example    3 0 0 selfsigned, one hex digit changed after
#                         signing: bogus
#     hash@dane.example   3 1 1 (SHA-256 of alice's SPKI) only
#     alice@plain.example 3 0 0 selfsigned in the unsigned zone: insecure
# start_nsd / stop_nsd: nsd -d on 127.0.0.1:$DANE_PORT (a free port), as
#   nobody when run as root ($work/nsd is then nobody's and $work 0755);
#   start_nsd waits until it answers (returns 1 if it never does, with its
#   log on stdout), stop_nsd waits for it to end.
# dane_owner LOCALPART: the owner name's labels before the domain.

dane_require() {
  local t
  DANE_NSD=$(command -v nsd || command -v /usr/sbin/nsd || true)
  for t in ldns-keygen ldns-signzone drill; do
    command -v "$t" >/dev/null || skip_or_fail "$t not installed (Debian: ldnsutils)"
  done
  [ -n "$DANE_NSD" ] || skip_or_fail "nsd not installed (Debian: nsd)"
}

dane_owner() { printf '%s._smimecert' "$(printf '%s' "$1" | sha256sum | cut -c1-56)"; }
# dane_rr OWNER USAGE SELECTOR MATCHING HEXDATA: one SMIMEA record, RFC 3597 form
dane_rr() {
  local hex
  hex="$(printf '%02x%02x%02x' "$2" "$3" "$4")$5"
  printf '%s 300 IN TYPE53 \\# %d %s\n' "$1" $((${#hex} / 2)) "$hex"
}
dane_derhex() { openssl x509 -in "$pki/$1.crt" -outform DER | od -An -v -tx1 | tr -d ' \n'; }
dane_zone_head() {  # dane_zone_head ORIGIN
  printf '$ORIGIN %s.\n$TTL 300\n' "$1"
  printf '@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
    "$1" "$1" "$1"
}

dane_zones() {
  local d=$work/nsd key spki n mal
  mkdir -p "$d"
  spki=$(openssl x509 -in "$pki/alice.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n')
  {
    dane_zone_head dane.example
    dane_rr "$(dane_owner alice)" 3 0 0 "$(dane_derhex selfsigned)"
    for n in selfsigned alice carol; do dane_rr "$(dane_owner big)" 3 0 0 "$(dane_derhex $n)"; done
    dane_rr "$(dane_owner mal)" 3 0 0 "$(dane_derhex selfsigned)"
    dane_rr "$(dane_owner hash)" 3 1 1 "$spki"
  } >"$d/dane.example.zone"
  {
    dane_zone_head plain.example
    dane_rr "$(dane_owner alice)" 3 0 0 "$(dane_derhex selfsigned)"
  } >"$d/plain.example.zone"
  (cd "$d" && ldns-keygen -a ECDSAP256SHA256 -k dane.example >"$d/keyname") ||
    { echo "ERROR: ldns-keygen failed"; return 1; }
  key=$(cat "$d/keyname")
  ldns-signzone -o dane.example -f "$d/dane.example.zone.signed" "$d/dane.example.zone" "$d/$key" ||
    { echo "ERROR: ldns-signzone failed"; return 1; }
  grep -q RRSIG "$d/dane.example.zone.signed" || { echo "ERROR: no RRSIG in the signed zone"; return 1; }
  cp "$d/$key.key" "$work/anchor.key"  # the DNSKEY: the test's own trust anchor
  chmod 644 "$work/anchor.key"
  # Bogus: change the last hex digit of mal's record data after signing
  # (still a parseable record, no longer the signed one).
  mal=$(dane_owner mal)
  awk -v o="$mal.dane.example." '
    $1 == o && $4 != "RRSIG" && !done { c = substr($NF, length($NF)); r = (c == "0") ? "1" : "0";
      $NF = substr($NF, 1, length($NF) - 1) r; done = 1 } { print }' \
    "$d/dane.example.zone.signed" >"$d/signed.tmp" && mv "$d/signed.tmp" "$d/dane.example.zone.signed"
  grep -Eq "^$mal\.dane\.example\..*(SMIMEA|TYPE53)" "$d/dane.example.zone.signed" ||
    { echo "ERROR: mal's record not found in the signed zone"; return 1; }
}

DANE_PORT=""
DANE_NSD_PID=""
dane_nsd_conf() {
  local d=$work/nsd
  cat >"$d/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$DANE_PORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$d"
  pidfile: "$d/nsd.pid"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  logfile: "$d/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: dane.example
  zonefile: dane.example.zone.signed
zone:
  name: plain.example
  zonefile: plain.example.zone
CONF
}

start_nsd() {
  local d=$work/nsd as=()
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$work"
    chown -R nobody "$d"
    as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
  fi
  for _ in 1 2 3 4 5; do
    DANE_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    dane_nsd_conf
    "${as[@]}" "$DANE_NSD" -d -c "$d/nsd.conf" >>"$d/nsd.out" 2>&1 &
    DANE_NSD_PID=$!
    for _ in $(seq 100); do
      drill -p "$DANE_PORT" @127.0.0.1 dane.example SOA 2>/dev/null | grep -q 'rcode: NOERROR' &&
        return 0
      kill -0 "$DANE_NSD_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_nsd
  done
  echo "ERROR: nsd did not start:"
  tail -20 "$d/nsd.out" "$d/nsd.log" 2>/dev/null
  return 1
}

stop_nsd() {
  [ -n "$DANE_NSD_PID" ] || return 0
  kill "$DANE_NSD_PID" 2>/dev/null
  wait "$DANE_NSD_PID" 2>/dev/null
  DANE_NSD_PID=
}
