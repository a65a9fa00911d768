#!/usr/bin/env bash
# verify-bc.sh [--at EPOCH] [--out DIR] CAFILE FILE...
# verify-bc.sh available|capabilities|setup STATE|verify STATE MSG|batch STATE MSG...|teardown STATE
#
# Bouncy Castle's verdict on S/MIME signed messages (clear or opaque), all
# FILEs in one JVM: javax.mail parses each, bcmail's SMIMESigned verifies
# every SignerInfo, and the signer must chain to a certificate of CAFILE
# (PEM) at EPOCH with the message's certificates as the only intermediates
# (revocation off; an EKU, if present, must allow emailProtection).
# EPOCH defaults to $NOW when set (tests/lib.sh's pinned clock), else to the
# test PKI's pinned time 1780272000 (2026-06-01): the test certificates are
# judged at that date, never at the machine's clock.
#
# Output: one line per FILE, "pass FILE signers=N signer=DN digest=OID
# sig=OID" or "fail FILE: WHY"; --out DIR also writes the signed entity as
# BC sees it to DIR/BASENAME.content. Exit 0 when every FILE passed, 1 when one
# failed, 2 on a usage error, 77 when java, javac or the Bouncy Castle jars
# are missing (the reason on stderr; a test calling this decides between
# skip and failure with tests/skip.sh).
# SmimeTool is compiled on first use into $SMIME_BC_CLASSES, default
# $top_builddir/tests/.work/bc-classes when top_builddir is set (make
# check), else a throw-away folder.
#
# As a verifier of tests/interop/run-relay-interop.sh (environment PKI and
# NOW; the interface is described in verify-openssl.sh): available, setup
# STATE (compiles the tool into $SMIME_BC_CLASSES, else STATE/classes),
# verify STATE MSG (one JVM), teardown STATE, and the optional batch
# commands: capabilities (prints "batch") and batch STATE MSG... (every MSG
# in one JVM, trust root.crt, one "pass MSG ..." / "fail MSG: WHY" line
# each, exit 0 when all passed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bc/bc.sh
. "$here/bc/bc.sh"
# relay_classes STATE: where setup compiles the tool.
relay_classes() { echo "${SMIME_BC_CLASSES:-$1/classes}"; }
case ${1:-} in
  available)
    command -v java >/dev/null || { echo "java not installed"; exit 1; }
    command -v javac >/dev/null || { echo "javac not installed"; exit 1; }
    for j in bcprov bcpkix bcmail javax.mail javax.activation; do
      [ -f "${SMIME_BC_JARS:-/usr/share/java}/$j.jar" ] || { echo "$j.jar missing"; exit 1; }
    done
    exit 0 ;;
  capabilities) echo batch; exit 0 ;;
  setup)
    bc_setup "$(relay_classes "$2")" || { echo "Bouncy Castle not usable:$bc_missing"; exit 1; }
    exit 0 ;;
  teardown) exit 0 ;;
  verify | batch)
    [ $# -ge 3 ] || { echo "usage: verify-bc.sh $1 STATE MSG..." >&2; exit 2; }
    cmd=$1 state=$2
    shift 2
    bc_setup "$(relay_classes "$state")" || { echo "Bouncy Castle not usable:$bc_missing"; exit 1; }
    out=$(bc_tool verify --at "${NOW:-1780272000}" "$PKI/root.crt" "$@" 2>&1)
    rc=$?
    if [ "$cmd" = verify ] && [ $rc -ne 0 ]; then
      head -c 300 <<<"$out" | tr '\n' ' '
    elif [ "$cmd" = batch ]; then
      printf '%s\n' "$out"
    fi
    exit $rc ;;
esac
usage() { echo "usage: verify-bc.sh [--at EPOCH] [--out DIR] CAFILE FILE..." >&2; exit 2; }
at=${NOW:-1780272000}
out=()
while [ $# -gt 0 ]; do
  case $1 in
    --at) [ $# -ge 2 ] || usage; at=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=(--out "$2"); shift 2 ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
tmp=""
if [ -n "${SMIME_BC_CLASSES:-}" ]; then
  classes=$SMIME_BC_CLASSES
elif [ -n "${top_builddir:-}" ]; then
  classes=$top_builddir/tests/.work/bc-classes
else
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/verify-bc.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  classes=$tmp/classes
fi
if ! bc_setup "$classes"; then
  echo "verify-bc.sh: Bouncy Castle not usable, missing:$bc_missing" >&2
  exit 77
fi
bc_tool verify --at "$at" "${out[@]}" "$@"
