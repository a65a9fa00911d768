#!/usr/bin/env bash
# run-deb-systemd.sh: the Debian package from contrib/build-deb.sh under a
# real systemd as PID 1, in a container this test builds itself from
# Debian's archive: a minimal bookworm (debootstrap --variant=minbase with
# systemd, Postfix, swaks and the package's Depends) booted with
# `systemd-nspawn -b` on a private network (loopback only), driven with
# nsenter. The debootstrapped tree is cached as a tarball in the build tree
# (tests/.deb-systemd/, keyed by the package list and mirror), so only the
# first run downloads; every run unpacks a fresh copy. Inside, as an admin
# would (README.md "Installing", contrib/debian/README.Debian):
#   dpkg -i: postinst starts the CRL timer and leaves the daemon stopped,
#     saying why (no trust anchors yet);
#   trust anchors and smime-milter.conf edited, `smime-milter -n` as the
#     service user accepts it; metrics_file as README.Debian sets it up
#     (node_exporter folder, `systemctl edit` drop-in);
#   systemctl start: active, MainPID is the pid smimectl status reports, the
#     socket in Postfix's spool; the CRL timer in `systemctl list-timers`,
#     its service (smimectl crl fetch in the unit's sandbox) succeeds;
#   Debian's stock Postfix (chrooted master.cf, started by systemd) with only
#     the installed main.cf.snippet added and `systemctl reload postfix`:
#     a signed and a tampered message from 127.0.0.1 arrive in /var/mail
#     with smime=pass and smime=fail (smtpd's root is the spool);
#   `smimectl status` and the metrics file count them;
#   systemctl reload: ok and the reload in the journal; a refused config
#     makes systemctl reload fail with the reason in the journal and the
#     daemon keeps its pid; fixed, reload works again;
#   systemctl stop; dpkg --purge: no files, state, socket folder, unit links
#     or units left (the trust anchors the admin added and the system user
#     stay, as documented).
# SMIME_TEST_DEB=FILE tests that package instead of building one.
# Needs root, debootstrap, systemd-nspawn (systemd-container), nsenter and
# the archive of the configured apt mirror; skips otherwise (also when the
# container does not boot), fails instead in CI (CI=true). The machine
# itself need not run systemd.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e/postfix-lib.sh"
. "$(dirname "$0")/deb-lib.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (debootstrap, systemd-nspawn)"
for t in debootstrap systemd-nspawn nsenter dpkg-deb dpkg-shlibdeps autoreconf openssl tar flock; do
  command -v "$t" >/dev/null || skip_or_fail "$t not installed (contrib/install-deps.sh)"
done

pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

root=$work/rootfs
NSPAWN_PID='' leader=''
# unmount_under DIR: lazily unmounts every mount below DIR (deepest first),
# so that rm -rf DIR never reaches into /proc, /sys or /dev.
unmount_under() {
  awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}
