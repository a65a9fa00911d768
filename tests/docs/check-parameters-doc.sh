#!/usr/bin/env bash
# check-parameters-doc.sh: docs/parameters.md must be exactly what the
# parameter table generates (`smimectl config doc`), so the docs never drift.
. "$(dirname "$0")/../lib.sh"
if diff -u "$top/docs/parameters.md" <("$SMIMECTL" config doc); then
  echo "1 passed, 0 failed"
else
  echo "docs/parameters.md is stale: run 'src/smimectl config doc > docs/parameters.md'"
  echo "0 passed, 1 failed"
  exit 1
fi
