# shellcheck shell=bash
# tests/e2e/milter-lib.sh: the real smime-milter for the end-to-end tests
# (sourced after tests/lib.sh and postfix-lib.sh).
#
# e2e_require MTA TOOL...: exits 77 (SKIP) unless run as root (MTA names what
#   needs it in the message) and with every TOOL installed.
# e2e_init [DIR...]: sets $MILTER ($SMIME_MILTER or the built smime-milter),
#   builds the test PKI, makes $work readable by nobody and creates
#   $work/msgs, $work/state (owned by nobody) and $work/DIR for each DIR.
# ok / bad MESSAGE: an "ok   " / "FAIL " line, counted in $pass / $failed.
# nobody_keys ID...: copies $pki/ID.key to $work/keys/ID.key, mode 600 and
#   owned by nobody (the milter reads keys as root at start-up and as the
#   service user nobody on reload).
# start_milter: runs $MILTER -c $work/milter.conf in the foreground (in the
#   background of the test, $MILTER_PID), stderr appended to
#   $work/milter.log; waits for $work/milter.sock, fails if it never comes.
# stop_milter: SIGTERM to $MILTER_PID (if any) and wait for it.
# stop_all: pf_stop (postfix-lib.sh), then stop_milter.
# reload_milter LABEL: SIGUSR1 and wait for the next reload line in the log;
#   ok/bad "reload (LABEL)" by whether it reports success (version=).
# headers_of FILE / body_of FILE: a message file's header (up to and with
#   the empty line) / body. (run-postfix.sh and run-sendmail.sh define their
#   own headers_of NAME.)
# top_header FILE NAME: the (unfolded) value of the first field NAME.

e2e_require() {
  local mta=$1 t
  shift
  [ "$(id -u)" = 0 ] || skip_or_fail "needs root to run $mta"
  for t in "$@"; do
    command -v "$t" >/dev/null || skip_or_fail "$t not installed"
  done
}

e2e_init() {
  local d
  MILTER=${SMIME_MILTER:-$build/src/smime-milter}
  make_pki
  chmod 755 "$work"
  mkdir -p "$work/msgs" "$work/state"
  for d in "$@"; do mkdir -p "$work/$d"; done
  chown nobody "$work/state"
  pass=0 failed=0
}

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

nobody_keys() {
  local id
  mkdir -p "$work/keys"
  for id in "$@"; do
    cp "$pki/$id.key" "$work/keys/$id.key"
    chown nobody "$work/keys/$id.key"
    chmod 600 "$work/keys/$id.key"
  done
}

start_milter() {
  "$MILTER" -c "$work/milter.conf" -f -e >/dev/null 2>>"$work/milter.log" &
  MILTER_PID=$!
  for _ in $(seq 50); do [ -S "$work/milter.sock" ] && return 0; sleep 0.1; done
  echo "milter did not start"; cat "$work/milter.log"; return 1
}

stop_milter() {
  [ -n "${MILTER_PID:-}" ] && kill -TERM "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
  MILTER_PID=
}

stop_all() {
  pf_stop
  stop_milter
}

reload_milter() {
  local before
  before=$(grep -c 'reload: ' "$work/milter.log")
  kill -USR1 "$MILTER_PID"
  for _ in $(seq 50); do
    [ "$(grep -c 'reload: ' "$work/milter.log")" -gt "$before" ] && break
    sleep 0.1
  done
  if grep 'reload: ' "$work/milter.log" | tail -1 | grep -q 'reload: version='; then
    ok "reload ($1) as the service user"
  else
    bad "reload ($1): $(grep 'reload: ' "$work/milter.log" | tail -1)"
  fi
}

headers_of() { sed '/^\r*$/q' "$1"; }
body_of() { sed '1,/^\r*$/d' "$1"; }
top_header() {
  headers_of "$1" | tr -d '\r' | awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" '
    /^[ \t]/ { if (p) v = v " " $0; next }
    { if (p) exit; h = tolower($0); sub(/:.*/, "", h); if (h == n) { p = 1; v = $0; sub(/^[^:]*:[ \t]*/, "", v) } }
    END { if (p) print v }'
}