cleanup() {
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    # nspawn turns SIGTERM into an orderly shutdown of the container.
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    # Killing the container's PID 1 ends every process in its namespace.
    [ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null
    kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  # nspawn mounts in its own namespace; never delete through a mount.
  unmount_under "$root"
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# --- the package ------------------------------------------------------------
# SMIME_TEST_DEB=FILE tests that package instead of building one (the
# build is shared with run-deb.sh: tests/package/deb-lib.sh).
if [ -n "${SMIME_TEST_DEB:-}" ]; then
  deb=$SMIME_TEST_DEB
else
  build_deb "$work/out" || { echo "FAIL build-deb.sh"; exit 1; }
  deb=$(ls "$work"/out/smime-milter_*.deb 2>/dev/null | head -1)
fi
[ -f "$deb" ] && ok "package $(basename "$deb")" || { bad "no .deb (${deb:-$work/out})"; exit 1; }
# Its Depends, without versions or alternatives, go into the rootfs.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
  grep . | sort -u | tr '\n' ',')
[ -n "$depends" ] || { bad "no Depends in $deb"; exit 1; }

# --- the rootfs -------------------------------------------------------------
# The bookworm mirror apt uses here (one-line or deb822 sources).
mirror=$(
  {
    awk '$1 == "deb" {
      for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($(i + 1) == "bookworm") print $i; break } }' \
      /etc/apt/sources.list 2>/dev/null
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'BEGIN { RS = ""; FS = "\n" } {
      uri = ""; suites = ""; types = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) uri = $i
        if ($i ~ /^Suites:/) suites = $i
        if ($i ~ /^Types:/) types = $i
      }
      if (types ~ /[[:space:]]deb([[:space:]]|$)/ && suites ~ /[[:space:]]bookworm([[:space:]]|$)/) {
        sub(/^URIs:[[:space:]]*/, "", uri); split(uri, u, /[[:space:]]+/); print u[1]
      } }'
    cat /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {
      for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($(i + 1) == "bookworm") print $i; break } }'
  } | head -1
)
mirror=${mirror:-http://deb.debian.org/debian}
include="systemd,systemd-sysv,dbus,postfix,swaks,${depends%,}"
key=$(printf '%s\n' "$mirror" "$include" "$(dpkg --print-architecture)" | sha256sum | cut -c1-16)
cache=$build/tests/.deb-systemd
tarball=$cache/bookworm-$key.tar
mkdir -p "$cache"
from="from the cache"
[ -s "$tarball" ] || from="debootstrapped from $mirror"
# One debootstrap per build tree and package list; parallel runs wait.
exec 9>"$cache/.lock"
flock 9
if [ ! -s "$tarball" ]; then
  tmp=$cache/rootfs.tmp
  unmount_under "$tmp"  # what an interrupted debootstrap left mounted
  rm -rf "$tmp"
  if ! debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror" \
      >"$work/debootstrap.log" 2>&1; then
    tail -30 "$work/debootstrap.log"
    unmount_under "$tmp"
    rm -rf "$tmp"
    skip_or_fail "debootstrap of bookworm from $mirror failed (above)"
  fi
  rm -f "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
  tar -C "$tmp" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball" ||
    { rm -rf "$tmp" "$tarball.part"; bad "packing $tarball"; exit 1; }
  rm -rf "$tmp"
fi
flock -u 9
exec 9>&-
for f in "$cache"/bookworm-*.tar; do  # earlier package lists
  [ "$f" = "$tarball" ] || rm -f "$f"
done
mkdir "$root"
tar -C "$root" --numeric-owner -xf "$tarball" || { bad "unpacking $tarball"; exit 1; }
ok "rootfs: bookworm minbase + systemd, postfix, swaks, Depends ($from: $(basename "$tarball"))"

# What the container gets from the host: the package, the test PKI's trust
# anchor and the test messages.
make_pki
mkdir -p "$work/msgs" "$root/root/t"
e2e_messages "$work/msgs"
cp "$deb" "$root/root/t/smime-milter.deb"
cp "$pki/trust.pem" "$work/msgs/signed.eml" "$work/msgs/tampered.eml" "$root/root/t/"
# The rootfs has no machine-id yet: systemd makes one at boot.
rm -f "$root/etc/machine-id"
echo "smime-test" >"$root/etc/hostname"

# Only loopback: systemd-networkd-wait-online would hold network-online.target
# (and Postfix after it) for two minutes.
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"

# --- boot -------------------------------------------------------------------
# --register=no --keep-unit: no machined or scope on the host (its PID 1
# need not be systemd); --private-network: its own loopback, so its Postfix
# binds port 25 there.
systemd-nspawn -q -b -D "$root" -M "smime-test-$$" --register=no --keep-unit --private-network \
  --console=read-only </dev/null >"$work/boot.log" 2>&1 &
NSPAWN_PID=$!
# The container's PID 1: nspawn's child, in a pid namespace of its own.
for _ in $(seq 300); do
  leader=$(pgrep -P "$NSPAWN_PID" -x systemd | head -1)
  [ -n "$leader" ] && [ "$(readlink "/proc/$leader/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] && break
  leader=
  kill -0 "$NSPAWN_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$leader" ]; then
  cat "$work/boot.log"
  skip_or_fail "systemd-nspawn -b did not start systemd in the container (log above)"
