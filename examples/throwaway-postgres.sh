# Sourced by examples/demo-vendors.sh and Benchmarks/inbox-throughput.sh: a throwaway PostgreSQL cluster in a work
# folder, on a free loopback port, never a system cluster.
#
#   pg_start WORK      starts it in WORK/pg and sets $pg_bin, $pg_port and $database (postgresql://… of database "vendor")
#   pg_stop WORK       stops it (safe to call when it never started)
#   psql_vendor ARGS…  psql as the cluster's superuser
#
# PostgreSQL refuses to run as root: then its commands run as the postgres user, from a folder it may enter, and WORK
# is opened for traversal (0711: no listing, no writing) so it can reach its cluster inside.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_started=""
if [ "$(id -u)" -eq 0 ]; then
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  as_pg() { (cd / && "$@"); }
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
psql_vendor() { as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U proffer "$@"; }

pg_start() {
  local work="$1"
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "no PostgreSQL server in /usr/lib/postgresql/*/bin: run make setup" >&2
    return 1
  fi
  [ "$(id -u)" -ne 0 ] || chmod 711 "$work"
  pg_port=$(free_port)
  mkdir -p "$work/pg/socket"
  [ "$(id -u)" -ne 0 ] || chown -R postgres: "$work/pg"
  as_pg "$pg_bin/initdb" -D "$work/pg/data" -A trust -U proffer --no-locale -E UTF8 >"$work/pg/initdb.log" 2>&1 \
    || { cat "$work/pg/initdb.log" >&2; echo "initdb failed" >&2; return 1; }
  as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w \
    -o "-p $pg_port -k $work/pg/socket -c listen_addresses=127.0.0.1 -c max_connections=100" start \
    >"$work/pg/pg_ctl.log" 2>&1 \
    || { cat "$work/pg/pg_ctl.log" "$work/pg/server.log" >&2 2>/dev/null; echo "PostgreSQL did not start" >&2; return 1; }
  pg_started=1
  psql_vendor -d postgres -c "CREATE DATABASE vendor"
  database="postgresql://proffer@127.0.0.1:$pg_port/vendor"
}

pg_stop() {
  [ -n "$pg_started" ] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$1/pg/data" -m fast -w stop >>"$1/pg/pg_ctl.log" 2>&1 || true
  pg_started=""
}
