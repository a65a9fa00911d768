# shellcheck shell=bash
# servers.sh: start/stop the revocation test servers (sourced, not run).
#
# All servers are tests/revocation/revsrv.py instances bound to 127.0.0.1
# only; each logs one line per HTTP request to $SRV_DIR/NAME.log so a test can
# assert that a run made no network request (srv_count NAME before/after).
#
#   free_ports N            prints N distinct free loopback TCP ports; the
#                           first two are consecutive (OCSP_PORT and +1)
#   srv_start NAME MODE PORT ARGS...   start one server, wait until it listens
#   srv_start_all PKI OCSP_PORT CRL_PORT SLOW_PORT BAD_PORT
#                           crl (static PKI/www), ocsp (delegated responder
#                           "ocsp" of inter), unauth (OCSP_PORT+1, rogue-ocsp
#                           signer), slow (30 s), garbage
#   srv_count NAME          requests NAME has received so far
#   srv_stop_all            kill exactly the PIDs started here, and wait
# Needs: $SRV_DIR (a writable folder) set by the caller.
# Failure modes: srv_start returns 1 (and prints the server's stderr) if the
# server did not listen within 10 s; free_ports returns 1 if python3 fails.
here_srv=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 (package python3) unless $PYTHON names another.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || echo python3)}
SRV_PIDS=()

free_ports() {
  "$PYTHON" - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:  # first a consecutive pair, then the rest
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p < 65000 and free(p + 1):
        break
ports = [p, p + 1]
while len(ports) < n:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); q = s.getsockname()[1]; s.close()
    if q not in ports:
        ports.append(q)
print(" ".join(map(str, ports[:n])))
EOF
}

srv_start() {
  local name=$1 mode=$2 port=$3
  shift 3
  : >"$SRV_DIR/$name.log"
  rm -f "$SRV_DIR/$name.ready"
  "$PYTHON" "$here_srv/revsrv.py" "$mode" "$port" "$SRV_DIR/$name.log" "$SRV_DIR/$name.ready" "$@" \
    2>"$SRV_DIR/$name.err" &
  local pid=$!
  SRV_PIDS+=("$pid")
  for _ in $(seq 100); do
    [ -e "$SRV_DIR/$name.ready" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server $name ($mode on 127.0.0.1:$port) did not start:" >&2
  cat "$SRV_DIR/$name.err" >&2
  return 1
}

srv_start_all() {
  local p=$1 ocsp=$2 crl=$3 slow=$4 bad=$5
  srv_start crl static "$crl" "$p/www" &&
    srv_start ocsp ocsp "$ocsp" "$p/ca/inter/index.txt" "$p/inter.crt" "$p/ocsp.crt" "$p/ocsp.key" &&
    srv_start unauth ocsp "$((ocsp + 1))" "$p/ca/inter/index.txt" "$p/inter.crt" \
      "$p/rogue-ocsp.crt" "$p/rogue-ocsp.key" &&
    srv_start slow slow "$slow" 30 &&
    srv_start garbage garbage "$bad"
}

srv_count() {
  grep -vc '^ERROR' "$SRV_DIR/$1.log" 2>/dev/null || true
}

srv_stop_all() {
  local pid
  for pid in "${SRV_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SRV_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SRV_PIDS=()
}
