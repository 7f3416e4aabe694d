#!/usr/bin/env bash
# Benchmark of ferry db copy's fixed costs: a small database (about 50 MiB on disk), where the
# copy itself is quick and what ferry adds (the CLI's start, preflight on both agents, the
# staging database, verification, the swap) shows. In the same run it alternates, ROUNDS times
# each, `ferry db copy --from src --to dst` and the local `pg_dump -Fc -Z1 | pg_restore` pipe
# doing the same work, and prints every time, the best of each and ferry's agent-side phases.
# Same schema and data generator as bench/db.sh; needs root and PostgreSQL.
#
#   bench/db-fixed.sh                 # SCALE=0.08 (about 50 MiB), ROUNDS=3
#   ROUNDS=5 bench/db-fixed.sh
#   BASELINE_JARS=DIR bench/db-fixed.sh  # also times another build in the same rounds (DIR holds
#                                        # its ferry-agent.jar and ferry-controller.jar), with
#                                        # agents of its own on the same two clusters
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
SCALE="${SCALE:-0.08}"
ROUNDS="${ROUNDS:-3}"
BENCH_NAME=dbfixed
source "$ROOT/bench/db-clusters.sh"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "bench/db-fixed.sh: $(nproc) cores, PostgreSQL $("$BIN/pg_dump" --version | awk '{print $3}'), SCALE=$SCALE, ROUNDS=$ROUNDS, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start_cluster src
start_cluster dst
runuser -u postgres -- "$BIN/createdb" -h "$WORK/src/run" -O mastodon -T template0 mastodon_production
POSTS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
FAVS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 2000000 * s }')
psql_as mastodon src mastodon_production -v posts="$POSTS" -v favs="$FAVS" >/dev/null < "$ROOT/bench/db-generate.sql"
SIZE=$(psql_as postgres src postgres -c "SELECT pg_database_size('mastodon_production');")
psql_as postgres src mastodon_production -c "CHECKPOINT;" >/dev/null

if [[ -z "${FERRY_SKIP_BUILD:-}" ]]; then
  echo "building ferry (mvn package)..." >&2
  mvn -q -B -DskipTests package >&2
fi
export FERRY_HOME="$WORK/controller"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_agent() {  # NAME CLUSTER DBNAME
  local name="$1" cluster="$2" db="$3" port; port=$(free_port)
  local jars=""; [[ "$name" == base-* ]] && jars="$BASELINE_JARS"
  mkdir -p "$WORK/agent-$name"
  cat > "$WORK/agent-$name/agent.conf" <<CONF
listen = 127.0.0.1:$port
state_dir = $WORK/agent-$name/state
layout = none
db.host = $WORK/$cluster/run
db.port = 5432
db.name = $db
db.role = mastodon
pg.bindir = $BIN
CONF
  local code
  code=$(FERRY_JAR_DIR="$jars" bin/ferry-agent init --config "$WORK/agent-$name/agent.conf" | awk '/pairing code:/ {print $3}')
  FERRY_JAR_DIR="$jars" bin/ferry-agent run --config "$WORK/agent-$name/agent.conf" >"$WORK/agent-$name/log" 2>&1 &
  PIDS+=($!)
  eval "AGENT_PID_${name//-/_}=$!"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  FERRY_JAR_DIR="$jars" bin/ferry pair "$name" "127.0.0.1:$port" --code "$code" >/dev/null
}
start_agent src src mastodon_production
start_agent dst dst mastodon
if [[ -n "${BASELINE_JARS:-}" ]]; then
  start_agent base-src src mastodon_production
  start_agent base-dst dst mastodon
fi
summary() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"][sys.argv[2]])' "$@"; }
ms() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }

# Warm the agents' JITs and the CLI's class-data archive once, as a user's first copy would not
# be measured against a pipe whose binaries are in the page cache either.
bin/ferry db copy --from src --to dst --json >"$WORK/warm.json"
[[ -z "${BASELINE_JARS:-}" ]] || FERRY_JAR_DIR="$BASELINE_JARS" bin/ferry db copy --from base-src --to base-dst --json >"$WORK/warm.json"

