# tests/e2e/sendmail-lib.sh: Sendmail 8.17 from Debian's packages, unpacked
# into a private root (it conflicts with Postfix as an installed package),
# on 127.0.0.1, relaying to smtp-sink.
# Sourced after tests/lib.sh and postfix-lib.sh (for free_port).
#
# sm_unpack: downloads (apt-get download) and unpacks the packages once per
#   build tree into $SM_ROOT; returns 1 when they cannot be had.
# sm_setup BASE MILTER_SOCKET / sm_start / sm_stop: one instance; mail goes to
#   files in BASE/sink; Sendmail's syslog lines go to BASE/maillog.

SM_ROOT=$build/tests/.sendmail-root

sm_unpack() {
  [ -x "$SM_ROOT/usr/libexec/sendmail/sendmail" ] && [ -f "$SM_ROOT/syslog-capture.so" ] && return 0
  local dl
  dl=$(mktemp -d)
  chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && apt-get download -q sendmail-bin sendmail-base sendmail-cf liblockfile1 libwrap0 \
    >/dev/null 2>&1) || { rm -rf "$dl"; return 1; }
  mkdir -p "$SM_ROOT"
  for f in "$dl"/*.deb; do dpkg -x "$f" "$SM_ROOT"; done
  rm -rf "$dl"
  # Setgid binaries ignore LD_LIBRARY_PATH and LD_PRELOAD.
  chmod g-s "$SM_ROOT/usr/libexec/sendmail/sendmail"
  cc -shared -fPIC -O2 -o "$SM_ROOT/syslog-capture.so" "$top/tests/e2e/syslog-capture.c"
}

sm_setup() {
  SM_BASE=$1
  local sock=$2
  SM_PORT=$(free_port)
  SM_SUBMIT=$(free_port)
  SM_SINK_PORT=$(free_port)
  mkdir -p "$SM_BASE/mqueue" "$SM_BASE/sink"
  chmod 700 "$SM_BASE/mqueue"
  chown nobody "$SM_BASE/sink"
  : >"$SM_BASE/aliases"
  : >"$SM_BASE/statistics"
  printf 'hosts files\naliases files\n' >"$SM_BASE/service.switch"
  cat >"$SM_BASE/sendmail.mc" <<MC
divert(-1)
divert(0)dnl
include(\`$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`MAIL_SETTINGS_DIR', \`$SM_BASE/')dnl
define(\`QUEUE_DIR', \`$SM_BASE/mqueue')dnl
define(\`confPID_FILE', \`$SM_BASE/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SM_BASE/statistics')dnl
define(\`ALIAS_FILE', \`$SM_BASE/aliases')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_BASE/service.switch')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$SM_PORT, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(\`Family=inet, Name=ORIGINATING, Port=$SM_SUBMIT, Addr=127.0.0.1')dnl
INPUT_MAIL_FILTER(\`smime', \`S=local:$sock, F=T, T=C:10s;S:10s;R:10s;E:30s')dnl
MAILER(\`smtp')dnl
MC
  # promiscuous_relay is safe here: the daemon listens on 127.0.0.1 only.
  m4 "$SM_BASE/sendmail.mc" >"$SM_BASE/sendmail.cf" 2>"$SM_BASE/m4.err"
}

sm_start() {
  smtp-sink -u nobody -d "$SM_BASE/sink/%H%M%S." "127.0.0.1:$SM_SINK_PORT" 100 \
    >"$SM_BASE/sink.out" 2>&1 &
  SM_SINK_PID=$!
  SYSLOG_CAPTURE=$SM_BASE/maillog LD_PRELOAD=$SM_ROOT/syslog-capture.so \
    LD_LIBRARY_PATH=$SM_ROOT/usr/lib/x86_64-linux-gnu \
    unshare --uts sh -c 'hostname mta.test && exec "$@"' sh \
    "$SM_ROOT/usr/libexec/sendmail/sendmail" -C "$SM_BASE/sendmail.cf" -bD -q30m \
    >"$SM_BASE/sendmail.out" 2>&1 &
  SM_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SM_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "sendmail did not start:"; cat "$SM_BASE/sendmail.out" "$SM_BASE/maillog" 2>/dev/null
  return 1
}

sm_stop() {
  for p in ${SM_PID:-} ${SM_SINK_PID:-}; do
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  SM_PID= SM_SINK_PID=
}

# sm_wait_sent N [SECONDS]: until N "stat=Sent" lines are in the maillog.
sm_wait_sent() {
  local i
  for ((i = 0; i < ${2:-60} * 10; i++)); do
    [ "$(grep -c 'stat=Sent' "$SM_BASE/maillog" 2>/dev/null)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
