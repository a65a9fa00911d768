#!/usr/bin/env bash
# verify-gpgsm.sh: GnuPG's gpgsm as a signature verifier for
# run-relay-interop.sh; the interface is described in verify-openssl.sh.
# STATE/gnupg is a throw-away GNUPGHOME that trusts only root.crt (the
# intermediate must come from the signature); the clock is faked to NOW.
set -u
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
  available)
    for t in gpgsm gpgconf python3; do
      command -v "$t" >/dev/null || { echo "$t not installed"; exit 1; }
    done ;;
  setup)
    export GNUPGHOME=$2/gnupg
    mkdir -m 700 "$GNUPGHOME" || exit 1
    echo "$(openssl x509 -in "$PKI/root.crt" -noout -fingerprint -sha1 | cut -d= -f2) S relax" \
      >"$GNUPGHOME/trustlist.txt"
    gpgsm --batch --disable-dirmngr --import "$PKI/root.crt" >/dev/null 2>&1 ||
      { echo "cannot import root.crt"; exit 1; } ;;
  teardown) GNUPGHOME=$2/gnupg gpgconf --kill gpg-agent 2>/dev/null; exit 0 ;;
  verify)
    export GNUPGHOME=$2/gnupg
    d=$(mktemp -d "$2/msg.XXXXXX")
    kind=$(python3 "$here/mimetool.py" split "$3" "$d" 2>&1) || { echo "cannot split: $kind"; exit 1; }
    t=$(date -u -d "@$NOW" +%Y%m%dT%H%M%S)
    args=(--verify "$d/sig.der" "$d/part")
    [ "${kind%% *}" = opaque ] && args=(-o /dev/null --verify "$d/p7m.der")
    gpgsm --batch --disable-dirmngr --disable-crl-checks --disable-policy-checks \
      --faked-system-time "$t" --status-fd 1 "${args[@]}" >"$d/status" 2>"$d/log"
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^\[GNUPG:\] GOODSIG' "$d/status" &&
        grep -q '^\[GNUPG:\] TRUST_FULLY' "$d/status"; then exit 0; fi
    echo "rc $rc: $(grep -v 'faked system time' "$d/log" | tr '\n' ' ' | head -c 300)"
    exit 1 ;;
  *) echo "usage: $0 available|setup STATE|verify STATE MSG|teardown STATE" >&2; exit 2 ;;
esac
