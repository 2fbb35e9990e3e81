#!/usr/bin/env bash
# Which SQL statements a page costs: starts the bench cluster with every statement logged
# (`log_min_duration_statement=0`), kuma-sim and `bearing serve` on it (page cache off), waits for
# the mesh's observed rates, requests PAGES entity pages, and prints the statements grouped by
# text, by total time. Writes figures; asserts nothing.
#
#   bench/statements.sh [PAGES]     (default 1; components comp-03600 onwards, depth 2)
#
# Environment: BENCH_PGDIR (a data dir `bench/run.sh` imported, default bench/data/pg),
# BENCH_DATA (its data, for mesh-world.json; default bench/data/synthetic-mesh), BEARING_BIN,
# KUMA_SIM_BIN (default target/release/...). Run as root (the cluster runs as bearing-pg).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PAGES=${1:-1}
PG=${BENCH_PGDIR:-$HERE/data/pg}
DATA=${BENCH_DATA:-$HERE/data/synthetic-mesh}
BIN=${BEARING_BIN:-$ROOT/target/release/bearing}
SIM_BIN=${KUMA_SIM_BIN:-$ROOT/target/release/kuma-sim}
PG_BIN=/usr/lib/postgresql/15/bin
LOG=$(mktemp)
chmod 666 "$LOG"
su bearing-pg -s /bin/bash -c "$PG_BIN/pg_ctl -D $PG/pgdata -l $LOG -o \"-k $PG/run -c listen_addresses='' -c log_min_duration_statement=0\" start" >/dev/null
"$SIM_BIN" --world "$DATA/mesh-world.json" --listen 127.0.0.1:5793 >/dev/null 2>&1 &
SIM=$!
BEARING_ANONYMOUS_READ=true "$BIN" serve --data-dir "$PG" --listen 127.0.0.1:3407 --kuma-url http://127.0.0.1:5793 \
  --page-cache-ttl 0s >/dev/null 2>&1 &
SRV=$!
trap 'kill $SRV $SIM 2>/dev/null; sleep 2; su bearing-pg -s /bin/bash -c "$PG_BIN/pg_ctl -D $PG/pgdata stop" >/dev/null; rm -f "$LOG"' EXIT
sleep 110   # two stats samples: observed rates
: >"$LOG"
for i in $(seq 3600 $((3600 + PAGES - 1))); do
  curl -fsS -o /dev/null "http://127.0.0.1:3407/catalog/component/default/comp-0$i?depth=2"
done
python3 - "$LOG" <<'PY'
import collections, re, sys
text = open(sys.argv[1]).read()
total, count = collections.Counter(), collections.Counter()
for m in re.finditer(r'duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*?)(?=\n\S|\Z)', text, re.S):
    sql = ' '.join(m.group(2).split())[:120]
    total[sql] += float(m.group(1))
    count[sql] += 1
print(f"{sum(count.values())} statements, {sum(total.values()):.1f} ms")
for sql, ms in total.most_common(30):
    print(f"{ms:9.1f} ms {count[sql]:6d}x  {sql}")
PY