fi
# in_ct CMD...: runs CMD in the container (all its namespaces, its root) as root.
in_ct() {
  nsenter -t "$leader" -m -u -i -n -p -r -w -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 SYSTEMD_PAGER= "$@"
}
# PID 1 of the container really is systemd.
[ "$(in_ct cat /proc/1/comm 2>/dev/null)" = systemd ] && ok "container PID 1 is systemd" ||
  bad "container PID 1: $(in_ct cat /proc/1/comm 2>&1)"
# Until the boot is over (before systemd listens, systemctl cannot connect).
for _ in $(seq 600); do
  state=$(in_ct systemctl is-system-running 2>&1)
  case "$state" in running | degraded | maintenance | stopping) break ;; *) sleep 0.2 ;; esac
done
case "$state" in
  running) ok "container booted: $state" ;;
  degraded)
    ok "container booted: degraded (failed: $(in_ct systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' '))"
    ;;
  *)
    cat "$work/boot.log"
    skip_or_fail "container did not boot: is-system-running says '$state' (boot log above)"
    ;;
esac
in_ct systemctl is-active --quiet postfix.service && ok "Debian's Postfix started by systemd" ||
  bad "postfix.service: $(in_ct systemctl status postfix.service 2>&1 | head -20)"
in_ct useradd -m carol

# --- install ----------------------------------------------------------------
in_ct dpkg -i /root/t/smime-milter.deb >"$work/dpkg-i.log" 2>&1 && ok "dpkg -i" ||
  { cat "$work/dpkg-i.log"; bad "dpkg -i"; exit 1; }
grep -q 'smime-milter: not started: edit /etc/smime-milter/smime-milter.conf' "$work/dpkg-i.log" &&
  ok "postinst leaves the daemon stopped and says why" || bad "postinst said: $(cat "$work/dpkg-i.log")"
in_ct systemctl is-enabled --quiet smime-milter.service && ok "smime-milter.service enabled" ||
  bad "smime-milter.service: $(in_ct systemctl is-enabled smime-milter.service 2>&1)"
in_ct systemctl is-active --quiet smime-milter.service &&
  bad "smime-milter.service active with the fresh config"
in_ct systemctl is-active --quiet smime-milter-crl-fetch.timer && ok "smime-milter-crl-fetch.timer active" ||
  bad "smime-milter-crl-fetch.timer: $(in_ct systemctl is-active smime-milter-crl-fetch.timer 2>&1)"
timers=$(in_ct systemctl list-timers --all --no-legend 2>&1)
printf '%s\n' "$timers" | grep -q 'smime-milter-crl-fetch.timer.*smime-milter-crl-fetch.service' &&
  ok "systemctl list-timers: $(printf '%s\n' "$timers" | grep smime-milter | sed 's/  */ /g')" ||
  bad "list-timers: $timers"

# --- configure as an admin would --------------------------------------------
conf=/etc/smime-milter/smime-milter.conf
as_user() { in_ct runuser -u smime-milter -- "$@"; }
if as_user smime-milter -n >"$work/n0.log" 2>&1; then
  bad "smime-milter -n accepted the fresh config without trust anchors"
else
  ok "smime-milter -n refuses the fresh config: $(head -1 "$work/n0.log")"
