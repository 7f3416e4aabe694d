# Sourced by bench/db.sh and bench/db-fixed.sh: two throwaway PostgreSQL clusters (initdb and
# pg_ctl as the postgres user, Unix sockets only) under a fresh $WORK, and what stops them.
# The caller sets ROOT; after sourcing it has BIN, WORK, PIDS, start_cluster, psql_as and now.
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
WORK="$(mktemp -d "/tmp/ferry-bench-${BENCH_NAME:-db}.XXXXXX")"
chmod 755 "$WORK"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for c in src dst; do
    [[ -f "$WORK/$c/data/postmaster.pid" ]] && runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/$c/data" -m immediate -w stop >/dev/null 2>&1 || true
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

id -u postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home postgres
id -u mastodon >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin mastodon

start_cluster() {  # NAME
  local dir="$WORK/$1"
  mkdir -p "$dir/run" && chown -R postgres:postgres "$dir"
  runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -U postgres --auth-local=peer --auth-host=reject -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir/run -p 5432 -c listen_addresses='' -c fsync=off -c max_wal_size=2GB -c maintenance_work_mem=256MB" start >/dev/null
  runuser -u postgres -- "$BIN/psql" -X -q -h "$dir/run" -d postgres -c "CREATE ROLE mastodon LOGIN;"
}
psql_as() {  # USER CLUSTER DB [psql args...]
  local user="$1" cluster="$2" db="$3"; shift 3
  runuser -u "$user" -- "$BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK/$cluster/run" -U "$user" -d "$db" "$@"
}
now() { date +%s.%N; }
