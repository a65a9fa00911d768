#!/usr/bin/env bash
# run-fuzz.sh: a short smoke run of the libFuzzer targets (src/fuzz/,
# docs/fuzzing.md). Each target runs for SMIME_FUZZ_SECONDS (default 20) on a
# copy of its seeds under tests/fuzz/seeds/TARGET, two at a time; the run
# fails on any crash, leak, timeout, out-of-memory or sanitizer report, and
# keeps the reproducer (path printed).
#
# The fuzz build is, in this order: $SMIME_FUZZ_BUILD, the build tree itself
# when it was configured with --enable-fuzzers, or one built here in a
# temporary folder (clang++ with libFuzzer needed; takes a few minutes).
# SMIME_FUZZ_TARGETS="cms ldap" runs only those. Exit 77 (skip; a failure in
# strict mode, CI=true: tests/skip.sh) when clang++ cannot link a libFuzzer
# target.
#
# The inbound target trusts tests/fuzz/inbound-trust.pem, the CA that signed
# its seeds: before fuzzing, the signed seeds must verify as pass through
# smimectl with that anchor and the same clock (else the fuzzer would only
# ever see refusals), using the fuzz build's smimectl or the build tree's.
# Its decryption key and encrypted seeds are made here (decryption_seeds,
# below) and checked the same way: they decrypt (or stay encrypted) as
# docs/decryption.md says.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../skip.sh
. "$here/../skip.sh"
top=${top_srcdir:-$(cd "$here/../.." && pwd)}
secs=${SMIME_FUZZ_SECONDS:-20}
targets=${SMIME_FUZZ_TARGETS:-inbound mime cms config ldap}
jobs=${SMIME_FUZZ_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/smime-fuzz.XXXXXX")
keep=0
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT

have_targets() {
  local t
  for t in $targets; do [ -x "$1/src/fuzz/${t}_fuzz" ] || return 1; done
}

fuzz=""
if [ -n "${SMIME_FUZZ_BUILD:-}" ]; then
  fuzz=$(cd "$SMIME_FUZZ_BUILD" && pwd)
  have_targets "$fuzz" || { echo "FAIL: $fuzz has no src/fuzz/*_fuzz (make fuzz there)"; exit 1; }
elif [ -n "${top_builddir:-}" ] && have_targets "$top_builddir"; then
  fuzz=$top_builddir
else
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$work/probe.cc"
  if ! command -v clang++ >/dev/null 2>&1 ||
      ! clang++ -fsanitize=fuzzer,address,undefined "$work/probe.cc" -o "$work/probe" >/dev/null 2>&1; then
    skip_or_fail "clang++ with libFuzzer not available (Debian: apt-get install clang libclang-rt-14-dev)"
  fi
  # A VPATH build needs a source tree that is not configured in place: use a
  # copy of the tracked (and new, not ignored) files when it is.
  src=$top
  if [ -e "$top/config.status" ]; then
    if ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
      skip_or_fail "$top is configured in place and not a git checkout; set SMIME_FUZZ_BUILD"
    fi
    src=$work/src
    mkdir -p "$src"
    # shellcheck disable=SC2016  # $f expands in the inner sh
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
      xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
      tar --null -cf - -T -) | tar -xf - -C "$src" || { echo "FAIL: cannot copy the sources"; exit 1; }
  fi
  echo "building the fuzz targets in $work/build (log: build.log)"
  mkdir -p "$work/build"
  if ! { { [ -x "$src/configure" ] || (cd "$src" && autoreconf -fi); } &&
      cd "$work/build" && "$src/configure" --enable-fuzzers CXX=clang++ &&
      make -j"$jobs" fuzz; } >"$work/build.log" 2>&1; then
    keep=1
    tail -30 "$work/build.log"
    echo "FAIL: fuzz build failed; log kept in $work/build.log"
    exit 1
  fi
  fuzz=$work/build
fi

