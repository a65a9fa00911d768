#!/bin/sh
# contrib/build.sh [CONFIGURE ARGS]: configure (if needed) and build in the
# source tree. Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
  autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ $# -gt 0 ]; then
  ./configure -q "$@"
fi
make -j"$(nproc)"
