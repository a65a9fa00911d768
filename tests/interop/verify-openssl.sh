#!/usr/bin/env bash
# verify-openssl.sh: OpenSSL as a signature verifier for run-relay-interop.sh.
# Interface (every tests/interop/verify-NAME.sh follows it; environment:
# PKI = the test PKI folder (root.crt is the one trust anchor), NOW = the
# pinned clock in seconds since the epoch):
#   verify-NAME.sh available        exit 0 when the tool is installed, else
#                                    print what is missing and exit 1
#   verify-NAME.sh setup STATE      prepare trust in the empty folder STATE
#   verify-NAME.sh verify STATE MSG exit 0 when MSG (a whole clear or opaque
#                                    signed message) verifies at NOW with a
#                                    chain to root.crt; else print why
#   verify-NAME.sh teardown STATE   stop anything setup started
set -u
case ${1:-} in
  available) command -v openssl >/dev/null || { echo "openssl not installed"; exit 1; } ;;
  setup | teardown) ;;
  verify)
    openssl cms -verify -in "$3" -CAfile "$PKI/root.crt" -attime "$NOW" -purpose smimesign \
      -out /dev/null 2>&1 >/dev/null | head -c 300 | tr '\n' ' '
    exit "${PIPESTATUS[0]}" ;;
  *) echo "usage: $0 available|setup STATE|verify STATE MSG|teardown STATE" >&2; exit 2 ;;
esac
