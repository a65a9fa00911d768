#!/usr/bin/env bash
# run-differential.sh: the differential test (docs/verification.md,
# "Differential test"). Signs a few base messages with the test PKI (clear
# text, clear multipart/mixed with an attachment, clear quoted-printable
# UTF-8, opaque), lets differential.py mutate their unsigned structure and
# checks that for every mutant `smimectl process` calls pass, Python's email
# package (policy.default and compat32) and GMime all show the text the
# signer signed. SMIME_DIFF_COUNT mutants (default 300), seed
# SMIME_DIFF_SEED (default 1); failing mutants and one shrunk example per
# kind of disagreement go to SMIME_DIFF_KEEP (default tests/.work/differential
# in the build tree, emptied first; a folder you name is not emptied).
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../interop/common.sh
. "$top/tests/interop/common.sh"
here=$top/tests/differential
gmime_text=$build/tests/differential/gmime_text
[ -x "$gmime_text" ] || skip_or_fail "$gmime_text not built (make check builds it)"
command -v python3 >/dev/null || skip_or_fail "python3 not installed"
make_pki
write_config "$work/test.conf"
sign=$top/tests/interop/sign-openssl.sh

headers() {
  printf 'From: Alice <alice@a.example>\nTo: Carol <carol@b.example>\nSubject: differential\n'
  printf 'Date: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <diff-%s@a.example>\nMIME-Version: 1.0\n' "$1"
}
headers text >"$work/text.plain"
printf 'Content-Type: text/plain; charset=us-ascii\n\nHello Carol,\n\nthe signed text: pay invoice 42.\n' \
  >>"$work/text.plain"
headers mixed >"$work/mixed.plain"
cat >>"$work/mixed.plain" <<'MSG'
Content-Type: multipart/mixed; boundary="inner-mixed"

--inner-mixed
Content-Type: text/plain; charset=us-ascii

Hello Carol, the invoice is attached (signed text).
--inner-mixed
Content-Type: application/octet-stream; name="invoice.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="invoice.bin"

AAECAwQFBgcICQ==
--inner-mixed--
MSG
headers qp >"$work/qp.plain"
printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n' \
  >>"$work/qp.plain"
printf 'Gr=C3=BC=C3=9Fe, Carol: signed text in UTF-8 =E2=80=94 invoice 42.\n' >>"$work/qp.plain"

bases=()
for b in text:clear mixed:clear qp:clear text:opaque; do
  name=${b%%:*} mode=${b#*:}
  mkdir -p "$work/$name-$mode"
  split_message "$work/$name.plain" "$work/$name-$mode"
  opt=()
  [ "$mode" = opaque ] && opt=(--opaque)
  if ! "$sign" "${opt[@]}" "$pki" alice "$work/$name.plain" >"$work/$name-$mode.eml" 2>"$work/sign.err"; then
    echo "FAIL could not sign $name ($mode): $(head -c 300 "$work/sign.err")"
    echo "0 passed, 1 failed"
    exit 1
  fi
  bases+=("$name-$mode=$work/$name-$mode.eml:$work/$name-$mode/inner")
done

# Failing mutants must outlive $work (removed on exit). Only our own
# default folder is emptied first, never one the caller names.
keep=${SMIME_DIFF_KEEP:-}
if [ -z "$keep" ]; then
  keep=$build/tests/.work/differential
  rm -rf "$keep"
fi
PYTHONDONTWRITEBYTECODE=1 python3 "$here/differential.py" --smimectl "$SMIMECTL" --config "$work/test.conf" --now "$NOW" \
  --gmime "$gmime_text" --work "$work" --count "${SMIME_DIFF_COUNT:-300}" \
  --seed "${SMIME_DIFF_SEED:-1}" --jobs "${SMIME_DIFF_JOBS:-2}" --shrink "${SMIME_DIFF_SHRINK:-50}" \
  --keep "$keep" "${bases[@]}"
