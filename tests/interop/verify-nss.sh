#!/usr/bin/env bash
# verify-nss.sh: NSS cmsutil as a signature verifier for
# run-relay-interop.sh; the interface is described in verify-openssl.sh.
# STATE/nss is a throw-away database that trusts only root.crt. cmsutil
# checks at the current time (the test PKI's good certificates cover it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
  available)
    for t in cmsutil certutil python3; do
      command -v "$t" >/dev/null || { echo "$t not installed"; exit 1; }
    done ;;
  setup)
    if ! { mkdir "$2/nss" && certutil -N -d "sql:$2/nss" --empty-password &&
        certutil -A -d "sql:$2/nss" -n smime-milter-test-root -t C,C,C -a -i "$PKI/root.crt"; } \
        >/dev/null 2>&1; then
      echo "cannot create the NSS database"
      exit 1
    fi ;;
  teardown) ;;
  verify)
    d=$(mktemp -d "$2/msg.XXXXXX")
    kind=$(python3 "$here/mimetool.py" split "$3" "$d" 2>&1) || { echo "cannot split: $kind"; exit 1; }
    if [ "${kind%% *}" = opaque ]; then
      got=$(cmsutil -D -d "sql:$2/nss" -i "$d/p7m.der" -h 1 -n 2>&1)
    else
      got=$(cmsutil -D -d "sql:$2/nss" -i "$d/sig.der" -c "$d/part" -h 1 -n 2>&1)
    fi
    rc=$?
    [ $rc -eq 0 ] && grep -q 'signer0.status=GoodSignature;' <<<"$got" && exit 0
    echo "rc $rc: $(tr '\n' ' ' <<<"$got" | head -c 300)"
    exit 1 ;;
  *) echo "usage: $0 available|setup STATE|verify STATE MSG|teardown STATE" >&2; exit 2 ;;
esac