# decryption_seeds: the inbound target's decryption key and encrypted seeds,
# made for each run (no private key is kept in the repository, and `make
# dist` refuses one): the test PKI (tests/pki/gen-pki.sh) in $work/pki,
# alice's certificate and key as SMIME_FUZZ_DECRYPTION_KEY (the target's
# recipient is alice@a.example), and in $work/seeds-inbound three messages
# encrypted to her with `openssl cms -encrypt`: AES-256-CBC around the signed
# entity of seeds/inbound/alice-clear.eml (sign-then-encrypt: pass), AES-256-
# GCM with RSA-OAEP around an RFC 9788 hp="cipher" payload (decrypted, Subject
# and Keywords restored), AES-128-CBC unsigned (stays encrypted).
decryption_seeds() {
  local d=$work/seeds-inbound p=$work/pki n
  mkdir -p "$d" "$work/enc"
  "$top/tests/pki/gen-pki.sh" "$p" >"$work/pki.log" 2>&1 ||
    { echo "FAIL: tests/pki/gen-pki.sh: $(tail -3 "$work/pki.log")"; return 1; }
  chmod 600 "$p/alice.key"
  export SMIME_FUZZ_DECRYPTION_KEY=$p/alice
  # The signed entity: alice-clear's Content-Type and body.
  awk 'BEGIN { h = 1 } h && /^\r?$/ { h = 0; print; next } h && /^Content-Type:/ { print; next }
    !h { print }' "$here/seeds/inbound/alice-clear.eml" >"$work/enc/signed"
  printf '%s\r\n' 'Content-Type: text/plain; charset=utf-8; hp="cipher"' \
    'Content-Transfer-Encoding: 7bit' 'From: Sam <sam@s.example>' 'To: Alice <alice@a.example>' \
    'Subject: figures for Q4' 'Keywords: finance' 'Date: Mon, 01 Jun 2026 00:00:00 +0000' \
    'HP-Outer: From: Sam <sam@s.example>' 'HP-Outer: To: Alice <alice@a.example>' \
    'HP-Outer: Subject: [...]' 'HP-Outer: Date: Mon, 01 Jun 2026 00:00:00 +0000' '' \
    'The secret text.' >"$work/enc/hp"
  printf '%s\r\n' 'Content-Type: text/plain; charset=us-ascii' '' 'An unsigned secret.' \
    >"$work/enc/plain"
  # NAME INNER SMIME-TYPE SUBJECT FROM OPENSSL-OPTIONS...
  while read -r n inner type subject from opts; do
    # shellcheck disable=SC2086 # opts is a word list
    openssl cms -encrypt -binary -outform DER -in "$work/enc/$inner" -out "$work/enc/$n.der" \
      -recip "$p/alice.crt" $opts 2>"$work/enc/$n.err" ||
      { echo "FAIL: openssl cms -encrypt $n: $(head -c 300 "$work/enc/$n.err")"; return 1; }
    { printf '%s\r\n' "From: $from" 'To: Alice <alice@a.example>' "Subject: $subject" \
        'Date: Mon, 01 Jun 2026 00:00:00 +0000' "Message-ID: <$n@fuzz.example>" 'MIME-Version: 1.0' \
        "Content-Type: application/pkcs7-mime; smime-type=$type; name=\"smime.p7m\"" \
        'Content-Transfer-Encoding: base64' ''
      base64 -w 76 "$work/enc/$n.der" | sed 's/$/\r/'; } >"$d/$n.eml"
  done <<'EOF2'
decrypt-cbc-signed signed enveloped-data signed-inside alice@a.example -aes-256-cbc
decrypt-gcm-hp-cipher hp authEnveloped-data [...] sam@s.example -aes-256-gcm -keyopt rsa_padding_mode:oaep
decrypt-cbc-unsigned plain enveloped-data unsigned sam@s.example -aes-128-cbc
EOF2
}

