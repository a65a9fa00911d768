# shellcheck shell=bash disable=SC2015,SC2154
# tests/e2e/decryption-lib.sh: what run-postfix-decryption.sh and
# run-sendmail-decryption.sh share (sourced after milter-lib.sh and
# tests/interop/common.sh): the same users, keys, messages and checks, so
# that both MTAs are held to the same expectations; the scripts start their
# MTA, send, and say where a message arrived.
#
# dec_config SOCKET: our users at a.example (decrypt = yes): alice (RSA) and
#   bob (EC P-256) with keys owned by nobody in $work/decryption-keys, and
#   $work/milter.conf for the milter as nobody listening on SOCKET.
# dec_mkenc NAME TO-HEADER signed|plain TOOL CIPHER RECIPIENT:
#   $work/msgs/NAME.eml, carol's message (signed by carol or not) encrypted
#   by TOOL (tests/interop/encrypt-tool.sh) to the test PKI's RECIPIENT,
#   Message-ID <NAME@b.example>, the text "$marker in NAME".
# dec_make_messages: enc-alice (signed, AES-256-CBC to alice), oracle (the
#   same ciphertext, another Message-ID), cbc-unsigned (to alice), gcm-bob
#   (unsigned AES-256-GCM to bob) and hp-cipher (made by smimectl process
#   --outbound as carol's gateway with header_protection = cipher; ok/bad on
#   building it).
# dec_send NAME RCPTS SWAKS-OPTION...: sends NAME.eml from carol@b.example
#   to RCPTS with swaks and the options that name the MTA.
# dec_show FILE: the first header lines of FILE on one line, or "missing".
# The checks (ok/bad; FILE is the arrived copy, "" when it did not arrive;
# DEC_ARRIVED says "delivered" or "relayed" in their messages):
# dec_check_pass NAME FILE: decrypted to multipart/signed (one Content-Type,
#   no pkcs7-mime left), the marker readable, smime=pass (decrypted) for carol.
# dec_check_oracle LABEL FILE: still encrypted, marker nowhere,
#   recipient-without-matching-key.
# dec_check_cbc_unsigned FILE, dec_check_gcm_bob FILE, dec_check_hp FILE:
#   cases 3, 4 and the RFC 9788 restore (see the scripts' headers).
# dec_check_logs: the milter log lines of enc-alice, the oracle and hp-cipher.
# ($work, $pki, $top, $marker are the sourcing script's; ok/bad return 0, so
# "TEST && ok ... || bad ..." is if/else.)

dec_config() {
  nobody_keys alice bob
  printf 'alice@a.example %s %s\nbob@a.example %s %s\n' "$pki/alice.crt" "$work/keys/alice.key" \
    "$pki/bob.crt" "$work/keys/bob.key" >"$work/decryption-keys"
  echo "decrypt = yes" >"$work/policies/a.example.conf"
  write_config "$work/milter.conf" "socket = $1" "socket_mode = 0666" \
    "user = nobody" "state_dir = $work/state" "internal_hosts = 192.0.2.0/24" \
    "policy_dir = $work/policies" "decryption_keys = $work/decryption-keys" \
    "harvest_certificates = no"
}

dec_mkenc() {
  local name=$1 to=$2 signed=$3 tool=$4 cipher=$5 rcpt=$6 src type=enveloped-data
  printf 'From: Carol <carol@b.example>\nTo: %s\nSubject: decryption e2e\nDate: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <%s@b.example>\nContent-Type: text/plain; charset=us-ascii\n\n%s in %s\n' \
    "$to" "$name" "$marker" "$name" >"$work/msgs/$name.plain"
  src=$work/msgs/$name.plain
  if [ "$signed" = signed ]; then
    "$top/tests/interop/sign-openssl.sh" "$pki" carol "$src" >"$work/msgs/$name.signed" || return 1
    src=$work/msgs/$name.signed
  fi
  mkdir -p "$work/msgs/$name.parts"
  split_message "$src" "$work/msgs/$name.parts"
  "$top/tests/interop/encrypt-tool.sh" "$tool" "$pki" "$work/msgs/$name.parts/inner" \
    "$work/msgs/$name.der" "$cipher" "$rcpt" || return 1
  [[ $cipher == *gcm* ]] && type=authEnveloped-data
  {
    cat "$work/msgs/$name.parts/outer"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\n' "$type"
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    base64 -w 76 "$work/msgs/$name.der" | sed 's/$/\r/'
  } >"$work/msgs/$name.eml"
}

