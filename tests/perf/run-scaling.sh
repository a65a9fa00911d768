#!/usr/bin/env bash
# run-scaling.sh [size|rcpts|chain]...: how the engine's cost grows
# (docs/performance.md, "How cost grows"). A tool, not a test: it prints
# smimectl bench lines (messages/s, us/message) and asserts nothing about
# speed; each line must still report the expected verdict or action.
#   size   message size 1 KB .. 30 MB: verify (clear-signed by alice),
#          sign (clear, alice) and encrypt (to carol), N scaled so each
#          size runs about as long
#   rcpts  1, 10, 100 recipients at b.example (encrypt = required), one
#          certificate each in the store (one RSA-2048 key, 100
#          certificates), 1.6 KB message
#   chain  chain length 2 .. 6 (root, 0..4 intermediates, leaf; RSA-2048,
#          made for this run, checked at the real time), 4.5 KB clear-signed
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
make_pki
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(size rcpts chain)
failed=0
mkdir -p "$work/pol" "$work/state"
printf 'encrypt = required\n' >"$work/pol/b.example.conf"
echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
common=("signing_identities = $work/ids" "signing_users = $work/users" "policy_dir = $work/pol"
        "state_dir = $work/state")
write_config "$work/sign.conf" "sign = clear" "max_message_size = 64M" "${common[@]}"
write_config "$work/nosign.conf" "sign = none" "max_message_size = 64M" "${common[@]}"
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol.pem"
"$SMIMECTL" -c "$work/sign.conf" cert add "$work/carol.pem" >/dev/null || exit 1

message() { # message FILE BYTES
  { printf 'From: Alice <alice@a.example>\r\nTo: Carol <carol@b.example>\r\nSubject: scale\r\n'
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
    awk -v n="$2" 'BEGIN { for (i = 0; i * 72 < n - 200; i++)
      printf "line %07d: the quick brown fox jumps over the lazy dog, 0123456789 abc\r\n", i }'
  } >"$1"
}
bench() { # bench LABEL WANT CONF N ARGS...
  local label=$1 want=$2 conf=$3 n=$4 line
  shift 4
  line=$("$SMIMECTL" -c "$conf" bench -n "$n" "$@" 2>&1)
  printf '%-22s %s\n' "$label" "${line#*: }"
  case $line in *"$want"*messages/s*) ;; *) echo "FAIL $label: want $want" >&2; failed=$((failed + 1)) ;; esac
}

for mode in "${modes[@]}"; do
  case $mode in
  size)
    for kb in 1 10 100 1000 10000 30000; do
      message "$work/m$kb.plain" $((kb * 1024))
      "$top/tests/interop/sign-openssl.sh" "$pki" alice "$work/m$kb.plain" >"$work/m$kb.signed"
      n=$((4000 / kb)); [ "$n" -lt 3 ] && n=3
      bench "verify ${kb} KB" verdict=pass "$work/sign.conf" "$n" --now "$NOW" "$work/m$kb.signed"
      bench "sign ${kb} KB" action=signed "$work/sign.conf" "$n" --now "$NOW" --outbound \
        --sasl-user alice "$work/m$kb.plain"
      bench "encrypt ${kb} KB" encryption=aes256-cbc "$work/nosign.conf" "$n" --now "$NOW" \
        --outbound --sasl-user alice --rcpt carol@b.example "$work/m$kb.plain"
    done ;;
  rcpts)
    message "$work/r.plain" 1600
    d=$work/rcpt-ca
    mkdir -p "$d"
    rcpts=()
    for i in $(seq 100); do
      printf 'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:r%s@b.example\n' "$i" >"$d/ext"
      openssl req -new -key "$pki/carol.key" -subj "/O=smime-milter tests/CN=R$i" -out "$d/r.csr" 2>/dev/null
      # Validity from the intermediate's own; checked at the pinned time.
      openssl x509 -req -in "$d/r.csr" -CA "$pki/inter.crt" -CAkey "$pki/inter.key" \
        -set_serial $((0x5000 + i)) -days 36500 -extfile "$d/ext" -out "$d/r$i.crt" 2>/dev/null
      rcpts+=("r$i@b.example")
    done
    # Certificates issued now: checked at the real time (the test PKI's
    # intermediate is valid then too).
    now=$(($(date +%s) + 3600))  # after every notBefore of the certificates made here
    for i in $(seq 100); do cat "$d/r$i.crt" "$pki/inter.crt" >"$d/r$i.pem"; done
    for i in $(seq 100); do "$SMIMECTL" -c "$work/sign.conf" cert add "$d/r$i.pem" >/dev/null || exit 1; done
    for k in 1 10 100; do
      args=()
      for ((i = 0; i < k; i++)); do args+=(--rcpt "${rcpts[$i]}"); done
      bench "encrypt ${k} recipients" encryption=aes256-cbc "$work/nosign.conf" $((400 / k + 3)) \
        --now "$now" --outbound --sasl-user alice "${args[@]}" "$work/r.plain"
    done ;;
  chain)
    message "$work/c.plain" 4300
    now=$(($(date +%s) + 3600))  # after every notBefore of the certificates made here
    for len in 2 3 4 5 6; do
      d=$work/chain$len
      mkdir -p "$d"
      printf '[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:alice@a.example\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >"$d/ext"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/c0.key" -subj "/CN=Scale Root $len" \
        -days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$d/c0.crt" 2>/dev/null
      : >"$d/chain.pem"
      for ((i = 1; i < len; i++)); do
        ext=ca; [ "$i" -eq $((len - 1)) ] && ext=leaf
        openssl req -new -newkey rsa:2048 -nodes -keyout "$d/c$i.key" -subj "/CN=Scale $len $i" \
          -out "$d/c$i.csr" 2>/dev/null
        openssl x509 -req -in "$d/c$i.csr" -CA "$d/c$((i - 1)).crt" -CAkey "$d/c$((i - 1)).key" \
          -set_serial "$i" -days 30 -extfile "$d/ext" -extensions "$ext" -out "$d/c$i.crt" 2>/dev/null
        [ "$ext" = ca ] && cat "$d/c$i.crt" >>"$d/chain.pem"
      done
      leaf=$d/c$((len - 1))
      mkdir -p "$d/id"
      cp "$leaf.crt" "$d/id/alice.crt"; cp "$leaf.key" "$d/id/alice.key"; cp "$d/chain.pem" "$d/id/alice.chain.pem"
      "$top/tests/interop/sign-openssl.sh" "$d/id" alice "$work/c.plain" >"$d/signed.eml"
      write_config "$d/conf" "trust_anchors = $d/c0.crt" "state_dir = $work/state"
      [ -n "${SMIME_SCALE_DEBUG:-}" ] && "$SMIMECTL" -c "$d/conf" process --report --now "$now" "$d/signed.eml" 2>&1 | tail -3
      bench "verify chain of $len" verdict=pass "$d/conf" 2000 --now "$now" "$d/signed.eml"
    done ;;
  *) echo "usage: $0 [size|rcpts|chain]..." >&2; exit 2 ;;
  esac
done
exit $((failed > 0))
