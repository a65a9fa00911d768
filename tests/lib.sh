# tests/lib.sh: shared helpers for the shell tests (sourced, not run).
#
# Provides: $top (source tree), $build (build tree), $SMIMECTL, $work (a
# private temp folder removed on exit), make_pki (the generated test PKI in
# $pki, built once per build tree under a lock so parallel tests share it),
# write_config FILE [EXTRA LINES...], verdict_of (runs `smimectl process
# --report` and prints the message-level verdict) and the pinned clock $NOW.
# A test that cannot run here exits 77 (automake's SKIP) with a reason.
set -u
here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=${top_srcdir:-$(cd "$here_lib/.." && pwd)}
build=${top_builddir:-$top}
SMIMECTL=${SMIMECTL:-$build/src/smimectl}
NOW=1780272000  # 2026-06-01T00:00:00Z: inside every "good" test certificate
[ -x "$SMIMECTL" ] || { echo "SKIP: $SMIMECTL not built"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/smime-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
pki=$build/tests/.pki

make_pki() {
  mkdir -p "$build/tests"
  flock "$build/tests/.pki.lock" "$top/tests/pki/gen-pki.sh" "$pki" >/dev/null
}

# write_config FILE [LINE...]: a config using the test PKI's trust anchor.
# The generated PKI publishes no CRL or OCSP source, so revocation is off
# unless a LINE sets it; a LINE replaces the default of the same name.
write_config() {
  local f=$1 name line
  shift
  {
    for line in "authserv_id = mx.test" "trust_anchors = $pki/trust.pem" "state_dir = $work" \
        "revocation = off"; do
      name=${line%% =*}
      printf '%s\n' "$@" | grep -q "^$name =" || echo "$line"
    done
    for line in "$@"; do echo "$line"; done
  } >"$f"
}

# verdict_of CONF FILE: prints the verdict and the first reason, e.g. "fail signature-invalid".
verdict_of() {
  local json
  json=$("$SMIMECTL" -c "$1" process --inbound --now "$NOW" --report "$2" 2>/dev/null) || true
  local v r
  v=$(printf '%s' "$json" | sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p')
  r=$(printf '%s' "$json" | sed -n 's/.*"results":\[{"result":"[a-z]*","reason":"\([^"]*\)".*/\1/p')
  echo "${v:-no-report} $r"
}