dec_make_messages() {
  dec_mkenc enc-alice 'Alice <alice@a.example>' signed openssl -aes-256-cbc alice ||
    bad "building enc-alice"
  sed 's/^Message-ID: <enc-alice@b.example>/Message-ID: <oracle@b.example>/' \
    "$work/msgs/enc-alice.eml" >"$work/msgs/oracle.eml"
  dec_mkenc cbc-unsigned 'Alice <alice@a.example>' plain openssl -aes-256-cbc alice ||
    bad "building cbc-unsigned"
  dec_mkenc gcm-bob 'Bob <bob@a.example>' plain openssl -aes-256-gcm bob || bad "building gcm-bob"

  # Header protection: carol's gateway (smimectl with its own configuration)
  # signs and encrypts to alice with header_protection = cipher.
  local hp=$work/hp
  mkdir -p "$hp/pol" "$hp/state"
  printf '%s\n' "encrypt = required" "header_protection = cipher" >"$hp/pol/a.example.conf"
  cp "$pki/carol.key" "$hp/carol.key"
  chmod 600 "$hp/carol.key"
  echo "carol@b.example $pki/carol.crt $hp/carol.key chain=$pki/carol.chain.pem" >"$hp/ids"
  echo "carol carol@b.example" >"$hp/users"
  write_config "$hp/out.conf" "sign = clear" "signing_identities = $hp/ids" \
    "signing_users = $hp/users" "policy_dir = $hp/pol" "state_dir = $hp/state"
  cat "$pki/alice.crt" "$pki/alice.chain.pem" >"$hp/alice.pem"
  printf '%s\r\n' "From: Carol <carol@b.example>" "To: Alice <alice@a.example>" \
    "Subject: figures $marker" "Keywords: finance" "Date: Tue, 01 Dec 2026 00:00:00 +0000" \
    "Message-ID: <hp-cipher@b.example>" "MIME-Version: 1.0" \
    "Content-Type: text/plain; charset=us-ascii" "" "$marker in hp-cipher" >"$hp/in.eml"
  if "$SMIMECTL" -c "$hp/out.conf" cert add "$hp/alice.pem" >"$hp/add.log" 2>&1 &&
      "$SMIMECTL" -c "$hp/out.conf" process --outbound --sasl-user carol --rcpt alice@a.example \
        --now "$NOW" "$hp/in.eml" >"$work/msgs/hp-cipher.eml" 2>"$hp/out.log" &&
      grep -q 'hp=cipher' "$hp/out.log" && grep -q $'^Subject: \[\.\.\.\]\r' "$work/msgs/hp-cipher.eml" &&
      ! grep -qF "$marker" "$work/msgs/hp-cipher.eml"; then
    ok "hp-cipher: built with the outer Subject [...], nothing secret outside"
  else
    bad "hp-cipher: building: $(cat "$hp/add.log" "$hp/out.log" | tr '\r\n' '  ' | head -c 300)"
  fi
}

dec_send() {
  local name=$1 rcpts=$2
  shift 2
  perl -0777 -pe 's/\r?\n\z//' "$work/msgs/$name.eml" >"$work/msgs/$name.swaks"
  swaks "$@" --from carol@b.example --to "$rcpts" \
    --data "@$work/msgs/$name.swaks" >"$work/out/$name.swaks" 2>&1
}

dec_show() { [ -n "$1" ] && headers_of "$1" | head -20 | tr '\r\n' '  ' || echo missing; }

dec_check_pass() {
  local name=$1 f=$2
  if [ -n "$f" ] && grep -qF "$marker in $name" "$f" &&
     ! grep -qi '^Content-Type: application/pkcs7-mime' "$f" &&
     [ "$(headers_of "$f" | grep -ci '^Content-Type:')" -eq 1 ] &&
     [[ $(top_header "$f" Content-Type) == multipart/signed* ]] &&
     [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted)"*"carol@b.example"* ]]; then
    ok "$name: $DEC_ARRIVED decrypted (multipart/signed), smime=pass (decrypted) for carol"
  else
    bad "$name: $(dec_show "$f")"
  fi
}

