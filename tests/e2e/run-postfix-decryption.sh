#!/usr/bin/env bash
# run-postfix-decryption.sh: inbound decryption end to end through a real
# Postfix with the milter as nobody (docs/decryption.md).
#
# Our users at a.example (decrypt = yes; keys in decryption_keys, owned by
# nobody): alice (test PKI, RSA) and bob (test PKI, EC P-256); zed@a.example
# has a mailbox but no key. Mail arrives from outside (127.0.0.1 on the MTA
# port, not in internal_hosts), made with `openssl cms -encrypt`:
# - signed by carol@b.example (tests/interop/sign-openssl.sh), then AES-256-
#   CBC to alice, RCPT alice: delivered decrypted (the marker text readable,
#   multipart/signed, no pkcs7-mime), `smime=pass (decrypted)` for carol, and
#   a milter log line with decrypted=aes-256-cbc and key=;
# - the oracle rule: the same ciphertext (to alice only) with RCPT alice and
#   zed in ONE transaction: both copies arrive still encrypted, with
#   `not decrypted: recipient-without-matching-key`, the marker nowhere;
# - unsigned AES-256-CBC to alice: stays encrypted (unauthenticated-cbc);
# - unsigned AES-256-GCM (AuthEnvelopedData) to bob (ECDH): decrypted;
# - sign-then-encrypt made by gpgsm and by NSS cmsutil (RSA, CBC) and by
#   Bouncy Castle (AES-256-GCM, RSA-OAEP; one JVM) to alice: decrypted,
#   smime=pass for carol (a missing tool is a skip, a failure in strict
#   mode);
# - RFC 9788: a message we produced (`smimectl process --outbound`, carol
#   signs, encrypted to alice, header_protection = cipher: the outer Subject
#   is [...], Keywords only inside) arrives decrypted with the real Subject
#   and Keywords back in the outer header, From: untouched, smime=pass for
#   carol, and the log says hp_restored=Subject+Keywords.
# Envelopes come from tests/interop/encrypt-tool.sh; the messages and the
# checks are those of decryption-lib.sh, shared with run-sendmail-decryption.sh.
# Needs root, Postfix and swaks (skips otherwise, a failure in strict mode).
# ok/bad return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# split_message (before milter-lib.sh, whose ok/bad and counters win)
# shellcheck source=../interop/common.sh
. "$(dirname "$0")/../interop/common.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
. "$(dirname "$0")/decryption-lib.sh"
e2e_require Postfix postfix swaks openssl perl
e2e_init keys policies out

dec_config "unix:$work/milter.sock"

trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

start_milter || exit 1
pf_setup "$work/pf" "$work/milter.sock" || exit 1
cat >"$work/pf/etc/vmailbox" <<EOF
alice@a.example a/alice/
bob@a.example a/bob/
zed@a.example a/zed/
EOF
postconf -c "$work/pf/etc" -e "virtual_mailbox_domains = a.example, b.example"
touch -d '-1 minute' "$work/pf"/etc/*
pf_start || exit 1

# shellcheck disable=SC2034 # marker and DEC_ARRIVED are read by decryption-lib.sh
marker="Decrypt-e2e-$RANDOM$RANDOM"
send() { dec_send "$1" "$2" --server "127.0.0.1:$PF_PORT"; }  # from outside to the MTA port
delivered() {  # delivered NAME MAILBOX: the file delivered to a/MAILBOX with NAME's Message-ID
  grep -l "^Message-ID: <$1@b.example>" "$work/pf/mail/a/$2/new/"* 2>/dev/null | head -1
}
# shellcheck disable=SC2034
DEC_ARRIVED=delivered

dec_make_messages
# The other implementations (RSA, their default CBC cipher), signed inside.
others=()
if command -v gpgsm >/dev/null && command -v gpgconf >/dev/null; then others+=(gpgsm); else
  skip_part "gpgsm not installed"; fi
if command -v cmsutil >/dev/null && command -v certutil >/dev/null; then others+=(nss); else
  skip_part "NSS cmsutil/certutil not installed"; fi
if "$top/tests/interop/verify-bc.sh" available >/dev/null; then others+=(bc); else
  skip_part "Bouncy Castle: $("$top/tests/interop/verify-bc.sh" available)"; fi
export SMIME_BC_CLASSES=$build/tests/.work/bc-classes
for t in "${others[@]}"; do
  opts=-
  [ "$t" = bc ] && opts=aes256-gcm,oaep
  dec_mkenc "$t-alice" 'Alice <alice@a.example>' signed "$t" "$opts" alice ||
    bad "building $t-alice"
done

send enc-alice alice@a.example
send oracle alice@a.example,zed@a.example
send cbc-unsigned alice@a.example
send gcm-bob bob@a.example
for t in "${others[@]}"; do send "$t-alice" alice@a.example; done
send hp-cipher alice@a.example
want=$((6 + ${#others[@]}))
pf_wait_delivered "$want" 60 || bad "only $(pf_delivered) of $want deliveries arrived"

# 1. Sign-then-encrypt to alice: decrypted, pass for carol.
dec_check_pass enc-alice "$(delivered enc-alice alice)"
# 2. The oracle rule: alice + zed (no key) in one transaction: both encrypted.
for who in alice zed; do dec_check_oracle "$who's copy" "$(delivered oracle "$who")"; done
# 3. Unsigned CBC: stays encrypted.
dec_check_cbc_unsigned "$(delivered cbc-unsigned alice)"
# 4. Unsigned GCM to bob (ECDH): decrypted.
dec_check_gcm_bob "$(delivered gcm-bob bob)"
# 5. gpgsm, NSS and Bouncy Castle encrypted (sign-then-encrypt) to alice:
#    decrypted, pass.
for t in "${others[@]}"; do dec_check_pass "$t-alice" "$(delivered "$t-alice" alice)"; done
# 6. Header protection: the real Subject and Keywords are back, From: as sent.
dec_check_hp "$(delivered hp-cipher alice)"
dec_check_logs

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
