#!/usr/bin/env bash
# Load figures for ferry's agents: a media sync between two agent JVMs (-Xmx256m each), first
# with no other callers, then with CLIENTS concurrent GetStatus/GetManifest callers, in the same
# run; prints both sync times, their ratio, call latencies, and the agents' peak resident sets.
# It runs MediaLoadTest (controller/src/test/.../reliability), which also asserts the copy is
# byte-exact, every call succeeds and the target's RSS stays under its bound.
#
# Usage: bench/load.sh            (FILES=3000 CLIENTS=50)
#        FILES=10000 bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${FILES:-3000}
CLIENTS=${CLIENTS:-50}
OUT=controller/target/surefire-reports/dev.ferry.controller.reliability.MediaLoadTest-output.txt
declare -A SYNC
for clients in 0 "$CLIENTS"; do
  mvn -q -B -pl agent,controller -am test -Dtest=MediaLoadTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dferry.load.files="$FILES" -Dferry.load.clients="$clients" >/dev/null
  echo "== $clients concurrent callers"
  grep '^load:' "$OUT"
  SYNC[$clients]=$(sed -n 's/^load: sync of .* took \([0-9]*\) ms.*/\1/p' "$OUT")
done
awk -v idle="${SYNC[0]}" -v busy="${SYNC[$CLIENTS]}" -v c="$CLIENTS" \
  'BEGIN { printf "sync time with %d callers / without: %.2f (%d ms / %d ms)\n", c, busy / idle, busy, idle }'
echo "measured $(date -u), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
