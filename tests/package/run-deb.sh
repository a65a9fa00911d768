#!/usr/bin/env bash
# run-deb.sh: the Debian package from contrib/build-deb.sh on this machine.
# Builds it, checks its contents (programs, man pages, conffiles, units,
# maintainer scripts) and rates its units with `systemd-analyze security
# --offline` (below 2.0 each), installs it with dpkg -i and checks what
# postinst made (system user smime-milter, /var/lib/smime-milter 0700 its
# own, the socket folder in Postfix's spool setgid group postfix), runs
# `systemd-analyze verify` on the installed units, shows that `smime-milter
# -n` as the service user refuses the fresh config (no trust anchors) and
# accepts it once the test anchors are in /etc/smime-milter, starts the
# daemon as the unit does (systemctl when systemd is PID 1; otherwise the
# unit's ExecStartPre and ExecStart as its User=/Group=; under a real
# systemd in a container: tests/package/run-deb-systemd.sh), and passes a
# signed and a tampered message through a private Postfix whose master.cf
# is Debian's stock one (smtpd, cleanup, pickup chrooted: column 5 = y)
# and whose main.cf milter settings are only the installed
# main.cf.snippet: they arrive with smime=pass / smime=fail from the
# package's daemon. The private instance has its own queue_directory (the
# chroot), so the installed config's socket is pointed into that
# queue_directory's smime-milter/ folder, made as postinst makes
# /var/spool/postfix/smime-milter; the snippet's relative socket path is
# then right unchanged. Finally dpkg --purge: nothing of the package is
# left (files, state, socket folder, unit links) except the trust anchors
# the test added to /etc/smime-milter, which purge keeps by design, and the
# system user, which Debian keeps (contrib/debian/README.Debian); the test
# removes both itself to restore the machine.
# Needs root, dpkg and Postfix; skips otherwise, fails instead in CI
# (CI=true). Refuses to run where smime-milter is installed already.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e/postfix-lib.sh"
. "$(dirname "$0")/deb-lib.sh"

need() {  # need REASON: skip, or fail in CI
  if [ "${CI:-}" = true ]; then echo "FAIL: $1 (CI=true: required)"; exit 1; fi
  echo "SKIP: $1"
  exit 77
}
[ "$(id -u)" = 0 ] || need "needs root (dpkg -i)"
for t in dpkg dpkg-deb dpkg-shlibdeps autoreconf postfix postconf swaks openssl runuser \
    systemd-analyze; do
  command -v "$t" >/dev/null || need "$t not installed"
done
[ -x /usr/lib/postfix/sbin/master ] || need "Postfix master not installed"
[ -r /usr/share/postfix/master.cf.dist ] || need "Debian's /usr/share/postfix/master.cf.dist missing"
# A machine that runs smime-milter already is not a test machine.
if dpkg-query -W -f='${Status}' smime-milter 2>/dev/null | grep -q installed; then
  need "smime-milter is installed on this machine already: not touching it"
fi
[ ! -e /etc/smime-milter ] && [ ! -e /var/lib/smime-milter ] ||
  need "/etc/smime-milter or /var/lib/smime-milter exists already: not touching it"

pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
make_pki
chmod 755 "$work"
user_existed=no
getent passwd smime-milter >/dev/null && user_existed=yes
MILTER_PID= installed=no anchors_added=no
cleanup() {
  pf_stop
  if [ -n "$MILTER_PID" ]; then kill -TERM "$MILTER_PID" 2>/dev/null; wait "$MILTER_PID" 2>/dev/null; fi
  [ "$(ps -p 1 -o comm= 2>/dev/null)" != systemd ] || systemctl stop smime-milter >/dev/null 2>&1
  rm -rf /run/systemd/system/smime-milter.service.d
  [ "$installed" = no ] || dpkg --purge smime-milter >/dev/null 2>&1
  if [ "$anchors_added" = yes ]; then
    rm -f /etc/smime-milter/trust-anchors.pem
    rmdir /etc/smime-milter 2>/dev/null
  fi
  [ "$user_existed" = yes ] || ! getent passwd smime-milter >/dev/null ||
    deluser --system --quiet smime-milter >/dev/null 2>&1
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# --- build ----------------------------------------------------------------
build_deb "$work/out" || { echo "FAIL build-deb.sh"; exit 1; }
version=$(sed -n 's/^AC_INIT(\[smime-milter\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
deb="$work/out/smime-milter_${version}-1_$(dpkg --print-architecture).deb"
[ -f "$deb" ] && ok "build-deb.sh wrote $(basename "$deb")" || { bad "no $deb"; ls "$work/out"; exit 1; }
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$work/contents"
for want in "-rwxr-xr-x root/root ./usr/sbin/smime-milter" "-rwxr-xr-x root/root ./usr/bin/smimectl" \
    "./usr/share/man/man8/smime-milter.8.gz" "./usr/share/man/man8/smimectl.8.gz" \
    "./usr/share/man/man5/smime-milter.conf.5.gz" "./etc/smime-milter/smime-milter.conf" \
    "./etc/smime-milter/identities" "./etc/smime-milter/signing-users" \
    "./etc/smime-milter/policies/examples/default.conf" \
    "./lib/systemd/system/smime-milter.service" "./lib/systemd/system/smime-milter-crl-fetch.service" \
    "./lib/systemd/system/smime-milter-crl-fetch.timer" "./var/spool/postfix/smime-milter/" \
    "./usr/share/doc/smime-milter/README.Debian" "./usr/share/doc/smime-milter/main.cf.snippet"; do
  if grep -qF -- "$want" "$work/contents"; then ok "package has $want"; else bad "package lacks $want"; fi
done
dpkg-deb -x "$deb" "$work/x"
if ! command -v readelf >/dev/null; then
  need "readelf not installed"
elif readelf -S "$work/x/usr/sbin/smime-milter" | grep -q '\.symtab'; then
  bad "smime-milter is not stripped"
else
  ok "smime-milter is stripped"
fi
dpkg-deb -e "$deb" "$work/ctl"
for f in /etc/smime-milter/smime-milter.conf /etc/smime-milter/identities \
    /etc/smime-milter/signing-users /etc/smime-milter/policies/examples/example.com.conf; do
  grep -qxF "$f" "$work/ctl/conffiles" && ok "conffile $f" || bad "$f is not a conffile"
done
grep -q '^Depends: adduser, .*libgmime-3.0-0' "$work/ctl/control" &&
  grep -q 'libmilter' "$work/ctl/control" && ok "Depends from dpkg-shlibdeps" ||
  bad "Depends: $(grep '^Depends' "$work/ctl/control")"
grep -q '^socket = unix:/var/spool/postfix/smime-milter/smime-milter.sock$' \
  "$work/x/etc/smime-milter/smime-milter.conf" && ok "packaged socket is in Postfix's spool" ||
  bad "packaged socket: $(grep '^socket' "$work/x/etc/smime-milter/smime-milter.conf")"
for u in smime-milter.service smime-milter-crl-fetch.service; do
  # The units name the packaged paths, not /usr/local.
  grep -q '/usr/local' "$work/x/lib/systemd/system/$u" && bad "$u mentions /usr/local"
  score=$(systemd-analyze security --offline=yes --root="$work/x" "/lib/systemd/system/$u" 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
  if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'; then
    ok "systemd-analyze security $u: $score"
  else
    bad "systemd-analyze security $u: '${score}' (want < 2.0)"
    systemd-analyze security --offline=yes --root="$work/x" "/lib/systemd/system/$u" 2>&1 | grep -v '^  ✓' | head -40
  fi
done

# --- install --------------------------------------------------------------
dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1 && installed=yes ||
  { cat "$work/dpkg-i.log"; bad "dpkg -i"; installed=yes; exit 1; }
ok "dpkg -i"
dpkg -L smime-milter | sort >"$work/files"
home=$(getent passwd smime-milter | cut -d: -f6)
shell=$(getent passwd smime-milter | cut -d: -f7)
[ "$home" = /var/lib/smime-milter ] && ok "system user smime-milter, home $home, shell $shell" ||
  bad "user smime-milter: home '$home'"
[ "$(stat -c '%U:%G %a' /var/lib/smime-milter)" = "smime-milter:smime-milter 700" ] &&
  ok "state folder smime-milter:smime-milter 700" || bad "state folder $(stat -c '%U:%G %a' /var/lib/smime-milter)"
[ "$(stat -c '%U:%G %a' /var/spool/postfix/smime-milter)" = "smime-milter:postfix 2750" ] &&
  ok "socket folder smime-milter:postfix 2750" ||
  bad "socket folder $(stat -c '%U:%G %a' /var/spool/postfix/smime-milter)"
for l in multi-user.target.wants/smime-milter.service timers.target.wants/smime-milter-crl-fetch.timer; do
  [ -L "/etc/systemd/system/$l" ] && ok "enabled: $l" || bad "not enabled: $l"
done
for u in smime-milter.service smime-milter-crl-fetch.service smime-milter-crl-fetch.timer; do
  if systemd-analyze verify "/lib/systemd/system/$u" >"$work/verify.log" 2>&1 &&
     ! grep -v -e 'Failed to .* bus' -e '^$' "$work/verify.log" | grep -q .; then
    ok "systemd-analyze verify $u"
  else
    bad "systemd-analyze verify $u:"; cat "$work/verify.log"
  fi
done

# --- configure as an admin would ----------------------------------------
conf=/etc/smime-milter/smime-milter.conf
as_user() { runuser -u smime-milter -g smime-milter -- "$@"; }
if as_user /usr/sbin/smime-milter -n >"$work/n0.log" 2>&1; then
  bad "smime-milter -n accepted the fresh config without trust anchors"
elif grep -q 'trust' "$work/n0.log"; then
  ok "smime-milter -n refuses the fresh config: $(head -1 "$work/n0.log")"
else
  bad "smime-milter -n failed for another reason: $(cat "$work/n0.log")"
fi
install -m 0644 "$pki/trust.pem" /etc/smime-milter/trust-anchors.pem && anchors_added=yes
# The private instance's chroot: its queue_directory, with the socket
# folder as postinst makes it in /var/spool/postfix.
pf_setup "$work/pf" unused || exit 1
queue="$work/pf/spool"
install -d -o smime-milter -g postfix -m 2750 "$queue/smime-milter"
chmod 2750 "$queue/smime-milter"
# Inbound from 127.0.0.1; the test PKI has no OCSP or CRL.
sed -i -e 's/^authserv_id = .*/authserv_id = mx.test/' -e 's|^internal_hosts = .*|internal_hosts = 192.0.2.0/24|' \
  -e "s|^socket = .*|socket = unix:$queue/smime-milter/smime-milter.sock|" "$conf"
grep -q '^revocation =' "$conf" && sed -i 's/^revocation = .*/revocation = off/' "$conf" ||
  echo 'revocation = off' >>"$conf"
if as_user /usr/sbin/smime-milter -n >"$work/n1.log" 2>&1; then
  ok "smime-milter -n as the service user: $(head -1 "$work/n1.log")"
else
  bad "smime-milter -n: $(cat "$work/n1.log")"
fi

# --- start it as the unit does ------------------------------------------
unit=/lib/systemd/system/smime-milter.service
if [ "$(ps -p 1 -o comm=)" = systemd ]; then
  # The test's socket folder is under $TMPDIR, which the unit hides
  # (PrivateTmp) and makes read-only: a runtime drop-in opens it.
  mkdir -p /run/systemd/system/smime-milter.service.d
  printf '[Service]\nPrivateTmp=no\nReadWritePaths=%s\n' "$queue/smime-milter" \
    >/run/systemd/system/smime-milter.service.d/test.conf
  systemctl daemon-reload
  systemctl start smime-milter && ok "systemctl start smime-milter" || bad "systemctl start smime-milter"
else
  user=$(sed -n 's/^User=//p' "$unit") group=$(sed -n 's/^Group=//p' "$unit")
  pre=$(sed -n 's/^ExecStartPre=//p' "$unit") start=$(sed -n 's/^ExecStart=//p' "$unit")
  [ "$user" = smime-milter ] && [ "$group" = smime-milter ] && ok "unit runs as $user:$group" ||
    bad "unit User=$user Group=$group"
  # shellcheck disable=SC2086  # the unit's command lines, split as systemd does (no quotes in them)
  runuser -u "$user" -g "$group" -- $pre >"$work/pre.log" 2>&1 && ok "ExecStartPre: $pre" ||
    bad "ExecStartPre $pre: $(cat "$work/pre.log")"
  # shellcheck disable=SC2086
  runuser -u "$user" -g "$group" -- $start -e 2>"$work/milter.log" &
  MILTER_PID=$!
fi
sock="$queue/smime-milter/smime-milter.sock"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
if [ "$(stat -c '%U:%G %a' "$sock" 2>/dev/null)" = "smime-milter:postfix 660" ]; then
  ok "socket smime-milter:postfix 660 in the chroot"
else
  bad "socket: $(stat -c '%U:%G %a' "$sock" 2>&1)"; cat "$work/milter.log" 2>/dev/null
fi

# --- Postfix with Debian's chroot defaults and the documented snippet ----
# master.cf: Debian's stock file, smtp on the test port, without the
# example pipe services (they need users such as vmail).
awk -v port="$PF_PORT" '
  /^maildrop / { exit }
  /^smtp +inet/ { sub(/^smtp /, "127.0.0.1:" port " ") }
  { print }' /usr/share/postfix/master.cf.dist >"$work/pf/etc/master.cf"
grep -q "^127.0.0.1:$PF_PORT  *inet  *n  *-  *y  *-  *-  *smtpd" "$work/pf/etc/master.cf" &&
  ok "master.cf: smtpd chrooted (Debian default)" || bad "master.cf: $(grep inet "$work/pf/etc/master.cf")"
for p in smtpd_milters non_smtpd_milters milter_default_action milter_protocol; do
  postconf -c "$work/pf/etc" -X "$p"
done
cat /usr/share/doc/smime-milter/main.cf.snippet >>"$work/pf/etc/main.cf"
[ "$(postconf -c "$work/pf/etc" -h smtpd_milters)" = unix:smime-milter/smime-milter.sock ] &&
  ok "main.cf: the installed snippet's smtpd_milters" || bad "smtpd_milters: $(postconf -c "$work/pf/etc" -h smtpd_milters)"
# What Debian's Postfix start-up (configure-instance.sh) copies into the chroot.
mkdir -p "$queue/etc"
for f in localtime host.conf resolv.conf nsswitch.conf hosts services; do
  [ -e "/etc/$f" ] && cp -L "/etc/$f" "$queue/etc/$f"
done
touch -d '-1 minute' "$work/pf"/etc/*
postfix -c "$work/pf/etc" check >"$work/pf/check.log" 2>&1 || { bad "postfix check"; cat "$work/pf/check.log"; }
pf_start || { bad "postfix start"; exit 1; }
mkdir -p "$work/msgs"
e2e_messages "$work/msgs"
send() {  # send FILE
  swaks --server "127.0.0.1:$PF_PORT" --from sender@a.example --to carol@b.example --data "@$1" \
    --silent 2 >"$work/swaks.out" 2>&1 || { echo "swaks failed:"; cat "$work/swaks.out"; }
}
send "$work/msgs/signed.eml"
send "$work/msgs/tampered.eml"
pf_wait_delivered 2 60 || bad "only $(pf_delivered) of 2 messages delivered"
for m in signed:pass tampered:fail; do
  f=$(grep -l "^Message-ID: <${m%%:*}@a.example>" -r "$work/pf/mail" | head -1)
  ar=$([ -n "$f" ] && sed '/^\r*$/q' "$f" | grep -A1 '^Authentication-Results: mx.test;')
  if printf '%s' "$ar" | grep -q "smime=${m#*:}"; then
    ok "${m%%:*} message through chrooted smtpd: smime=${m#*:}"
  else
    bad "${m%%:*} message: '$ar'"; tail -20 "$work/pf/maillog" 2>/dev/null
  fi
done
# The smtpd that talked to the milter really ran in the chroot (its root
# is the private queue_directory).
roots=$(for pid in $(pgrep -f "smtpd -n 127.0.0.1:$PF_PORT"); do readlink "/proc/$pid/root"; done | sort -u)
[ -n "$roots" ] && [ "$roots" = "$queue" ] && ok "smtpd's root is the queue_directory: $roots" ||
  bad "smtpd roots: '$roots' (want $queue)"
grep -q 'chroot' "$work/pf/maillog" && bad "chroot errors in maillog: $(grep chroot "$work/pf/maillog")"
pf_stop

# --- reload as the unit does (systemctl reload runs ExecReload) ----------
reload_cmd=$(sed -n 's/^ExecReload=//p' "$unit")
unit_reload() {
  if [ -z "$MILTER_PID" ]; then
    systemctl reload smime-milter
  else
    # shellcheck disable=SC2086  # the unit's command line, split as systemd does
    runuser -u smime-milter -g smime-milter -- $reload_cmd
  fi
}
case "$reload_cmd" in
  */smimectl\ *reload*) ok "ExecReload waits for the daemon's answer: $reload_cmd" ;;
  *) bad "ExecReload: '$reload_cmd' (want smimectl reload)" ;;
esac
unit_reload >"$work/reload.log" 2>&1 && ok "reload: $(head -1 "$work/reload.log")" ||
  bad "reload of the running configuration: $(cat "$work/reload.log")"
cp "$conf" "$work/conf.good"
echo "trust_anchors = /etc/smime-milter/no-such-anchors.pem" >>"$conf"
if unit_reload >"$work/reload.log" 2>&1; then
  bad "reload of a refused configuration succeeded: $(cat "$work/reload.log")"
else
  ok "reload of a refused configuration fails: $(grep -m1 'failed' "$work/reload.log")"
fi
cp "$work/conf.good" "$conf"
unit_reload >"$work/reload.log" 2>&1 && ok "reload after the fix" || bad "reload after the fix: $(cat "$work/reload.log")"

if [ -n "$MILTER_PID" ]; then
  kill -TERM "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null; MILTER_PID=
else
  systemctl stop smime-milter
fi

# --- purge ----------------------------------------------------------------
# The state the daemon wrote must go too.
ls -A /var/lib/smime-milter | grep -q . && ok "state_dir has state: $(ls /var/lib/smime-milter | tr '\n' ' ')" ||
  bad "state_dir empty after running"
touch /var/spool/postfix/smime-milter/smime-milter.sock  # as a crashed daemon leaves it
dpkg --purge smime-milter >"$work/purge.log" 2>&1 && installed=no && ok "dpkg --purge" ||
  { bad "dpkg --purge"; cat "$work/purge.log"; }
left=$(purge_leftovers "" "$work/files")
[ "$(ls -A /etc/smime-milter 2>&1)" = trust-anchors.pem ] &&
  ok "purge kept only the file the admin added: /etc/smime-milter/trust-anchors.pem" ||
  bad "/etc/smime-milter after purge: $(ls -AR /etc/smime-milter 2>&1)"
[ -z "$left" ] && ok "purge left nothing of the package" || bad "left after purge:$left"
getent passwd smime-milter >/dev/null && ok "system user kept (README.Debian)" || bad "system user removed"
dpkg-query -W -f='${Status}' smime-milter 2>/dev/null | grep -q 'not-installed\|^$' ||
  [ -z "$(dpkg-query -W -f='${Status}' smime-milter 2>/dev/null)" ] && ok "dpkg knows no smime-milter" ||
  bad "dpkg status: $(dpkg-query -W -f='${Status}' smime-milter)"

echo "run-deb: $pass passed, $failed failed"
[ "$failed" = 0 ]
