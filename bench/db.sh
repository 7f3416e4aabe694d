#!/usr/bin/env bash
# Benchmark: `ferry db copy` against the real alternatives, on the same data in the same run.
#
#   1. ferry db copy --from src --to dst   two local agents, mutual TLS, two clusters; includes
#                                           preflight, verification (counts) and the swap
#   2. ferry db copy ... --jobs NCPU        the same, spooled on the target and restored in parallel
#   3. pg_dump -Fc -Z1 | pg_restore        the local pipe doing exactly ferry's work (ferry dumps
#                                           with -Z1): ferry / this = ferry's own overhead
#   4. pg_dump -Fc | pg_restore            the local pipe as people type it (default compression)
#   5. the guide's way                     pg_dump -Fc -f FILE, then createdb and
#                                           pg_restore -j NCPU FILE (no network copy counted)
#
# It generates a Mastodon-shaped database of several hundred MB whose post text compresses like
# real posts (words from a Zipf-like vocabulary, HTML paragraphs, mentions, links), starts two
# throwaway clusters (initdb/pg_ctl as postgres, Unix sockets only) and prints the ratios.
# Needs root and PostgreSQL; builds ferry's jars with `mvn package` if missing.
#
#   bench/db.sh            # SCALE=1: about 500 MB on disk
#   SCALE=0.2 bench/db.sh  # quicker
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
SCALE="${SCALE:-1}"
BENCH_NAME=db
source "$ROOT/bench/db-clusters.sh"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "bench/db.sh: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $("$BIN/pg_dump" --version | awk '{print $3}'), SCALE=$SCALE" >&2
start_cluster src
start_cluster dst
runuser -u postgres -- "$BIN/createdb" -h "$WORK/src/run" -O mastodon -T template0 mastodon_production

echo "generating the database..." >&2
t0=$(now)
POSTS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
FAVS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 2000000 * s }')
psql_as mastodon src mastodon_production -v posts="$POSTS" -v favs="$FAVS" >/dev/null < "$ROOT/bench/db-generate.sql"
t1=$(now)
SIZE=$(psql_as postgres src postgres -c "SELECT pg_database_size('mastodon_production');")
echo "generated $((SIZE / 1048576)) MiB in $(secs "$t0" "$t1") s" >&2
psql_as postgres src mastodon_production -c "CHECKPOINT;" >/dev/null

# --- ferry: build, two agents, pair, copy ---
if [[ -z "${FERRY_SKIP_BUILD:-}" ]]; then
  echo "building ferry (mvn package)..." >&2
  mvn -q -B -DskipTests package >&2
fi
export FERRY_HOME="$WORK/controller"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_agent() {  # NAME CLUSTER DBNAME
  local name="$1" cluster="$2" db="$3" port; port=$(free_port)
  mkdir -p "$WORK/agent-$name"
  cat > "$WORK/agent-$name/agent.conf" <<EOF
listen = 127.0.0.1:$port
state_dir = $WORK/agent-$name/state
layout = none
db.host = $WORK/$cluster/run
db.port = 5432
db.name = $db
db.role = mastodon
pg.bindir = $BIN
EOF
  local code
  code=$(bin/ferry-agent init --config "$WORK/agent-$name/agent.conf" | awk '/pairing code:/ {print $3}')
  bin/ferry-agent run --config "$WORK/agent-$name/agent.conf" >"$WORK/agent-$name/log" 2>&1 &
  PIDS+=($!)
  eval "AGENT_PID_$name=$!"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  bin/ferry pair "$name" "127.0.0.1:$port" --code "$code" >/dev/null
}
start_agent src src mastodon_production
start_agent dst dst mastodon
java_rss() { ps -o rss= --ppid "$1" -p "$1" | sort -n | tail -n1; }

summary() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"][sys.argv[2]])' "$@"; }
NCPU=$(nproc)

# The machine is shared: each method runs twice, alternating, and the faster run counts.
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
run_ferry() {  # JSON [options...]
  local json="$1"; shift
  local t0; t0=$(now)
  bin/ferry db copy --from src --to dst --json "$@" >"$json"
  secs "$t0" "$(now)"
}
echo "1/5 ferry db copy (twice)..." >&2
FERRY_A=$(run_ferry "$WORK/ferry.json")
RSS_SRC=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$AGENT_PID_src/status" 2>/dev/null || echo "?")
RSS_DST=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$AGENT_PID_dst/status" 2>/dev/null || echo "?")
BYTES=$(summary "$WORK/ferry.json" bytes_streamed)
ROWS=$(summary "$WORK/ferry.json" rows_verified)
VERIFY=$(awk -v m="$(summary "$WORK/ferry.json" verify_millis)" 'BEGIN { printf "%.1f", m / 1000 }')

echo "2/5 ferry db copy --jobs $NCPU (twice)..." >&2
FERRY_JOBS_A=$(run_ferry "$WORK/ferry-jobs.json" --jobs "$NCPU")

