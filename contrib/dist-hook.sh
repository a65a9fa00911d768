#!/bin/sh
# contrib/dist-hook.sh SRCDIR DISTDIR: run by `make dist` (Makefile.am
# dist-hook) on the copied tree before it is packed.
#
# EXTRA_DIST names whole folders (tests, contrib, docs, policies, man), so a
# source tree that was built and tested in place would also ship what the
# build and the tests left there: the generated test PKI (tests/.pki, with
# the test CA's private keys), the unpacked Sendmail, objects, test
# programs, logs. This removes everything the source tree does not hold:
# in a git checkout, every file under those folders that git neither tracks
# nor would add (ignored files), and everywhere (also in a tree unpacked
# from a tarball) the known build and test leftovers. Then it refuses (exit 1, names the
# files) a tree that still holds a PEM private key, a *.key file, an object
# file or an executable binary, so a new leftover cannot slip in unnoticed.
set -eu
src=$(cd "$1" && pwd)
dist=$(cd "$2" && pwd)
dirs="tests contrib docs policies man"

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  keep=$(mktemp)
  trap 'rm -f "$keep"' EXIT
  # shellcheck disable=SC2086  # $dirs is a list of folder names
  (cd "$src" && git ls-files --cached --others --exclude-standard -- $dirs) | sort -u >"$keep"
  # shellcheck disable=SC2086
  (cd "$dist" && find $dirs -type f -o -type l) | sort | comm -23 - "$keep" |
    while IFS= read -r f; do rm -f "$dist/$f"; done
fi
# The known leftovers, also where git is absent or the file not ignored.
# shellcheck disable=SC2086
(cd "$dist" && find $dirs \( -name '.pki*' -o -name '.sendmail-root' -o -name '.work' -o -name '.deps' \
  -o -name '.deb-systemd' -o -name '.deb-build' -o -name '.dirstamp' -o -name '*.o' -o -name '*.a' \
  -o -name '*.trs' -o -name '*.log' \) -prune \
  -exec rm -rf {} +)
rm -f "$dist/tests/ldap/ldap_lookup" "$dist/tests/differential/gmime_text"
# Folders left empty by the removal.
# shellcheck disable=SC2086
(cd "$dist" && find $dirs -depth -type d -empty -delete)

cd "$dist"
bad=$( (find . -type f \( -name '*.key' -o -name '*.o' -o -name '*.a' -o -name '*.trs' \) -print
  grep -rlE '^-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----$' . || true
  find . -type f -perm -u+x -exec sh -c \
    'for f; do [ "$(head -c 4 "$f" | od -An -c | tr -d " ")" = "177ELF" ] && echo "$f"; done; true' sh {} +) |
  sort -u)
if [ -n "$bad" ]; then
  echo "dist-hook: refusing to ship private keys or build leftovers:" >&2
  echo "$bad" >&2
  exit 1
fi
