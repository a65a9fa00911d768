#!/usr/bin/env bash
# run-sendmail-decryption.sh: inbound decryption end to end through Sendmail
# 8.17 (Debian's packages, unpacked privately; sendmail-lib.sh) relaying to
# smtp-sink, with the real smime-milter (user nobody) over a local socket
# (docs/decryption.md). The Postfix counterpart is run-postfix-decryption.sh;
# this one checks that Sendmail applies the same edits (smfi_chgheader,
# smfi_addheader, smfi_replacebody) the same way.
#
# Our users at a.example (decrypt = yes; keys in decryption_keys, owned by
# nobody): alice (test PKI, RSA) and bob (test PKI, EC P-256); zed@a.example
# has no key. Mail arrives from outside (127.0.0.2 on the MTA daemon, not in
# internal_hosts); envelopes from tests/interop/encrypt-tool.sh (openssl):
# - signed by carol@b.example, then AES-256-CBC to alice: relayed decrypted
#   (the marker readable, multipart/signed, no pkcs7-mime, one Content-Type),
#   `smime=pass (decrypted)` for carol, a log line with decrypted= and key=;
# - the oracle rule: the same ciphertext with RCPT alice and zed in one
#   transaction: relayed still encrypted (recipient-without-matching-key),
#   the log naming zed;
# - unsigned AES-256-CBC to alice: still encrypted (unauthenticated-cbc);
# - unsigned AES-256-GCM to bob (ECDH): decrypted, smime=none (decrypted);
# - RFC 9788: a message made by `smimectl process --outbound` (carol signs,
#   encrypted to alice, header_protection = cipher: outer Subject [...],
#   Keywords only inside) is relayed with the real Subject and Keywords, one
#   Subject, From: as sent, our Authentication-Results before them.
# The messages and the checks are those of decryption-lib.sh, shared with
# run-postfix-decryption.sh.
# Needs root, apt-get download, Postfix's smtp-sink, swaks, openssl, perl;
# skips otherwise (a failure in strict mode).
# ok/bad return 0, so "TEST && ok ... || bad ..." is if/else:
# shellcheck disable=SC2015 source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# split_message (before milter-lib.sh, whose ok/bad and counters win)
# shellcheck source=../interop/common.sh
. "$(dirname "$0")/../interop/common.sh"
. "$(dirname "$0")/postfix-lib.sh"
. "$(dirname "$0")/sendmail-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
. "$(dirname "$0")/decryption-lib.sh"
e2e_require Sendmail swaks smtp-sink m4 cc unshare openssl perl
sm_unpack || skip_or_fail "cannot download Debian's sendmail packages"
e2e_init keys policies out hp

dec_config "local:$work/milter.sock"

trap 'sm_stop; stop_milter; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
start_milter || exit 1
sm_setup "$work/sm" "$work/milter.sock"
sm_start || exit 1

# shellcheck disable=SC2034 # marker and DEC_ARRIVED are read by decryption-lib.sh
marker="Decrypt-sendmail-$RANDOM$RANDOM"
send() {  # send NAME RCPTS: from outside to the MTA daemon
  dec_send "$1" "$2" --server "127.0.0.1:$SM_PORT" --local-interface 127.0.0.2
}
relayed() {  # relayed NAME: the sink file with NAME's Message-ID
  grep -l "^Message-ID: <$1@b.example>" "$work"/sm/sink/* 2>/dev/null | head -1
}
# shellcheck disable=SC2034
DEC_ARRIVED=relayed

dec_make_messages

send enc-alice alice@a.example
send oracle alice@a.example,zed@a.example
send cbc-unsigned alice@a.example
send gcm-bob bob@a.example
send hp-cipher alice@a.example
sm_wait_sent 5 60 || bad "only $(grep -c stat=Sent "$work/sm/maillog") of 5 relayed"
sleep 1

# 1. Sign-then-encrypt to alice: decrypted, pass for carol.
dec_check_pass enc-alice "$(relayed enc-alice)"
# 2. The oracle rule: alice + zed (no key) in one transaction: encrypted.
dec_check_oracle "relayed" "$(relayed oracle)"
# 3. Unsigned CBC: stays encrypted.
dec_check_cbc_unsigned "$(relayed cbc-unsigned)"
# 4. Unsigned GCM to bob (ECDH): decrypted.
dec_check_gcm_bob "$(relayed gcm-bob)"
# 5. Header protection: the real Subject and Keywords are back, From: as sent.
dec_check_hp "$(relayed hp-cipher)"
dec_check_logs

grep -Eq 'panic:|fatal:|error:' "$work/milter.log" &&
  bad "panic, fatal or error in milter log: $(grep -E 'panic:|fatal:|error:' "$work/milter.log" | head -3)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