fi
in_ct install -m 0644 /root/t/trust.pem /etc/smime-milter/trust-anchors.pem
# Inbound from 127.0.0.1; the test PKI has no OCSP or CRL; metrics for
# node_exporter as README.Debian sets them up.
in_ct sed -i -e 's/^authserv_id = .*/authserv_id = mx.test/' \
  -e 's|^internal_hosts = .*|internal_hosts = 192.0.2.0/24|' "$conf"
for l in "revocation = off" "metrics_file = /var/lib/prometheus/node-exporter/smime-milter.prom" \
    "metrics_interval = 5"; do
  n=${l%% =*}
  if grep -q "^$n =" "$root$conf"; then in_ct sed -i "s|^$n = .*|$l|" "$conf"; else echo "$l" >>"$root$conf"; fi
done
in_ct mkdir -p /var/lib/prometheus/node-exporter
in_ct chgrp smime-milter /var/lib/prometheus/node-exporter
in_ct chmod g+w /var/lib/prometheus/node-exporter
# What `systemctl edit smime-milter` writes.
in_ct mkdir -p /etc/systemd/system/smime-milter.service.d
printf '[Service]\nReadWritePaths=/var/lib/prometheus/node-exporter\n' \
  >"$root/etc/systemd/system/smime-milter.service.d/override.conf"
in_ct systemctl daemon-reload
if as_user smime-milter -n >"$work/n1.log" 2>&1; then
  ok "smime-milter -n as the service user: $(head -1 "$work/n1.log")"
else
  bad "smime-milter -n: $(cat "$work/n1.log")"
fi

# --- start -------------------------------------------------------------------
in_ct systemctl start smime-milter >"$work/start.log" 2>&1 && ok "systemctl start smime-milter" ||
  bad "systemctl start smime-milter: $(cat "$work/start.log"; in_ct journalctl -u smime-milter --no-pager | tail -20)"
in_ct systemctl is-active --quiet smime-milter && ok "systemctl is-active smime-milter" ||
  bad "is-active: $(in_ct systemctl status smime-milter 2>&1 | head -20)"
sock=/var/spool/postfix/smime-milter/smime-milter.sock
for _ in $(seq 300); do [ -S "$root$sock" ] && break; sleep 0.1; done
[ "$(in_ct stat -c '%U:%G %a' "$sock" 2>&1)" = "smime-milter:postfix 660" ] &&
  ok "socket smime-milter:postfix 660 in Postfix's spool" || bad "socket: $(in_ct stat -c '%U:%G %a' "$sock" 2>&1)"
mainpid=$(in_ct systemctl show -p MainPID --value smime-milter)
[ "$(in_ct stat -c %U "/proc/$mainpid" 2>&1)" = smime-milter ] &&
  ok "daemon (MainPID $mainpid) runs as smime-milter" || bad "MainPID $mainpid user: $(in_ct stat -c %U "/proc/$mainpid" 2>&1)"
in_ct grep -q '^CapEff:[[:space:]]*0*$' "/proc/$mainpid/status" && ok "daemon has no capabilities" ||
  bad "daemon capabilities: $(in_ct grep Cap "/proc/$mainpid/status")"

# What the timer starts, in its sandbox, as the service user.
if in_ct systemctl start smime-milter-crl-fetch.service >"$work/crl.log" 2>&1; then
  ok "systemctl start smime-milter-crl-fetch.service: $(in_ct systemctl show -p Result --value \
    smime-milter-crl-fetch.service)"
else
  bad "smime-milter-crl-fetch.service: $(cat "$work/crl.log"; in_ct journalctl -u smime-milter-crl-fetch \
    --no-pager -o cat | tail -5)"
fi

# --- Debian's Postfix with the documented snippet ----------------------------
grep -q '^smtp *inet *n *- *y *- *- *smtpd' "$root/etc/postfix/master.cf" &&
  ok "master.cf: Debian's stock smtpd, chrooted" || bad "master.cf: $(grep '^smtp ' "$root/etc/postfix/master.cf")"
