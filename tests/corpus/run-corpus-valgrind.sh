#!/usr/bin/env bash
# run-corpus-valgrind.sh: the corpus run again with every smimectl under
# valgrind (memory errors and definite leaks fail). Skips where valgrind or
# the corpus is absent; CI installs valgrind.
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
SMIME_CORPUS_VALGRIND=1 exec "$(dirname "$0")/run-corpus.sh" "$@"
