#!/usr/bin/env bash
# The evidence export benchmark (issue 14). Writes figures; asserts nothing about them.
#
#   bench/evidence.sh [--name NAME] [--audit-rows 1000000] [--mesh-days 90]
#
# Imports the 10k-component synthetic catalog (BENCH_DATA, default bench/data/synthetic) into a
# fresh data dir (BENCH_PGDIR, default bench/data/pg-evidence), starts `bearing serve`, appends
# valid audit rows (bench/audit-fill.py: a real hash chain, verifiable) until the log holds
# --audit-rows, fills --mesh-days of daily mesh snapshots (3,000 services, 5,000 edges a day),
# then exports the bundle for the whole period through `GET /api/v1/evidence` with an auditor
# token, twice (the first export reads a cold cache), sampling the server's RSS every 100 ms.
# Then it runs the auditor's three checks on the bundle and times them.
#
# Results: bench/results/evidence-NAME.json and a summary on stdout.
# Environment: BEARING_BIN (default target/release/bearing), BENCH_LISTEN (127.0.0.1:3401).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
NAME="$(date +%Y%m%d)-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
AUDIT_ROWS=1000000
MESH_DAYS=90
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --audit-rows) AUDIT_ROWS=$2; shift 2 ;;
    --mesh-days) MESH_DAYS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=${BEARING_BIN:-$ROOT/target/release/bearing}