# anchored_seeds: the signed inbound seeds pass with the fuzzer's trust anchor,
# and the encrypted ones decrypt with its key.
anchored_seeds() {
  local ctl="" d f v n=0
  for d in "$fuzz" "${top_builddir:-}" "$top"; do
    [ -n "$d" ] && [ -x "$d/src/smimectl" ] && { ctl=$d/src/smimectl; break; }
  done
  [ -n "$ctl" ] || { skip_part "inbound seeds vs trust anchor: no smimectl built"; return 0; }
  printf 'authserv_id = mx.fuzz.example\nrevocation = off\ntrust_anchors = %s\nstate_dir = %s\n' \
    "$here/inbound-trust.pem" "$work" >"$work/anchor.conf"
  # alice's seeds are hers (pass); bob signed a message From: alice (policy
  # signer-mismatch, judged only after his chain verified). An untrusted
  # chain would be fail.
  for f in alice-clear:pass alice-opaque:pass bob-ecdsa-clear:policy; do
    v=$(ASAN_OPTIONS=detect_leaks=0 "$ctl" -c "$work/anchor.conf" process --inbound --now 1780272000 \
      --report "$here/seeds/inbound/${f%:*}.eml" 2>/dev/null | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
    n=$((n + 1))
    if [ "$v" != "${f#*:}" ]; then
      echo "FAIL inbound seed ${f%:*}.eml is '${v:-no report}' with tests/fuzz/inbound-trust.pem, not ${f#*:}"
      return 1
    fi
  done
  echo "ok   inbound: $n signed seeds verify with the fuzzer's trust anchor (pass, pass, policy)"
  printf 'decrypt = yes\ndecryption_keys = %s\n' "$work/decryption-keys" >>"$work/anchor.conf"
  echo "alice@a.example $SMIME_FUZZ_DECRYPTION_KEY.crt $SMIME_FUZZ_DECRYPTION_KEY.key" \
    >"$work/decryption-keys"
  for f in 'decrypt-cbc-signed:decrypted=aes-256-cbc, key=*result=pass' \
    'decrypt-gcm-hp-cipher:decrypted=aes-256-gcm, key=*hp_restored=Subject+Keywords' \
    'decrypt-cbc-unsigned:decrypted=no, decrypt_why=unauthenticated-cbc'; do
    v=$(ASAN_OPTIONS=detect_leaks=0 "$ctl" -c "$work/anchor.conf" process --inbound --now 1780272000 \
      --rcpt alice@a.example "$work/seeds-inbound/${f%%:*}.eml" 2>&1 >/dev/null)
    # shellcheck disable=SC2053 # the expectation is a glob
    if [[ $v != *${f#*:}* ]]; then
      echo "FAIL inbound seed ${f%%:*}.eml: '$v', expected ${f#*:}"
      return 1
    fi
  done
  echo "ok   inbound: 3 encrypted seeds decrypt with the fuzzer's key (pass, hp restored, CBC kept)"
}
case " $targets " in
  *" inbound "*) { decryption_seeds && anchored_seeds; } || exit 1 ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run TARGET: fuzz it for $secs seconds; result in $work/TARGET.rc
run() {
  local t=$1 rc=0
  mkdir -p "$work/corpus/$t" "$work/artifacts"
  cp "$top/tests/fuzz/seeds/$t/"* "$work/corpus/$t/"
  [ -d "$work/seeds-$t" ] && cp "$work/seeds-$t/"* "$work/corpus/$t/"
  (cd "$work" && TMPDIR=$work "$fuzz/src/fuzz/${t}_fuzz" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t") \
    >"$work/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

running=0
for t in $targets; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
for t in $targets; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo missing)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
  if [ "$rc" != 0 ] || ls "$work/artifacts/$t-"* >/dev/null 2>&1 ||
      grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: libFuzzer\|^SUMMARY: ' "$work/$t.log"; then
    failed=$((failed + 1))
    keep=1
    echo "FAIL $t (exit $rc): log $work/$t.log, reproducer(s): $(ls "$work/artifacts/$t-"* 2>/dev/null | tr '\n' ' ')"
    grep -m1 -A40 'ERROR:\|runtime error:' "$work/$t.log"
  else
    echo "ok   $t: ${execs:-?} runs in ${secs}s ($(( ${execs:-0} / secs ))/s)"
  fi
done
[ "$failed" -eq 0 ] || { echo "$failed fuzz target(s) failed; work folder kept: $work"; exit 1; }
echo "all fuzz targets ran ${secs}s each without findings"
