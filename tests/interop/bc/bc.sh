# shellcheck shell=bash
# bc.sh: Bouncy Castle as an interop partner (sourced by
# tests/interop/run-bc-interop.sh and verify-bc.sh; not executable).
#
# bc_setup CLASSDIR
#   Finds java, javac and Debian's jars (libbcprov-java, libbcpkix-java,
#   libbcmail-java 1.72 with libbcutil-java, libmail-java and
#   libactivation-java they pull in; /usr/share/java, or $SMIME_BC_JARS) and
#   compiles bc/SmimeTool.java into CLASSDIR unless the classes there were
#   built from the same source (its SHA-256 in CLASSDIR/source.sha256; under
#   a lock: tests run in parallel). Sets bc_cp (the
#   jars) and bc_classes. Returns 1 with the missing pieces in $bc_missing
#   (the caller decides: skip_or_fail in a test, exit 77 in verify-bc.sh).
# bc_tool ARGS...
#   Runs SmimeTool ARGS in one JVM (see the header of bc/SmimeTool.java for
#   the commands). A JVM start costs about a second: put many files in one
#   call, or many commands in one `bc_tool batch FILE`.
bc_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/SmimeTool.java

bc_setup() {
  local dir=$1 jars=${SMIME_BC_JARS:-/usr/share/java} j
  bc_missing="" bc_cp=""
  command -v java >/dev/null || bc_missing+=" java"
  command -v javac >/dev/null || bc_missing+=" javac"
  # bcutil.jar is a separate jar from 1.69 on; older layouts have none.
  for j in bcprov bcutil bcpkix bcmail javax.mail javax.activation; do
    if [ -f "$jars/$j.jar" ]; then
      bc_cp+="${bc_cp:+:}$jars/$j.jar"
    elif [ "$j" != bcutil ]; then
      bc_missing+=" $jars/$j.jar"
    fi
  done
  [ -z "$bc_missing" ] || return 1
  mkdir -p "$dir" || { bc_missing=" (cannot create $dir)"; return 1; }
  if ! (
    flock 9
    sum=$(sha256sum "$bc_src" | cut -d' ' -f1)
    [ -f "$dir/SmimeTool.class" ] && [ "$(cat "$dir/source.sha256" 2>/dev/null)" = "$sum" ] && exit 0
    rm -f "$dir"/SmimeTool*.class "$dir/source.sha256"
    javac -nowarn -encoding UTF-8 -d "$dir" -cp "$bc_cp" "$bc_src" >"$dir/javac.out" 2>&1 &&
      echo "$sum" >"$dir/source.sha256"
  ) 9>"$dir.lock"; then
    bc_missing=" (javac failed: $(head -c 400 "$dir/javac.out"))"
    return 1
  fi
  bc_classes=$dir
}

# C1 only and the serial collector: these runs are short, start-up dominates.
bc_tool() {
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$bc_classes:$bc_cp" SmimeTool "$@"
}