drop_old() {  # keeps the target's disk use flat: ferry's renamed-aside databases
  for old in $(psql_as postgres dst postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'mastodon\_before\_ferry\_%';"); do
    runuser -u postgres -- "$BIN/dropdb" -h "$WORK/dst/run" "$old"
  done
}
cpu() {  # PID...: CPU seconds (user + system) the processes used so far
  local total=0 pid
  for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
copy() {  # LABEL JSON JARDIR FROM TO: times one ferry db copy, prints its phases and the agents' CPU
  local label="$1" json="$2" jars="$3" t0 t1 c0 c1 pids
  pids="$(eval echo "\$AGENT_PID_${4//-/_} \$AGENT_PID_${5//-/_}")"
  # shellcheck disable=SC2086
  c0=$(cpu $pids)
  t0=$(now); FERRY_JAR_DIR="$jars" bin/ferry db copy --from "$4" --to "$5" --json >"$json"; t1=$(now)
  # shellcheck disable=SC2086
  c1=$(cpu $pids)
  LAST=$(secs "$t0" "$t1")
  echo "$label: $LAST s (agent: total $(ms "$(summary "$json" total_millis)") = stream $(ms "$(summary "$json" stream_millis)")" \
    "+ restore tail $(ms "$(summary "$json" restore_millis)") + verify $(ms "$(summary "$json" verify_millis)") + swap $(ms "$(summary "$json" swap_millis)") + the rest;" \
    "both agents' CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') s)" >&2
  drop_old
}
drop_old
FERRY=() PIPE=() BASE=()
for i in $(seq 1 "$ROUNDS"); do
  copy "ferry    $i" "$WORK/ferry$i.json" "" src dst
  FERRY+=("$LAST")
  runuser -u postgres -- "$BIN/createdb" -h "$WORK/dst/run" -O mastodon -T template0 "pipe$i"
  t0=$(now)
  runuser -u mastodon -- "$BIN/pg_dump" -Fc -Z1 -h "$WORK/src/run" -U mastodon -d mastodon_production \
    | runuser -u postgres -- "$BIN/pg_restore" --no-owner --role=mastodon --exit-on-error -h "$WORK/dst/run" -U postgres -d "pipe$i"
  t1=$(now)
  PIPE+=("$(secs "$t0" "$t1")")
  echo "pipe     $i: ${PIPE[-1]} s" >&2
  runuser -u postgres -- "$BIN/dropdb" -h "$WORK/dst/run" "pipe$i"
  if [[ -n "${BASELINE_JARS:-}" ]]; then
    copy "baseline $i" "$WORK/base$i.json" "$BASELINE_JARS" base-src base-dst
    BASE+=("$LAST")
  fi
done
best() { printf '%s\n' "$@" | sort -n | head -n1; }
B_FERRY=$(best "${FERRY[@]}")
B_PIPE=$(best "${PIPE[@]}")
t0=$(now); bin/ferry --version >/dev/null; CLI=$(secs "$t0" "$(now)")
echo
echo "database:                     $((SIZE / 1048576)) MiB on disk"
echo "ferry db copy (best of $ROUNDS):   $B_FERRY s   (all: ${FERRY[*]})"
echo "pg_dump -Fc -Z1 | pg_restore: $B_PIPE s   (all: ${PIPE[*]})"
echo "ferry - pipe (fixed cost):    $(awk -v a="$B_FERRY" -v b="$B_PIPE" 'BEGIN { printf "%.2f", a - b }') s; ratio $(awk -v a="$B_FERRY" -v b="$B_PIPE" 'BEGIN { printf "%.2f", a / b }')"
echo "bin/ferry --version:          $CLI s (the CLI's start alone)"
if [[ -n "${BASELINE_JARS:-}" ]]; then
  B_BASE=$(best "${BASE[@]}")
  echo "baseline build (best of $ROUNDS):  $B_BASE s   (all: ${BASE[*]}); its fixed cost $(awk -v a="$B_BASE" -v b="$B_PIPE" 'BEGIN { printf "%.2f", a - b }') s, ratio $(awk -v a="$B_BASE" -v b="$B_PIPE" 'BEGIN { printf "%.2f", a / b }')"
fi
if [[ -n "${KEEP_LOGS:-}" ]]; then cp "$WORK/agent-src/log" "$KEEP_LOGS.src.log"; cp "$WORK/agent-dst/log" "$KEEP_LOGS.dst.log"; fi
