#!/usr/bin/env bash
# run-outbound-memory.sh: peak memory of outbound processing stays under
# 3x the message plus a constant (docs/performance.md, "Memory per message").
#
# Builds a CRLF text message of SMIME_MEM_MB megabytes (default 16) and runs
# `smimectl process --outbound` under /usr/bin/time -f %M for sign = clear,
# sign = opaque, encryption alone (encrypt = required, recipient certificate
# from the store) and sign = clear plus encryption; each run must succeed,
# log what it did, and its peak RSS must stay below 3 x size + base, where
# base is the peak of the same command on a tiny message plus 6 MB of slack
# (allocator and GMime arenas). A copy of the whole message more than the
# budget allows fails it. Prints one line per path with the ratio.
# Exit 77 (skip) without GNU time.
. "$(dirname "$0")/../lib.sh"
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 || { echo "SKIP: GNU time missing"; exit 77; }
make_pki
mb=${SMIME_MEM_MB:-16}
pass=0 failed=0

mkdir -p "$work/pol" "$work/state"
printf 'encrypt = required\n' >"$work/pol/b.example.conf"
echo "alice alice@a.example" >"$work/users"
echo "alice@a.example $pki/alice.crt $pki/alice.key chain=$pki/alice.chain.pem" >"$work/ids"
common=("signing_identities = $work/ids" "signing_users = $work/users" "policy_dir = $work/pol"
        "state_dir = $work/state")
write_config "$work/clear.conf" "sign = clear" "${common[@]}"
write_config "$work/opaque.conf" "sign = opaque" "${common[@]}"
write_config "$work/none.conf" "sign = none" "${common[@]}"
cat "$pki/carol.crt" "$pki/carol.chain.pem" >"$work/carol.pem"
"$SMIMECTL" -c "$work/clear.conf" cert add "$work/carol.pem" >/dev/null 2>&1 ||
  { echo "FAIL cert add carol"; exit 1; }

# message FILE LINES
message() {
  { printf 'From: Alice <alice@a.example>\r\nTo: Carol <carol@b.example>\r\nSubject: memory\r\n'
    printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
    awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
      printf "line %07d: the quick brown fox jumps over the lazy dog, 0123456789 abc\r\n", i }'
  } >"$1"
}
message "$work/tiny.eml" 10
message "$work/big.eml" $((mb * 1024 * 1024 / 72))
size_kb=$(( $(stat -c %s "$work/big.eml") / 1024 ))

# run NAME CONF RCPT LOGWANT MSG: prints the peak RSS in KB (or "" on failure).
run() {
  local name=$1 conf=$2 rcpt=$3 want=$4 msg=$5 rc=0
  /usr/bin/time -o "$work/$name.rss" -f %M "$SMIMECTL" -c "$work/$conf.conf" process --outbound \
    --sasl-user alice --from alice@a.example --rcpt "$rcpt" --now "$NOW" "$msg" \
    >"$work/$name.out" 2>"$work/$name.log" || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q -- "$want" "$work/$name.log"; then
    echo "FAIL $name: exit $rc: $(head -c 300 "$work/$name.log")" >&2
    return 1
  fi
  tail -n 1 "$work/$name.rss"
}

for path in "sign-clear clear partner@c.example format=clear" \
            "sign-opaque opaque partner@c.example format=opaque" \
            "encrypt-only none carol@b.example encryption=aes256-cbc" \
            "sign-encrypt clear carol@b.example encryption=aes256-cbc"; do
  set -- $path
  base=$(run "$1-tiny" "$2" "$3" "$4" "$work/tiny.eml") &&
    peak=$(run "$1" "$2" "$3" "$4" "$work/big.eml") || { failed=$((failed + 1)); continue; }
  limit=$((3 * size_kb + base + 6144))
  ratio=$(awk -v p="$peak" -v b="$base" -v s="$size_kb" 'BEGIN { printf "%.2f", (p - b) / s }')
  if [ "$peak" -lt "$limit" ]; then
    pass=$((pass + 1))
    echo "ok   $1: peak ${peak} KB for a ${size_kb} KB message (base ${base} KB, +${ratio}x)"
  else
    failed=$((failed + 1))
    echo "FAIL $1: peak ${peak} KB >= ${limit} KB (3 x ${size_kb} KB + base ${base} KB + 6 MB; +${ratio}x)"
  fi
done
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
