#!/usr/bin/env bash
# run-corpus-valgrind.sh: the corpus run again with every smimectl under
# valgrind (memory errors and definite leaks fail). Skips where valgrind or
# the corpus is absent; CI installs valgrind.
# shellcheck source=../skip.sh
. "$(dirname "$0")/../skip.sh"
command -v valgrind >/dev/null || skip_or_fail "valgrind not installed"
SMIME_CORPUS_VALGRIND=1 exec "$(dirname "$0")/run-corpus.sh" "$@"