DATA=${BENCH_DATA:-$HERE/data/synthetic}
PGDIR=${BENCH_PGDIR:-$HERE/data/pg-evidence}
LISTEN=${BENCH_LISTEN:-127.0.0.1:3401}
RAW=$HERE/results/raw/evidence-$NAME
mkdir -p "$RAW"
log() { printf '[evidence-bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -x "$BIN" ] || die "no Bearing binary at $BIN (cargo leptos build --release, or set BEARING_BIN)"
[ -f "$DATA/manifest.json" ] || python3 "$HERE/gen_catalog.py" --out "$DATA"

SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap cleanup EXIT

rm -rf "$PGDIR"
log "importing $DATA into a fresh $PGDIR"
"$BIN" import --data-dir "$PGDIR" "$DATA/catalog-info.yaml" >"$RAW/import.log" 2>&1 || die "import failed ($RAW/import.log)"
TOKEN=$("$BIN" token create --data-dir "$PGDIR" --name bench-auditor --role auditor 2>>"$RAW/token.log")

"$BIN" serve --data-dir "$PGDIR" --listen "$LISTEN" >"$RAW/server.log" 2>&1 &
SERVER_PID=$!
until curl -fsS -o /dev/null --max-time 2 "http://$LISTEN/readyz" 2>/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited ($RAW/server.log)"
  sleep 0.2
done

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PGDIR/run" -U postgres -d bearing)
export PGPASSWORD
PGPASSWORD=$(cat "$PGDIR/keys/pg-superuser.password")
read -r HEAD_SEQ HEAD_HASH HEAD_AT <<<"$("${PSQL[@]}" -At -F ' ' -c \
  "SELECT seq, encode(hash, 'hex'), (extract(epoch FROM at) * 1000000)::bigint FROM audit_log ORDER BY seq DESC LIMIT 1")"
MISSING=$(( AUDIT_ROWS - HEAD_SEQ ))
if [ "$MISSING" -gt 0 ]; then
  log "appending $MISSING audit rows after row $HEAD_SEQ"
  start=$(date +%s.%N)
  python3 "$HERE/audit-fill.py" "$MISSING" "$HEAD_SEQ" "$HEAD_HASH" "$HEAD_AT" 2>"$RAW/fill-head.txt" \
    | "${PSQL[@]}" -c "COPY audit_log (seq, at, actor, actor_kind, action, target, before, after, reason, request_id, client_addr, prev_hash, hash) FROM STDIN"
  read -r NEW_SEQ NEW_HASH <"$RAW/fill-head.txt"
  "${PSQL[@]}" -c "UPDATE audit_head SET seq = $NEW_SEQ, hash = '\\x$NEW_HASH'::bytea; ANALYZE audit_log;"
  log "filled in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
log "filling $MESH_DAYS days of mesh snapshots"
"${PSQL[@]}" <<SQL
INSERT INTO mesh_daily_services (day, control_plane, mesh, service, component, mtls_enabled, mtls_mode, mtls_backend, earliest_cert_expiry)
SELECT d::date, 'default', 'default', format('svc-%s', s), format('component:default/comp-%s', lpad(s::text, 5, '0')),
       s % 50 <> 0, CASE WHEN s % 50 <> 0 THEN 'STRICT' END, 'ca-1', d + interval '20 days'
  FROM generate_series(current_date - $MESH_DAYS, current_date - 1, interval '1 day') d, generate_series(3500, 6499) s
ON CONFLICT DO NOTHING;
INSERT INTO mesh_daily_edges (day, control_plane, mesh, caller, callee, declared, observed, allowed, enforced, policy, class)
SELECT d::date, 'default', 'default', format('svc-%s', 3500 + e % 3000), format('svc-%s', 3500 + (e * 7) % 3000),
       e % 3 <> 0, e % 4 <> 0, e % 11 <> 0, true, format('bearing-comp-%s', e % 3000),
       (ARRAY['healthy','healthy','healthy','undeclared','unused_grant','declared_denied','over_permitted'])[1 + e % 7]
  FROM generate_series(current_date - $MESH_DAYS, current_date - 1, interval '1 day') d, generate_series(1, 5000) e
ON CONFLICT DO NOTHING;
ANALYZE mesh_daily_services; ANALYZE mesh_daily_edges;
SQL
ROWS=$("${PSQL[@]}" -At -c "SELECT count(*) FROM audit_log")
# The period: the mesh days and every audit row.
FROM=$("${PSQL[@]}" -At -c "SELECT to_char(least(min(at) AT TIME ZONE 'UTC' - interval '1 day', current_date - $MESH_DAYS), 'YYYY-MM-DD') FROM audit_log")
TO=$(date -u -d tomorrow +%Y-%m-%d)
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

export_once() {
  local label=$1 base peak=0 sampler
  base=$(rss)
  ( while kill -0 "$SERVER_PID" 2>/dev/null; do rss; sleep 0.1; done ) >"$RAW/rss-$label.txt" &
  sampler=$!
  curl -fsS -o "$RAW/bundle.zip" -w '%{time_total} %{size_download}\n' -H "authorization: Bearer $TOKEN" \
    "http://$LISTEN/api/v1/evidence?from=$FROM&to=$TO&sample_seed=bench" >"$RAW/curl-$label.txt"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$RAW/rss-$label.txt" | tail -1)
  read -r secs bytes <"$RAW/curl-$label.txt"
  echo "$label $secs $bytes $base $peak"
}
log "exporting $FROM..$TO over $ROWS audit rows (cold)"
COLD=$(export_once cold)
log "exporting again (warm)"
WARM=$(export_once warm)

CHECK=$RAW/check
rm -rf "$CHECK" && mkdir -p "$CHECK"
python3 -m zipfile -e "$RAW/bundle.zip" "$CHECK"
timed() { local s; s=$(date +%s.%N); (cd "$CHECK" && "$@" >"$RAW/check-$1.log" 2>&1); local rc=$?; echo "$rc $(echo "$(date +%s.%N) - $s" | bc)"; }
set +e
SUMS=$(timed sha256sum -c SHA256SUMS)
SIG=$(timed openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig)
CHAIN=$(timed python3 audit/verify_chain.py)
set -e

python3 - "$HERE/results/evidence-$NAME.json" "$ROWS" "$FROM" "$TO" "$COLD" "$WARM" "$SUMS" "$SIG" "$CHAIN" "$CHECK" <<'PY'
import json, os, sys
out, rows, frm, to, cold, warm, sums, sig, chain, unpacked = sys.argv[1:]
def export(line):
    label, secs, size, base, peak = line.split()
    return {"seconds": float(secs), "bytes": int(size), "rss_before_kb": int(base), "rss_peak_kb": int(peak),
            "rss_growth_mb": round((int(peak) - int(base)) / 1024, 1)}
def timed(line):
    rc, secs = line.split()
    return {"exit": int(rc), "seconds": round(float(secs), 2)}
lines = sum(1 for _ in open(os.path.join(unpacked, "audit/audit_log.jsonl")))
entities = sum(1 for _ in open(os.path.join(unpacked, "populations/entities.csv"))) - 1
result = {"audit_rows_in_db": int(rows), "period": [frm, to], "audit_rows_exported": lines, "entities": entities,
          "cold": export(cold), "warm": export(warm),
          "checks": {"sha256sum": timed(sums), "openssl": timed(sig), "verify_chain": timed(chain)}}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
# The bundle and its unpacked copy are large (about 100 MB and 1 GB for a million rows): gone once measured.
rm -rf "$CHECK" "$RAW/bundle.zip"