pipe() {  # DB [pg_dump options...]
  local db="$1"; shift
  runuser -u postgres -- "$BIN/createdb" -h "$WORK/dst/run" -O mastodon -T template0 "$db"
  runuser -u mastodon -- "$BIN/pg_dump" -Fc "$@" -h "$WORK/src/run" -U mastodon -d mastodon_production \
    | runuser -u postgres -- "$BIN/pg_restore" --no-owner --role=mastodon --exit-on-error -h "$WORK/dst/run" -U postgres -d "$db"
}
echo "3/5 pg_dump -Fc -Z1 | pg_restore (twice)..." >&2
t0=$(now); pipe pipe_z1 -Z1; t1=$(now)
PIPE_Z1_A=$(secs "$t0" "$t1")
echo "4/5 pg_dump -Fc | pg_restore (twice)..." >&2
t0=$(now); pipe pipe_copy; t1=$(now)
PIPE_A=$(secs "$t0" "$t1")
# Second round, in the other order.
t0=$(now); pipe pipe_copy2; t1=$(now)
PIPE=$(best "$PIPE_A" "$(secs "$t0" "$t1")")
t0=$(now); pipe pipe_z1b -Z1; t1=$(now)
PIPE_Z1=$(best "$PIPE_Z1_A" "$(secs "$t0" "$t1")")
FERRY_JOBS=$(best "$FERRY_JOBS_A" "$(run_ferry "$WORK/ferry-jobs2.json" --jobs "$NCPU")")
FERRY=$(best "$FERRY_A" "$(run_ferry "$WORK/ferry2.json")")
STREAM=$(awk -v m="$(summary "$WORK/ferry2.json" stream_millis)" 'BEGIN { printf "%.1f", m / 1000 }')
RESTORE=$(awk -v m="$(summary "$WORK/ferry2.json" restore_millis)" 'BEGIN { printf "%.1f", m / 1000 }')
TOTAL=$(awk -v m="$(summary "$WORK/ferry2.json" total_millis)" 'BEGIN { printf "%.1f", m / 1000 }')

echo "5/5 the guide: pg_dump -Fc -f, then pg_restore -j $NCPU..." >&2
mkdir -p "$WORK/guide" && chown mastodon "$WORK/guide"
t0=$(now)
runuser -u mastodon -- "$BIN/pg_dump" -Fc -h "$WORK/src/run" -U mastodon -d mastodon_production -f "$WORK/guide/backup.dump"
t1=$(now)
runuser -u postgres -- "$BIN/createdb" -h "$WORK/dst/run" -O mastodon -T template0 guide_copy
runuser -u postgres -- "$BIN/pg_restore" -j "$NCPU" --no-owner --role=mastodon -h "$WORK/dst/run" -U postgres -d guide_copy "$WORK/guide/backup.dump"
t2=$(now)
GUIDE=$(secs "$t0" "$t2")
GUIDE_DUMP=$(secs "$t0" "$t1")
GUIDE_RESTORE=$(secs "$t1" "$t2")
GUIDE_BYTES=$(stat -c %s "$WORK/guide/backup.dump")

# Every copy must hold the source's rows.
count_sql="SELECT (SELECT count(*) FROM statuses) + (SELECT count(*) FROM favourites) + (SELECT count(*) FROM accounts);"
expected=$(psql_as postgres src mastodon_production -c "$count_sql")
for db in mastodon pipe_z1 pipe_z1b pipe_copy pipe_copy2 guide_copy; do
  n=$(psql_as postgres dst "$db" -c "$count_sql")
  [[ "$n" == "$expected" ]] || { echo "bench/db.sh: $db has $n rows, not the source's $expected" >&2; exit 1; }
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "database:   $((SIZE / 1048576)) MiB on disk, $ROWS rows; archive $((BYTES / 1048576)) MiB at -Z1, $((GUIDE_BYTES / 1048576)) MiB at the default"
echo "ferry db copy:                   $FERRY s   (last run: agent-side $TOTAL s = stream $STREAM s + restore tail $RESTORE s + verify/swap; verify $VERIFY s)"
echo "                                 agents' peak RSS after the first copy: source $RSS_SRC MiB, target $RSS_DST MiB"
echo "ferry db copy --jobs $NCPU:          $FERRY_JOBS s"
echo "pg_dump -Fc -Z1 | pg_restore:    $PIPE_Z1 s"
echo "pg_dump -Fc | pg_restore:        $PIPE s"
echo "guide (file, pg_restore -j $NCPU):   $GUIDE s   (dump $GUIDE_DUMP s + restore $GUIDE_RESTORE s; no transfer counted)"
echo "ratio ferry / same pipe (-Z1):   $(ratio "$FERRY" "$PIPE_Z1")   (goal <= 1.10)"
echo "ratio ferry / default pipe:      $(ratio "$FERRY" "$PIPE")"
echo "ratio ferry / guide:             $(ratio "$FERRY" "$GUIDE")   (goal < 1)"
echo "ratio ferry --jobs / guide:      $(ratio "$FERRY_JOBS" "$GUIDE")"
