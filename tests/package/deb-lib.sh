# shellcheck shell=bash
# tests/package/deb-lib.sh: what the package tests share (sourced after
# tests/lib.sh): the one build of the .deb, and the check of what a purge
# leaves.
#
# build_deb OUTDIR: puts smime-milter_VERSION-1_ARCH.deb from
#   contrib/build-deb.sh into OUTDIR; on failure prints the build log and
#   returns 1. In a git checkout the package is built once per source
#   content and kept in $build/tests/.deb-build/KEY/ (KEY: a hash of every
#   tracked and new file, of the compiler and of dpkg-buildflags), under a
#   lock: run-deb.sh and run-deb-systemd.sh, which `make -j2 check` may run
#   side by side, share one build instead of compiling twice. A changed
#   source file makes a new KEY (the older builds are removed). Elsewhere (a
#   tarball's tree) it builds into OUTDIR every time.
build_deb() {
  local out=$1 key cache
  mkdir -p "$out"
  if ! git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    "$top/contrib/build-deb.sh" "$out" >"$out/build.log" 2>&1 || { cat "$out/build.log"; return 1; }
    rm -f "$out/build.log"
    return 0
  fi
  key=$(
    cd "$top" && {
      git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh | xargs -0 sha256sum
      c++ --version 2>&1
      dpkg-buildflags 2>&1
    } | sha256sum | cut -c1-16
  )
  cache=$build/tests/.deb-build
  mkdir -p "$cache"
  # shellcheck disable=SC2016  # expanded by the sh below
  flock "$cache/.lock" sh -c '
    [ -n "$(ls "$1/$2"/*.deb 2>/dev/null)" ] && exit 0
    for d in "$1"/*/; do [ -d "$d" ] && rm -rf "$d"; done
    mkdir -p "$1/$2.tmp"
    "$3/contrib/build-deb.sh" "$1/$2.tmp" >"$1/build.log" 2>&1 || { cat "$1/build.log"; rm -rf "$1/$2.tmp"; exit 1; }
    mv "$1/$2.tmp" "$1/$2"' sh "$cache" "$key" "$top" || return 1
  cp "$cache/$key"/*.deb "$out/"
}

# purge_leftovers ROOT FILES [RUNNER...]: prints (space-separated, nothing
# when clean) what of the package is still there after `dpkg --purge`:
# every path of FILES (`dpkg -L` taken before the purge), looked up below
# ROOT ("" for this system, or a container's root folder seen from the
# host), except the folders other packages share and /etc/smime-milter (the
# admin's files: each test checks it); and what the package makes at run
# time (state_dir, the socket folder, /run, the systemd enablement links),
# looked up by RUNNER (e.g. a command that runs its arguments in the
# container, whose /run the host does not see; none: here). A symlink
# counts even when dangling and is never followed.
purge_leftovers() {
  local root=$1 files=$2 f left=
  shift 2
  while read -r f; do
    [ -e "$root$f" ] || [ -L "$root$f" ] || continue
    case "$f" in  # shared folders other packages own too
      /etc/smime-milter) continue ;;
      /. | /etc | /lib | /lib/systemd | /lib/systemd/system | /usr | /usr/bin | /usr/sbin | /usr/share | \
        /usr/share/doc | /usr/share/man | /usr/share/man/man5 | /usr/share/man/man8 | /var | /var/spool | \
        /var/spool/postfix) continue ;;
    esac
    left="$left $f"
  done <"$files"
  for f in /var/lib/smime-milter /var/spool/postfix/smime-milter /run/smime-milter \
      /etc/systemd/system/multi-user.target.wants/smime-milter.service \
      /etc/systemd/system/timers.target.wants/smime-milter-crl-fetch.timer \
      /var/lib/systemd/deb-systemd-helper-enabled/smime-milter.service.dsh-also; do
    # shellcheck disable=SC2016  # expanded by the sh below
    if "$@" sh -c '[ -e "$1" ] || [ -L "$1" ]' sh "$f"; then left="$left $f"; fi
  done
  printf '%s' "$left"
}
