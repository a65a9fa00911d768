#!/bin/sh
# contrib/install-deps.sh [--runtime]: install Debian 12 packages (run as
# root; safe to run again).
#   (no flag)   everything building, packaging (contrib/build-deb.sh) and
#               testing smime-milter needs: the build tools and -dev
#               packages, and the test-only tools (Postfix and slapd as
#               private instances, valgrind, swaks, SoftHSM...).
#   --runtime   only what the installed daemon and smimectl need: the
#               shared libraries and adduser, for a mail server that runs a
#               binary built elsewhere (the .deb pulls these in itself).
# The system's MTA is never replaced: Postfix is a test tool here and is
# left out when another MTA (Sendmail, Exim...) is installed, and it is
# never configured or started.
set -eu
RUNTIME="
  libgmime-3.0-0 libssl3 libmilter1.0.1 libcurl4 libsqlite3-0 libpq5 libldap-2.5-0 libidn2-0 adduser
  libunbound8 dns-root-data
"
BUILD="
  build-essential autoconf automake libtool pkg-config make dpkg-dev
  libgmime-3.0-dev libssl-dev libmilter-dev libcmocka-dev libcurl4-openssl-dev libsqlite3-dev libidn2-dev libpq-dev
  libldap-dev libunbound-dev clang-format clang libclang-rt-14-dev
"
TEST="
  openssl gpgsm libnss3-tools valgrind util-linux diffutils gawk binutils systemd debootstrap systemd-container
  miltertest postfix swaks python3 time postgresql
  softhsm2 opensc libengine-pkcs11-openssl
  slapd ldap-utils
  nsd ldnsutils
  default-jdk-headless libbcprov-java libbcpkix-java libbcmail-java
"
case "${1:-}" in
  --runtime) PACKAGES=$RUNTIME ;;
  "") PACKAGES="$BUILD $TEST" ;;
  *) echo "usage: contrib/install-deps.sh [--runtime]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
fi
# Another MTA installed: installing Postfix would remove it. Leave Postfix
# out (the Postfix tests then report it missing).
other_mta=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ && $2 != "postfix" && $3 ~ /mail-transport-agent/ { print $2 }' | head -1)
missing=""
for p in $PACKAGES; do
  if [ "$p" = postfix ] && [ -n "$other_mta" ]; then
    echo "install-deps.sh: $other_mta is this machine's MTA: not installing postfix (test-only)" >&2
    continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps.sh: installing:$missing"
  # Postfix is only used by the tests, as private instances on loopback:
  # never configure or start the system instance.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Likewise slapd: the LDAP test runs its own on loopback with a private
  # config folder; no system directory is created.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  for svc in slapd nsd; do
    case " $missing " in
      # Just installed: make sure the system service is neither running nor
      # enabled (the LDAP and DANE tests run private instances on loopback).
      *" $svc "*)
        if [ -d /run/systemd/system ]; then
          systemctl disable --now "$svc" >/dev/null 2>&1 || true
        else
          invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
          update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi ;;
    esac
  done
fi
