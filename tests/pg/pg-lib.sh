# shellcheck shell=bash
# tests/pg/pg-lib.sh: a private PostgreSQL server for a test (sourced after
# tests/lib.sh).
#
# start_pg: initdb + pg_ctl start a cluster in $work/pg, listening only on a
#   unix socket in $work/pg/sock (no TCP port), trust authentication for
#   the role smime, database "certs". Sets PG_CONNINFO (a libpq connection
#   string for it) and PG_BIN. The server refuses to run as root: as root it
#   runs as nobody (setpriv), so $work is opened to others (chmod 755) and
#   the cluster folder is nobody's. Missing packages: skip_or_fail (strict
#   mode fails; contrib/install-deps.sh installs postgresql).
# stop_pg: stops it at once (also run on exit); restart_pg starts it again.
# pg_sql SQL: runs SQL in "certs" with psql.

# The server binaries: pg_config knows where they are; Debian keeps them in
# /usr/lib/postgresql/VERSION/bin, outside PATH.
find_pg_bin() {
  local d
  for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@")
  else
    (cd / && "$@")
  fi
}

start_pg() {
  PG_BIN=$(find_pg_bin) || skip_or_fail "PostgreSQL server (initdb, pg_ctl) not installed"
  command -v psql >/dev/null || skip_or_fail "psql not installed"
  if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || skip_or_fail "setpriv (util-linux) not installed"
    chmod 755 "$work"
  fi
  PG_DIR=$work/pg
  mkdir -p "$PG_DIR/sock"
  [ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U smime --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log"
    echo "FAIL: initdb"
    exit 1
  }
  restart_pg
  trap 'stop_pg; rm -rf "$work"' EXIT
  PG_CONNINFO="host=$PG_DIR/sock dbname=certs user=smime"
  psql -X -q -h "$PG_DIR/sock" -U smime -d postgres -c "CREATE DATABASE certs" >/dev/null ||
    { echo "FAIL: create database"; exit 1; }
}

restart_pg() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-k $PG_DIR/sock -c listen_addresses= -c fsync=off" start >/dev/null || {
    cat "$PG_DIR/server.log"
    echo "FAIL: pg_ctl start"
    exit 1
  }
  PG_STARTED=1
}

stop_pg() {
  [ "${PG_STARTED:-0}" = 1 ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
  PG_STARTED=0
}

pg_sql() {
  psql -X -q -t -A -h "$PG_DIR/sock" -U smime -d certs -c "$1"
}
