#!/usr/bin/env bash
# run-interop.sh: messages signed by other S/MIME implementations (openssl
# cms, gpgsm, NSS cmsutil) with the test PKI must verify as smime=pass in our
# engine, and tampered copies must fail. RSA (alice) and ECDSA P-256 (bob);
# clear (multipart/signed) and, for openssl, opaque signing. Ed25519: OpenSSL
# 3.0 cannot sign CMS with it, so its case checks that our verdict is a
# clear permerror/neutral and no crash (a "limit" line when the signer
# refuses). A missing gpgsm or NSS is a skip (a failure in strict mode).
. "$(dirname "$0")/../lib.sh"
make_pki
conf=$work/smime.conf
write_config "$conf"
here=$top/tests/interop
pass=0 failed=0 skipped=0 limits=0

check() {  # check LABEL EXPECTED FILE
  local got
  got=$(verdict_of "$conf" "$3")
  if [ "${got%% *}" = "$2" ]; then
    pass=$((pass + 1)); echo "ok   $1: $got"
  else
    failed=$((failed + 1)); echo "FAIL $1: expected $2, got $got"
  fi
}

for id in alice bob; do
  sed "s/^From: .*/From: Signer <$id@a.example>/" "$here/sample.eml" >"$work/in-$id.eml"
  for signer in openssl openssl-opaque gpgsm nss; do
    case $signer in
      openssl) cmd=("$here/sign-openssl.sh") ;;
      openssl-opaque) cmd=("$here/sign-openssl.sh" --opaque) ;;
      gpgsm) command -v gpgsm >/dev/null || { skipped=$((skipped + 1)); skip_part "gpgsm: not installed"; continue; }
        cmd=("$here/sign-gpgsm.sh") ;;
      nss) command -v cmsutil >/dev/null || { skipped=$((skipped + 1)); skip_part "nss: cmsutil not installed"; continue; }
        cmd=("$here/sign-nss.sh") ;;
    esac
    out=$work/$signer-$id.eml
    if ! "${cmd[@]}" "$pki" "$id" "$work/in-$id.eml" >"$out" 2>"$work/err"; then
      failed=$((failed + 1)); echo "FAIL $signer/$id: signer failed: $(head -c 300 "$work/err")"; continue
    fi
    check "$signer/$id" pass "$out"
    "$here/tamper.sh" "$out" >"$work/t-$signer-$id.eml"
    check "$signer/$id tampered" fail "$work/t-$signer-$id.eml"
  done
done

# Ed25519: whatever signs it, we must answer permerror/neutral (3.0) or pass (>= 3.2).
sed "s/^From: .*/From: <ed@a.example>/" "$here/sample.eml" >"$work/in-ed.eml"
if "$here/sign-openssl.sh" "$pki" ed "$work/in-ed.eml" >"$work/ed.eml" 2>/dev/null; then
  got=$(verdict_of "$conf" "$work/ed.eml")
  case ${got%% *} in
    pass|permerror|neutral) pass=$((pass + 1)); echo "ok   openssl/ed25519: $got" ;;
    *) failed=$((failed + 1)); echo "FAIL openssl/ed25519: got $got" ;;
  esac
else
  # A limitation of the installed OpenSSL (3.0), not a missing tool: a
  # "limit" line, not a skip (tests/skip.sh).
  limits=$((limits + 1)); echo "limit openssl/ed25519: this OpenSSL cannot sign CMS with Ed25519"
fi

echo "$pass passed, $failed failed, $skipped skipped, $limits known tool limits"
[ "$failed" -eq 0 ]
