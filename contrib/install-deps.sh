#!/bin/sh
# contrib/install-deps.sh: install every Debian package that building and
# testing smimectl needs (Debian 12, run as root). Safe to run again.
set -eu
PACKAGES="
  build-essential autoconf automake libtool pkg-config make
  libgmime-3.0-dev libssl-dev libmilter-dev libcmocka-dev libcurl4-openssl-dev libsqlite3-dev libidn2-dev
  openssl gpgsm libnss3-tools valgrind util-linux diffutils gawk clang-format
  miltertest postfix swaks python3 time
  clang libclang-rt-14-dev
  softhsm2 opensc libengine-pkcs11-openssl
  libldap-dev slapd ldap-utils
"
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
fi
missing=""
for p in $PACKAGES; do
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
  case " $missing " in
    *" slapd "*)  # just installed: make sure the system service is neither running nor enabled
      if [ -d /run/systemd/system ]; then
        systemctl disable --now slapd >/dev/null 2>&1 || true
      else
        invoke-rc.d slapd stop >/dev/null 2>&1 || true
        update-rc.d slapd disable >/dev/null 2>&1 || true
      fi ;;
  esac
fi
