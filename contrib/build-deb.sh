#!/bin/sh
# contrib/build-deb.sh OUTDIR: build the Debian package
# OUTDIR/smime-milter_VERSION_ARCH.deb from this source tree, offline.
# Build dependencies: contrib/install-deps.sh (no flag). The tree is copied
# to a scratch folder, configured for Debian's paths (--prefix=/usr
# --sysconfdir=/etc --localstatedir=/var), built with Debian's hardening
# flags (dpkg-buildflags), installed stripped into a staging tree with
# `make install-strip DESTDIR=`, and packed by dpkg-deb with the control
# files of contrib/debian (Depends from dpkg-shlibdeps). The source tree
# itself is left alone (an in-tree build there keeps working).
set -eu
[ $# -eq 1 ] || { echo "usage: contrib/build-deb.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
for tool in dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-architecture autoreconf make; do
  command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool missing (contrib/install-deps.sh)" >&2; exit 1; }
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/smime-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# The sources only: tracked and new files (git), never an in-tree build's outputs.
mkdir "$scratch/src"
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$src" && tar --null -T - -cf -) | (cd "$scratch/src" && tar -xf -)
else
  (cd "$src" && tar --exclude=./.git -cf - .) | (cd "$scratch/src" && tar -xf -)
  (cd "$scratch/src" && { [ ! -f Makefile ] || make -s distclean >/dev/null 2>&1 || true; })
fi
cd "$scratch/src"
version=$(sed -n 's/^AC_INIT(\[smime-milter\], \[\([^]]*\)\].*/\1/p' configure.ac)
[ -n "$version" ] || { echo "build-deb.sh: no version in configure.ac" >&2; exit 1; }
debversion="$version-1"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
echo "build-deb.sh: building smime-milter $debversion ($arch)"
autoreconf -fi >"$scratch/autoreconf.log" 2>&1 || { cat "$scratch/autoreconf.log" >&2; exit 1; }
DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_BUILD_MAINT_OPTIONS
eval "$(dpkg-buildflags --export=sh)"
./configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
  --with-systemdsystemunitdir=/lib/systemd/system
make -s -j"${JOBS:-2}" >/dev/null
stage="$scratch/stage"
make -s install-strip DESTDIR="$stage" >/dev/null
# Documentation: README.Debian, the README and the docs, changelog-free.
doc="$stage/usr/share/doc/smime-milter"
mkdir -p "$doc"
cp contrib/debian/README.Debian README.md "$doc/"
cp docs/*.md "$doc/"
cp contrib/debian/copyright "$doc/copyright"
gzip -9n "$stage"/usr/share/man/man*/*
# The socket folder inside Postfix's chroot; postinst gives it its owner.
mkdir -p "$stage/var/spool/postfix/smime-milter"
mkdir -p "$stage/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "contrib/debian/$f" "$stage/DEBIAN/$f"; done
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
# Depends of the two programs (dpkg-shlibdeps wants a debian/control).
mkdir -p debian
printf 'Source: smime-milter\n\nPackage: smime-milter\nArchitecture: any\n' >debian/control
shlibs=$(dpkg-shlibdeps -O "$stage/usr/sbin/smime-milter" "$stage/usr/bin/smimectl" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$debversion|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" -e "s|@SHLIBS@|$shlibs|" \
  contrib/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
  xargs md5sum) >"$stage/DEBIAN/md5sums"
deb="$out/smime-milter_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "build-deb.sh: wrote $deb"
