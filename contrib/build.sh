#!/bin/sh
# contrib/build.sh [CONFIGURE ARGS]: configure (if needed) and build in the
# source tree. Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
  autoreconf -fi
fi
# An existing build keeps its configure options (make reruns config.status
# with them when configure changes); arguments reconfigure.
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
  ./configure -q "$@"
fi
make -j"$(nproc)"