cat "$root/usr/share/doc/smime-milter/main.cf.snippet" >>"$root/etc/postfix/main.cf"
[ "$(in_ct postconf -h smtpd_milters)" = unix:smime-milter/smime-milter.sock ] &&
  ok "main.cf: the installed snippet" || bad "smtpd_milters: $(in_ct postconf -h smtpd_milters)"
# master logs its reload once it has read main.cf again: mail sent before
# that would meet smtpd without the milter.
reloads() { in_ct journalctl --no-pager -o cat 2>/dev/null | grep -c 'reload -- version'; }
before=$(reloads)
in_ct systemctl reload postfix >"$work/pfreload.log" 2>&1 || bad "systemctl reload postfix: $(cat "$work/pfreload.log")"
for _ in $(seq 300); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.1; done
[ "$(reloads)" -gt "$before" ] && ok "systemctl reload postfix: master reloaded" ||
  bad "no Postfix reload in the journal: $(in_ct journalctl --no-pager -o cat | grep postfix | tail -5)"
in_ct swaks --server 127.0.0.1 --from alice@a.example --to carol@localhost --data @/root/t/signed.eml \
  --silent 2 >"$work/swaks.log" 2>&1 || bad "swaks signed: $(cat "$work/swaks.log")"
in_ct swaks --server 127.0.0.1 --from alice@a.example --to carol@localhost --data @/root/t/tampered.eml \
  --silent 2 >"$work/swaks.log" 2>&1 || bad "swaks tampered: $(cat "$work/swaks.log")"
mbox=$root/var/mail/carol
for _ in $(seq 600); do
  [ "$(grep -c '^Message-ID: <\(signed\|tampered\)@a.example>' "$mbox" 2>/dev/null)" = 2 ] && break
  sleep 0.1
