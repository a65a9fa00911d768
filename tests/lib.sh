# tests/lib.sh: shared helpers for the shell tests (sourced, not run).
#
# Provides: $top (source tree), $build (build tree), $SMIMECTL, $work (a
# private temp folder removed on exit), make_pki (the generated test PKI,
# built once per build tree under a lock so parallel tests share it, copied
# to $pki = $work/pki for the test; see make_pki),
# write_config FILE [EXTRA LINES...], verdict_of (runs `smimectl process
# --report` and prints the message-level verdict) and the pinned clock $NOW.
# A test that cannot run here says why with skip_or_fail / skip_part
# (tests/skip.sh: exit 77, automake's SKIP; a failure in strict mode, CI=true).
set -u
here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=${top_srcdir:-$(cd "$here_lib/.." && pwd)}
build=${top_builddir:-$top}
SMIMECTL=${SMIMECTL:-$build/src/smimectl}
NOW=1780272000  # 2026-06-01T00:00:00Z: inside every "good" test certificate
# shellcheck source=skip.sh
. "$here_lib/skip.sh"
[ -x "$SMIMECTL" ] || skip_or_fail "$SMIMECTL not built"
work=$(mktemp -d "${TMPDIR:-/tmp}/smime-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
pki=$work/pki

# The PKI is generated once per build tree (tests/.pki there), but each test
# uses its own copy in $work/pki: daemons that drop privileges (the milter
# as nobody, Postfix, Sendmail) must read certificates, and the build tree
# may sit in a folder only root can enter (a clone under /root). The copy is
# world-readable (folder 0755, certificates 0644) except the private keys
# (0600, root's): a test that lets another user read a key copies it and
# hands it over (nobody_keys in tests/e2e/milter-lib.sh). A test that lets
# another user in must also chmod 755 "$work" (the rest of $work stays its).
make_pki() {
  local shared=$build/tests/.pki lock=$build/tests/.pki.lock
  mkdir -p "$build/tests"
  flock "$lock" "$top/tests/pki/gen-pki.sh" "$shared" >/dev/null
  rm -rf "$pki"
  flock -s "$lock" cp -R "$shared" "$pki"
  chmod 755 "$pki"
  find "$pki" -type f -exec chmod 644 {} +
  find "$pki" -type f -name '*.key' -exec chmod 600 {} +
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