dec_check_oracle() {
  local label=$1 f=$2
  if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
     grep -qi '^Content-Type: application/pkcs7-mime' "$f" &&
     [[ $(top_header "$f" Content-Type) == application/pkcs7-mime* ]] &&
     [[ $(top_header "$f" Authentication-Results) == *"not decrypted: recipient-without-matching-key"* ]]; then
    ok "oracle: $label still encrypted (recipient-without-matching-key)"
  else
    bad "oracle: $label: $(dec_show "$f")"
  fi
}

dec_check_cbc_unsigned() {
  local f=$1
  if [ -n "$f" ] && ! grep -qF "$marker" "$f" &&
     [[ $(top_header "$f" Authentication-Results) == *"not decrypted: unauthenticated-cbc"* ]]; then
    ok "cbc-unsigned: still encrypted (unauthenticated-cbc)"
  else
    bad "cbc-unsigned: $(dec_show "$f")"
  fi
}

dec_check_gcm_bob() {
  local f=$1
  if [ -n "$f" ] && grep -qF "$marker in gcm-bob" "$f" &&
     [[ $(top_header "$f" Authentication-Results) == *"smime=none (decrypted)"* ]]; then
    ok "gcm-bob: AuthEnvelopedData via ECDH $DEC_ARRIVED decrypted"
  else
    bad "gcm-bob: $(dec_show "$f")"
  fi
}

dec_check_hp() {
  local f=$1 h problems=""
  if [ -n "$f" ] && grep -qF "$marker in hp-cipher" "$f"; then
    h=$(headers_of "$f" | tr -d '\r')
    [ "$(grep -ci '^Subject:' <<<"$h")" = 1 ] && grep -qx "Subject: figures $marker" <<<"$h" ||
      problems+=" subject"
    grep -qx 'Keywords: finance' <<<"$h" || problems+=" keywords"
    [ "$(grep -ci '^From:' <<<"$h")" = 1 ] && grep -qx 'From: Carol <carol@b.example>' <<<"$h" ||
      problems+=" from"
    grep -qi '^HP-Outer:' <<<"$h" && problems+=" hp-outer-outside"
    # Our verdict comes before the restored fields (inserted at the top).
    [ "$(grep -n -m1 '^Authentication-Results:' <<<"$h" | cut -d: -f1)" -lt \
      "$(grep -n -m1 '^Subject:' <<<"$h" | cut -d: -f1)" ] 2>/dev/null || problems+=" ar-order"
    [[ $(top_header "$f" Authentication-Results) == *"smime=pass (decrypted"*"carol@b.example"* ]] ||
      problems+=" verdict"
    [ -z "$problems" ] && ok "hp-cipher: decrypted, real Subject and Keywords restored, pass for carol" ||
      bad "hp-cipher:$problems: $(head -20 <<<"$h" | tr '\n' ' ')"
  else
    bad "hp-cipher: $(dec_show "$f")"
  fi
}

dec_check_logs() {
  grep -q "decrypted=aes-256-cbc, key=.*signer=<carol@b.example>.*result=pass" "$work/milter.log" &&
    ok "enc-alice: the log names the cipher and the key" ||
    bad "enc-alice log: $(grep 'verify:' "$work/milter.log" | head -3)"
  grep -q 'decrypted=no, decrypt_why=recipient-without-matching-key.*detail=zed@a.example' \
    "$work/milter.log" && ok "oracle: the log names the recipient without a key" ||
    bad "oracle log: $(grep 'recipient-without' "$work/milter.log" | head -2)"
  grep -q 'hp_restored=Subject+Keywords' "$work/milter.log" &&
    ok "hp-cipher: log hp_restored=Subject+Keywords" ||
    bad "hp-cipher log: $(grep 'hp-cipher\|hp_restored' "$work/milter.log" | head -2)"
}
