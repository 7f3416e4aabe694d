#!/usr/bin/env bash
# bench/migrate.sh: the downtime of `ferry migrate` against the guide's serial procedure, on the
# same generated Mastodon-shaped instance, in the same run.
#
#   sudo bench/migrate.sh                      # ACCOUNTS=300 STATUSES=40000: ~0.8 GB media, ~15 MB DB
#   sudo STATUSES=80000 bench/migrate.sh       # twice the media
#
# ferry: `ferry demo --keep` generates an Ubuntu-shaped source (a real PostgreSQL cluster with a
# Mastodon-shaped database, a public/system tree, .env.production) and an empty NixOS-shaped
# target (its own cluster), starts two agents on loopback with mutual TLS, pairs them and runs the
# real `ferry migrate`; its JSON report gives the downtime (source stopped -> target answering)
# and each step's time. There is no systemd here, so stopping and starting units is skipped on
# both sides: neither measurement includes unit stop/start times.
#
# The guide, on the same data afterwards: stop (no unit to stop), `pg_dump -Fc -f FILE`, copy
# FILE, `pg_restore --no-owner --role=mastodon` into a fresh database, then a full `rsync -a` of
# the media tree (no pre-sync), start (no unit). The copy and the rsync are local (no network,
# no ssh), which only flatters the guide.
set -euo pipefail

ACCOUNTS="${ACCOUNTS:-300}"
STATUSES="${STATUSES:-40000}"
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [[ "$(id -u)" != 0 ]]; then
  echo "bench/migrate.sh needs root (PostgreSQL clusters run as postgres, media owned by mastodon)" >&2
  exit 1
fi
for tool in python3 rsync; do
  command -v "$tool" >/dev/null || { echo "bench/migrate.sh needs $tool" >&2; exit 1; }
done

work="$(mktemp -d /tmp/ferry-bench-migrate-XXXXXX)"
chmod 755 "$work"
demo="$work/demo"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"

pg() { # pg source|target start|stop
  local data="$demo/pg-$1/data" sock="$demo/pg-$1/run"
  if [[ "$2" == start ]]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -l "$demo/pg-$1/server.log" -w -t 60 \
      -o "-k $sock -p 5432 -c listen_addresses='' -c fsync=off" start >/dev/null
  elif [[ -f "$data/postmaster.pid" ]]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -w -m fast stop >/dev/null
  fi
}
cleanup() {
  pg source stop 2>/dev/null || true
  pg target stop 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

echo "== ferry: ferry demo --accounts $ACCOUNTS --statuses $STATUSES (setup, then a real ferry migrate)"
"$root/bin/ferry" demo --keep --dir "$demo" --accounts "$ACCOUNTS" --statuses "$STATUSES" --json \
  >"$work/report.json" 2>"$work/demo.err" || { cat "$work/demo.err" >&2; exit 1; }
grep -E '^demo: ' "$work/demo.err" | grep -vE 'kept|cleaned' || true
grep -q 'all checks passed' "$work/demo.err" || { echo "ferry demo's checks failed" >&2; exit 1; }

read -r ferry_down ferry_total presync db delta <<<"$(python3 - "$work/report.json" <<'EOF'
import json, sys
from datetime import datetime
r = json.load(open(sys.argv[1]))
steps = {s["step"]: s for s in r["steps"]}
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
total = (t(r["downtime_ended_at"]) - t(steps["preflight"]["started_at"])).total_seconds()
print(r["downtime_seconds"], round(total, 1), steps["presync_media"]["duration_seconds"],
      steps["copy_database"]["duration_seconds"], steps["final_media"]["duration_seconds"])
EOF
)"

media="$demo/source/home/mastodon/live/public/system"
media_files="$(find "$media" -type f | wc -l)"
media_mib="$(find "$media" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }')"

echo "== the guide, serially, on the same data"
pg source start
pg target start
src_sock="$demo/pg-source/run"
dst_sock="$demo/pg-target/run"
guide="$work/guide"
mkdir -p "$guide/from" "$guide/to/public-system"
chown postgres "$guide/from" "$guide/to"
db_mib="$(runuser -u postgres -- "$pgbin/psql" -X -A -t -h "$src_sock" -d mastodon_production \
  -c "SELECT pg_database_size('mastodon_production') / 1048576")"
# Caches stay warm for both: ferry read the freshly written tree too.

t0="$(now)"
# stop: no unit to stop here (ferry skipped it too)
runuser -u postgres -- "$pgbin/pg_dump" -Fc -h "$src_sock" -d mastodon_production -f "$guide/from/dump.pgc"
t1="$(now)"
cp "$guide/from/dump.pgc" "$guide/to/dump.pgc"
t2="$(now)"
runuser -u postgres -- "$pgbin/createdb" -h "$dst_sock" -O mastodon mastodon_guide
runuser -u postgres -- "$pgbin/pg_restore" -h "$dst_sock" -d mastodon_guide --no-owner --role=mastodon "$guide/to/dump.pgc"
t3="$(now)"
rsync -a "$media/" "$guide/to/public-system/"
t4="$(now)"
# start: no unit to start here

archive_mib="$(du -m "$guide/from/dump.pgc" | cut -f1)"
diff -r "$media" "$guide/to/public-system" >/dev/null || { echo "the guide's rsync copy differs" >&2; exit 1; }
rows() { runuser -u postgres -- "$pgbin/psql" -X -A -t -h "$1" -d "$2" -c "SELECT count(*) FROM statuses"; }
[[ "$(rows "$src_sock" mastodon_production)" == "$(rows "$dst_sock" mastodon_guide)" ]] \
  || { echo "the guide's restore lost rows" >&2; exit 1; }

python3 - "$ferry_down" "$ferry_total" "$presync" "$db" "$delta" "$t0" "$t1" "$t2" "$t3" "$t4" \
  "$media_files" "$media_mib" "$db_mib" "$archive_mib" <<'EOF'
import sys
fd, ft, presync, db, delta = map(float, sys.argv[1:6])
t0, t1, t2, t3, t4 = map(float, sys.argv[6:11])
files, media_mib, db_mib, archive_mib = sys.argv[11:15]
guide = t4 - t0
print()
print(f"instance: {files} media files, {media_mib} MiB of media files; database {db_mib} MiB on disk, {archive_mib} MiB dump")
print(f"ferry migrate: downtime {fd:.1f} s (database {db:.1f} s, media delta {delta:.1f} s); "
      f"total {ft:.1f} s (media pre-sync {presync:.1f} s while the source serves)")
print(f"guide, serial: downtime {guide:.1f} s (pg_dump {t1-t0:.1f} s, copy {t2-t1:.1f} s, "
      f"createdb + pg_restore {t3-t2:.1f} s, rsync -a {t4-t3:.1f} s)")
print(f"downtime ratio ferry/guide: {fd/guide:.2f}  (goal <= 0.30)")
EOF
