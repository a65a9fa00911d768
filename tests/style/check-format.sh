#!/usr/bin/env bash
# check-format.sh: every C++ file under src/ is formatted per .clang-format.
# shellcheck source=../skip.sh
. "$(dirname "$0")/../skip.sh"
command -v clang-format >/dev/null || skip_or_fail "clang-format not installed"
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
bad=0
for f in src/*/*.h src/*/*.cc; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f (run clang-format -i $f)"; bad=$((bad + 1)); }
done
echo "$(( $(ls src/*/*.h src/*/*.cc | wc -l) - bad )) passed, $bad failed"
[ "$bad" -eq 0 ]