done
for m in signed:pass tampered:fail; do
  ar=$(awk -v id="<${m%%:*}@a.example>" '
    /^From / { hdr = 1; buf = ""; next }
    hdr && /^\r?$/ { hdr = 0; if (index(buf, "Message-ID: " id)) print buf }
    hdr { buf = buf $0 "\n" }' "$mbox" 2>/dev/null | grep -A1 '^Authentication-Results: mx.test;')
  if printf '%s' "$ar" | grep -q "smime=${m#*:}"; then
    ok "${m%%:*} message through Debian's chrooted smtpd: smime=${m#*:}"
  else
    bad "${m%%:*} message: '$ar'"; in_ct journalctl -u postfix@- --no-pager 2>&1 | tail -20
  fi
done
# shellcheck disable=SC2016  # expanded in the container
pf_roots=$(in_ct sh -c 'for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = smtpd ] && readlink "$d/root"; done' | sort -u)
[ "$pf_roots" = /var/spool/postfix ] && ok "smtpd's root is /var/spool/postfix" ||
  bad "smtpd roots: '$pf_roots'"

# --- smimectl status and the textfile ----------------------------------------
prom=/var/lib/prometheus/node-exporter/smime-milter.prom
want='smime_milter_messages_total{direction="inbound",result="pass",disposition="accept"} 1'
for _ in $(seq 600); do grep -qF "$want" "$root$prom" 2>/dev/null && break; sleep 0.1; done
grep -qF "$want" "$root$prom" && ok "metrics textfile: $want" ||
  bad "metrics textfile: $(cat "$root$prom" 2>&1 | grep messages_total)"
[ "$(stat -c '%a' "$root$prom" 2>&1)" = 644 ] && ok "metrics textfile mode 644" ||
  bad "metrics textfile mode $(stat -c '%a' "$root$prom" 2>&1)"
in_ct smimectl status >"$work/status.log" 2>&1 && st=0 || st=$?
if [ "$st" = 0 ] && grep -qx "daemon: running, pid $mainpid (.*)" "$work/status.log" &&
    grep -qF "  $want" "$work/status.log" &&
    grep -qF 'smime_milter_messages_total{direction="inbound",result="fail",disposition="accept"} 1' \
      "$work/status.log"; then
  ok "smimectl status: running, pid $mainpid = MainPID, counters pass 1 / fail 1"
else
  bad "smimectl status (exit $st): $(cat "$work/status.log")"
fi

# --- reload --------------------------------------------------------------------
journal() { in_ct journalctl -u smime-milter --no-pager -o cat 2>&1; }
# in_journal REGEX: the daemon's line reached the journal (journald takes
# it asynchronously, after the daemon has answered smimectl reload).
in_journal() {
  for _ in $(seq 300); do journal | grep -q "$1" && return 0; sleep 0.1; done
  return 1
}
if in_ct systemctl reload smime-milter >"$work/reload.log" 2>&1; then
  ok "systemctl reload smime-milter"
else
  bad "systemctl reload: $(cat "$work/reload.log")"
fi
in_journal 'reload: .*result=ok' && ok "journal: $(journal | grep 'reload: .*result=ok' | tail -1)" ||
  bad "no reload line in the journal: $(journal | tail -10)"
cp "$root$conf" "$work/conf.good"
echo "trust_anchors = /etc/smime-milter/no-such-anchors.pem" >>"$root$conf"
if in_ct systemctl reload smime-milter >"$work/reload.log" 2>&1; then
  bad "systemctl reload of a refused configuration succeeded"
else
  ok "systemctl reload of a refused configuration fails: $(head -1 "$work/reload.log")"
fi
in_journal 'reload: .*result=failed.*no-such-anchors' &&
  ok "journal says why: $(journal | grep 'reload: .*result=failed' | tail -1 | cut -c1-200)" ||
  bad "no reason in the journal: $(journal | tail -10)"
[ "$(in_ct systemctl show -p MainPID --value smime-milter)" = "$mainpid" ] &&
  in_ct systemctl is-active --quiet smime-milter && ok "daemon keeps running (pid $mainpid)" ||
  bad "daemon after the refused reload: $(in_ct systemctl status smime-milter 2>&1 | head)"
cp "$work/conf.good" "$root$conf"
in_ct systemctl reload smime-milter >"$work/reload.log" 2>&1 && ok "systemctl reload after the fix" ||
  bad "reload after the fix: $(cat "$work/reload.log")"

# --- stop and purge --------------------------------------------------------------
in_ct systemctl stop smime-milter && ! in_ct systemctl is-active --quiet smime-milter &&
  ok "systemctl stop smime-milter" || bad "systemctl stop: $(in_ct systemctl status smime-milter 2>&1 | head)"
in_ct dpkg -L smime-milter | sort >"$work/files"
in_ct dpkg --purge smime-milter >"$work/purge.log" 2>&1 && ok "dpkg --purge" ||
  { bad "dpkg --purge"; cat "$work/purge.log"; }
in_ct systemctl is-active --quiet smime-milter-crl-fetch.timer && bad "CRL timer still active after purge"
units=$(in_ct systemctl list-unit-files --no-legend 'smime-milter*' 2>&1)
[ -z "$units" ] && ok "systemd knows no smime-milter unit file" || bad "unit files after purge: $units"
left=$(purge_leftovers "$root" "$work/files" in_ct)
[ -z "$left" ] && ok "purge left nothing of the package" || bad "left after purge:$left"
[ "$(ls -A "$root/etc/smime-milter" 2>&1)" = trust-anchors.pem ] &&
  ok "purge kept only the file the admin added: /etc/smime-milter/trust-anchors.pem" ||
  bad "/etc/smime-milter after purge: $(ls -AR "$root/etc/smime-milter" 2>&1)"
in_ct getent passwd smime-milter >/dev/null && ok "system user kept (README.Debian)" || bad "system user removed"

echo "run-deb-systemd: $pass passed, $failed failed"
[ "$failed" = 0 ]
