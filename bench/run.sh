#!/usr/bin/env bash
# Bearing load benchmark. Writes figures; asserts nothing about them.
#
#   bench/run.sh [--name NAME] [--base-url URL] [--pid PID] [--duration 15s] [--connections 64]
#                [--only SCENARIO[,SCENARIO...]]
#
# Without --base-url it: generates bench/data/synthetic (default shape) if missing; imports it
# into a fresh data dir (bench/data/pg) with `bearing import` under /usr/bin/time -v (wall time,
# peak RSS); starts `bearing serve` on 127.0.0.1:3400; waits for /readyz; load-tests each
# scenario with oha (wrk as a fallback); samples the server's RSS meanwhile; stops the server
# with SIGTERM. With --base-url it only load-tests that server (RSS only if --pid is given).
#
# Results: bench/results/NAME.json (+ a table on stdout); raw tool output in
# bench/results/raw/NAME/. NAME defaults to <date>-<short git sha>.
#
# Environment: BEARING_BIN (default target/release/bearing), BENCH_LISTEN (127.0.0.1:3400),
# BENCH_DATA (bench/data/synthetic), BENCH_PGDIR (bench/data/pg), BENCH_WARMUP (2s, 0 = none),
# BENCH_READY_TIMEOUT (180 s), BENCH_COMPONENT / BENCH_TERM (entity and search term; default from
# the generator's manifest.json: comp-05000 and "ledger"), BENCH_TOOL (oha|wrk), BENCH_SERVE_ARGS
# (extra `bearing serve` arguments, e.g. `--page-cache-ttl 0s` for pages rendered every time).
#
# Mesh: when the data holds a kuma-sim world (`gen_catalog.py --mesh-components N` writes
# mesh-world.json), the script also starts kuma-sim with it (KUMA_SIM_BIN, default
# target/release/kuma-sim, on BENCH_KUMA_LISTEN 127.0.0.1:5790), points Bearing at it, waits
# until the sample component's edges have observed rates (the second stats sample, about a
# minute) and adds the entity page with its three-layer graph at depth 2 (`entity_graph_mesh`,
# and `entity_graphs_mesh_many` over 1,000 components in the mesh). `entity_graphs_mesh_100` draws
# from 100 of them, and `entity_graphs_mesh_100_under_churn` too while one random proxy of the
# world a second goes offline or back online in kuma-sim (pass a short `--kuma-poll-interval` in
# BENCH_SERVE_ARGS, or few of the changes are read during the run).
# Every scenario logs how many of its pages the rendered-page cache served (`bearing_page_cache_requests_total`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

NAME=""
BASE_URL=""
EXT_PID=""
DURATION=${BENCH_DURATION:-15s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ONLY=""
WARMUP=${BENCH_WARMUP:-2s}
LISTEN=${BENCH_LISTEN:-127.0.0.1:3400}
BIN=${BEARING_BIN:-$ROOT/target/release/bearing}
DATA=${BENCH_DATA:-$HERE/data/synthetic}
PGDIR=${BENCH_PGDIR:-$HERE/data/pg}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-180}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --base-url) BASE_URL=${2%/}; shift 2 ;;
    --pid) EXT_PID=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

if [ -z "$NAME" ]; then
  sha=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
  NAME="$(date +%Y-%m-%d)${sha:+-$sha}"
fi
case "$NAME" in */*|.*|"") die "bad --name '$NAME'" ;; esac
RESULTS=$HERE/results
OUT_JSON=$RESULTS/$NAME.json
RAW=$RESULTS/raw/$NAME
rm -rf "$RAW"
mkdir -p "$RAW"

# ---------------------------------------------------------------- load tool
TOOL=${BENCH_TOOL:-}
if [ -z "$TOOL" ] || [ "$TOOL" = oha ]; then
  if ! command -v oha >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/oha" ]; then PATH="$HOME/.cargo/bin:$PATH"; fi
  if ! command -v oha >/dev/null 2>&1; then
    log "oha not found; trying 'cargo install oha --locked' (takes a few minutes)"
    if command -v cargo >/dev/null 2>&1 && nice -n 10 cargo install oha --locked >"$RAW/oha-install.log" 2>&1; then
      PATH="$HOME/.cargo/bin:$PATH"
    else
      log "cargo install oha failed (see $RAW/oha-install.log); falling back to wrk"
    fi
  fi
  command -v oha >/dev/null 2>&1 && TOOL=oha
fi
if [ "$TOOL" != oha ]; then
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    (apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }) >"$RAW/wrk-install.log" 2>&1 \
      || die "could not install oha or wrk"
  fi
  TOOL=wrk
fi

OHA_ARGS=()
if [ "$TOOL" = oha ]; then
  help=$(oha --help 2>&1)
  if grep -q -- '--output-format' <<<"$help"; then OHA_ARGS+=(--output-format json)
  elif grep -q -- '--json' <<<"$help"; then OHA_ARGS+=(--json)
  else die "this oha has neither --output-format nor --json"; fi
  grep -q -- '--no-tui' <<<"$help" && OHA_ARGS+=(--no-tui)
  # A request that takes longer than this counts as an error (and can't stretch the run).
  # Requests still in flight at the deadline are reported apart ("aborted_at_deadline").
  grep -qE -- '(^|[ ,])-t[ ,]|--timeout' <<<"$help" && OHA_ARGS+=(-t "${BENCH_REQUEST_TIMEOUT:-10s}")
  TOOL_VERSION=$(oha --version 2>&1 | head -1)
else
  TOOL_VERSION=$(wrk --version 2>&1 | head -1 | cut -d" " -f1-2 || true)
fi
log "load tool: $TOOL_VERSION"

# ---------------------------------------------------------------- server
SERVER_PID=""
SAMPLER_PID=""
SIM_PID=""
cleanup() {
  if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then kill -TERM "$SIM_PID" 2>/dev/null || true; fi
  if [ -n "$SAMPLER_PID" ] && kill -0 "$SAMPLER_PID" 2>/dev/null; then kill -TERM "$SAMPLER_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping the server (pid $SERVER_PID) with SIGTERM"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server still running after 30 s; SIGKILL"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IMPORT_TIME_FILE=""
MANIFEST=""
if [ -z "$BASE_URL" ]; then
  if [ ! -f "$DATA/manifest.json" ]; then
    log "generating the synthetic catalog into $DATA"
    python3 "$HERE/gen_catalog.py" --out "$DATA"
  fi
  [ -x "$BIN" ] || die "no Bearing binary at $BIN: build it first (cargo leptos build --release) or set BEARING_BIN"
  if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    (apt-get install -y time || { apt-get update && apt-get install -y time; }) >"$RAW/time-install.log" 2>&1 \
      || die "could not install GNU time (apt-get install -y time)"
  fi
  if curl -fsS -o /dev/null --max-time 2 "http://$LISTEN/readyz" 2>/dev/null; then
    die "something already answers on $LISTEN; stop it or set BENCH_LISTEN"
  fi

  IMPORT_PATH=${BENCH_IMPORT_PATH:-$DATA/catalog-info.yaml}
  rm -rf "$PGDIR"
  mkdir -p "$(dirname "$PGDIR")"
  log "importing $IMPORT_PATH into a fresh $PGDIR"
  IMPORT_TIME_FILE=$RAW/import.time
  if ! /usr/bin/time -v -o "$IMPORT_TIME_FILE" "$BIN" import --data-dir "$PGDIR" "$IMPORT_PATH" >"$RAW/import.log" 2>&1; then
    tail -n 30 "$RAW/import.log" >&2
    die "bearing import failed (log: $RAW/import.log)"
  fi
  grep -E 'Elapsed \(wall|Maximum resident' "$IMPORT_TIME_FILE" | sed 's/^\s*/[bench]   /' >&2

  SERVE_ARGS=()
  if [ -f "$DATA/mesh-world.json" ]; then
    SIM_BIN=${KUMA_SIM_BIN:-$ROOT/target/release/kuma-sim}
    [ -x "$SIM_BIN" ] || die "the data has a mesh world but there is no kuma-sim at $SIM_BIN (cargo build --release -p kuma-sim)"
    SIM_LISTEN=${BENCH_KUMA_LISTEN:-127.0.0.1:5790}
    log "starting kuma-sim with $DATA/mesh-world.json on $SIM_LISTEN"
    "$SIM_BIN" --world "$DATA/mesh-world.json" --listen "$SIM_LISTEN" >"$RAW/kuma-sim.log" 2>&1 &
    SIM_PID=$!
    SERVE_ARGS+=(--kuma-url "http://$SIM_LISTEN")
  fi
  # shellcheck disable=SC2206 # word splitting of the extra arguments is wanted
  SERVE_ARGS+=(${BENCH_SERVE_ARGS:-})
  log "starting bearing serve on $LISTEN ${SERVE_ARGS[*]}"
  # Anonymous reads: the figures measure the catalog read path, not sign-in.
  METRICS_TOKEN=bench-metrics-$$-$RANDOM
  BEARING_METRICS_TOKEN=$METRICS_TOKEN BEARING_ANONYMOUS_READ=true "$BIN" serve --data-dir "$PGDIR" --listen "$LISTEN" "${SERVE_ARGS[@]}" >"$RAW/server.log" 2>&1 &
  SERVER_PID=$!
  BASE_URL="http://$LISTEN"
  start=$(date +%s)
  until curl -fsS -o /dev/null --max-time 2 "$BASE_URL/readyz" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$RAW/server.log" >&2; die "the server exited before it was ready"; }
    [ $(( $(date +%s) - start )) -lt "$READY_TIMEOUT" ] || { tail -n 30 "$RAW/server.log" >&2; die "not ready after ${READY_TIMEOUT}s"; }
    sleep 0.2
  done
  log "ready after $(( $(date +%s) - start ))s"
  MANIFEST=$DATA/manifest.json
  RSS_PID=$SERVER_PID
else
  RSS_PID=$EXT_PID
  [ -f "$DATA/manifest.json" ] && MANIFEST=$DATA/manifest.json
fi

# Entity and search term: the generator's manifest, or its documented defaults.
manifest_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$MANIFEST" "$1" 2>/dev/null; }
COMPONENT=${BENCH_COMPONENT:-$( [ -n "$MANIFEST" ] && manifest_get sample_component || echo comp-05000)}
TERM_Q=${BENCH_TERM:-$( [ -n "$MANIFEST" ] && manifest_get search_term || echo ledger)}

SCENARIOS=(
  "entity_page|/catalog/component/default/$COMPONENT"
  "catalog_list|/catalog?kind=component&page=3"
  "search_page|/search?q=$TERM_Q"
  "api_entity|/api/v1/entities/component/default/$COMPONENT"
  "bs_by_name|/api/catalog/entities/by-name/component/default/$COMPONENT"
  "bs_by_query|/api/catalog/entities/by-query?filter=kind=component&limit=20"
  "bs_facets|/api/catalog/entity-facets?facet=spec.type&facet=spec.lifecycle"
  "api_search|/api/v1/entities?kind=component&q=$TERM_Q&limit=20"
)

# The mesh: wait for observed rates on the sample component's edges, then draw its graph.
if [ -n "$SIM_PID" ]; then
  log "waiting for the mesh's first two stats samples (observed rates)"
  start=$(date +%s)
  until curl -fsS --max-time 10 "$BASE_URL/api/v1/mesh/edges?service=$COMPONENT" 2>/dev/null \
      | python3 -c 'import json,sys; sys.exit(0 if any(e.get("observed") for e in json.load(sys.stdin)["items"]) else 1)'; do
    [ $(( $(date +%s) - start )) -lt 300 ] || die "no observed rates for $COMPONENT after 300 s (see $RAW/server.log)"
    sleep 5
  done
  log "observed rates after $(( $(date +%s) - start ))s"
  SCENARIOS+=("entity_graph_mesh|/catalog/component/default/$COMPONENT?depth=2")
  if [ "$TOOL" = wrk ]; then
    python3 - "$MANIFEST" "$RAW" <<'PY'
import json, random, sys
m = json.load(open(sys.argv[1]))
lo, hi = (int(c.rsplit("-", 1)[1]) for c in m["mesh"]["components"])
width = len(m["mesh"]["components"][0].rsplit("-", 1)[1])
picks = random.Random(13).sample(range(lo, hi + 1), min(1000, hi - lo + 1))
pages = [f"/catalog/component/default/comp-{i:0{width}d}?depth=2\n" for i in picks]
with open(f"{sys.argv[2]}/mesh-graph-pages.txt", "w") as f:
    f.writelines(pages)
# The 100 pages most asked for: requested again within a run, so what keeps them cached shows.
with open(f"{sys.argv[2]}/mesh-graph-pages-100.txt", "w") as f:
    f.writelines(pages[:100])
PY
    SCENARIOS+=(
      "entity_graphs_mesh_many|@$RAW/mesh-graph-pages.txt"
      "entity_graphs_mesh_100|@$RAW/mesh-graph-pages-100.txt"
      "entity_graphs_mesh_100_under_churn|@$RAW/mesh-graph-pages-100.txt"
    )
  fi
fi

# Delivery (BENCH_DELIVERY=1; the data must name the producer: gen_catalog.py --producer
# bench-ingest): the real ingest benchmark through /api/v1/lineage/batch, then the tables filled
# by SQL up to BENCH_DELIVERY_EVENTS (1,000,000) for the run timeline and DORA reads.
if [ "${BENCH_DELIVERY:-0}" = 1 ] && [ -n "$SERVER_PID" ]; then
  scopes=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["params"]["teams"]; print(",".join(f"team-{i:03d}" for i in range(t)))' "$MANIFEST")
  PRODUCER_TOKEN=$("$BIN" token create --data-dir "$PGDIR" --name bench-ingest --role producer --scope "$scopes" 2>>"$RAW/token.log")
  log "ingest: ${BENCH_INGEST_EVENTS:-100000} OpenLineage events in batches of 500 over 4 connections"
  python3 "$HERE/ingest.py" --url "$BASE_URL" --token "$PRODUCER_TOKEN" --events "${BENCH_INGEST_EVENTS:-100000}" \
    --out "$RAW/ingest.json" | tee "$RAW/ingest.out"
  log "filling the delivery tables to ${BENCH_DELIVERY_EVENTS:-1000000} events (SQL)"
  PGPASSWORD=$(cat "$PGDIR/keys/pg-superuser.password") psql -h "$PGDIR/run" -U postgres -d bearing \
    -v total="${BENCH_DELIVERY_EVENTS:-1000000}" -f "$HERE/delivery-fill.sql" | tee "$RAW/fill.out"
  python3 - "$MANIFEST" "$RAW" <<'PY'
import json, random, sys
m = json.load(open(sys.argv[1]))
rng = random.Random(17)
n, t = m["params"]["components"], m["params"]["teams"]
with open(f"{sys.argv[2]}/runs-api.txt", "w") as f:
    f.writelines(f"/api/v1/runs?component=component:default/comp-{i:05d}&limit=50\n" for i in rng.sample(range(n), min(n, 2000)))
with open(f"{sys.argv[2]}/dora-api.txt", "w") as f:
    f.writelines(f"/api/v1/dora?team=team-{i:03d}\n" for i in range(t))
# The pages people open: a component's page with its "Runs & deployments" timeline, and a team's
# page with its DORA charts, each a different URL (the page cache only helps a repeat viewer).
with open(f"{sys.argv[2]}/runs-pages.txt", "w") as f:
    f.writelines(f"/catalog/component/default/comp-{i:05d}\n" for i in rng.sample(range(n), min(n, 2000)))
with open(f"{sys.argv[2]}/dora-pages.txt", "w") as f:
    f.writelines(f"/catalog/group/default/team-{i:03d}\n" for i in range(t))
PY
  SCENARIOS+=("runs_timeline_many|@$RAW/runs-api.txt" "dora_teams_many|@$RAW/dora-api.txt"
              "runs_pages_many|@$RAW/runs-pages.txt" "dora_team_pages_many|@$RAW/dora-pages.txt")
fi

# Many different URLs (wrk only, through bench/paths.lua): what browsing users do. Each request
# picks one of 2,000 entity pages, 2,000 entities by name or 500 searches at random, so most
# answers are rendered or read afresh rather than served from the caches. Paths come from the
# manifest's component count; the same seed gives the same lists.
if [ -n "$MANIFEST" ] && [ "$TOOL" = wrk ]; then
  python3 - "$MANIFEST" "$RAW" <<'PY'
import json, random, sys
m = json.load(open(sys.argv[1]))
n = m["params"]["components"]
rng = random.Random(11)
picks = rng.sample(range(n), min(n, 2000))
words = ["ledger", "payment", "search", "billing", "comp-0", "team", "api", "stream", "cache", "report"]
with open(f"{sys.argv[2]}/entity-pages.txt", "w") as f:
    f.writelines(f"/catalog/component/default/comp-{i:05d}\n" for i in picks)
with open(f"{sys.argv[2]}/api-entities.txt", "w") as f:
    f.writelines(f"/api/v1/entities/component/default/comp-{i:05d}\n" for i in picks)
with open(f"{sys.argv[2]}/search-pages.txt", "w") as f:
    f.writelines(f"/search?q={rng.choice(words)}{rng.randrange(100)}\n" for _ in range(500))
# Issue 15's spread: random search terms on the JSON API, random list page numbers (with and
# without a kind and a sort), random owners on the list page and Backstage's by-query.
teams = m["params"]["teams"]
width = len(str(teams - 1)) if teams > 1 else 1
width = max(width, 3)
with open(f"{sys.argv[2]}/api-search.txt", "w") as f:
    f.writelines(f"/api/v1/entities?q={rng.choice(words)}{rng.randrange(100)}&limit=20\n" for _ in range(500))
sorts = ["", "&sort=name_desc", "&sort=kind", "&sort=updated"]
with open(f"{sys.argv[2]}/list-pages.txt", "w") as f:
    f.writelines(f"/catalog?page={rng.randrange(1, 200)}{rng.choice(['', '&kind=component'])}{rng.choice(sorts)}\n" for _ in range(1000))
with open(f"{sys.argv[2]}/owner-pages.txt", "w") as f:
    f.writelines(f"/catalog?owner=group:default/team-{t:0{width}d}\n" for t in range(teams))
with open(f"{sys.argv[2]}/bs-owner.txt", "w") as f:
    f.writelines(f"/api/catalog/entities/by-query?filter=kind=component,spec.owner=group:team-{t:0{width}d}&limit=20\n" for t in range(teams))
PY
  SCENARIOS+=(
    "entity_pages_many|@$RAW/entity-pages.txt"
    "api_entities_many|@$RAW/api-entities.txt"
    "search_pages_many|@$RAW/search-pages.txt"
    "api_search_many|@$RAW/api-search.txt"
    "list_pages_many|@$RAW/list-pages.txt"
    "owner_pages_many|@$RAW/owner-pages.txt"
    "bs_by_query_owner_many|@$RAW/bs-owner.txt"
  )
  # 50 signed-in viewers (API tokens on the pages), each request a random viewer and page: all
  # have the same rights, so they share rendered pages (before 454bf3f each had their own).
  if [ -n "$SERVER_PID" ]; then
    : >"$RAW/viewer-pages.txt"
    tokens=()
    for i in $(seq 1 50); do
      tokens+=("$("$BIN" token create --data-dir "$PGDIR" --name "bench-viewer-$i-$$" --role viewer 2>>"$RAW/token.log")")
    done
    python3 - "$RAW" "${tokens[@]}" <<'PY'
import random, sys
raw, tokens = sys.argv[1], sys.argv[2:]
pages = [l.strip() for l in open(f"{raw}/entity-pages.txt") if l.strip()]
rng = random.Random(23)
with open(f"{raw}/viewer-pages.txt", "w") as f:
    f.writelines(f"{rng.choice(pages)}\t{rng.choice(tokens)}\n" for _ in range(4000))
PY
    SCENARIOS+=("viewer_pages_many|@$RAW/viewer-pages.txt")
    # The same spreads while an admin edits a random component every second (each edit moves
    # the catalog's generation: every cached answer and the list index go stale at once, as
    # after an import).
    EDIT_TOKEN=$("$BIN" token create --data-dir "$PGDIR" --name "bench-editor-$$" --role admin 2>>"$RAW/token.log")
    SCENARIOS+=(
      "list_pages_under_edits|@$RAW/list-pages.txt"
      "search_pages_under_edits|@$RAW/search-pages.txt"
      "entity_pages_under_edits|@$RAW/entity-pages.txt"
    )
  fi
elif [ "$TOOL" != wrk ]; then
  log "the many-URL scenarios need wrk (BENCH_TOOL=wrk); skipped"
fi

# ---------------------------------------------------------------- load
if [ -n "$RSS_PID" ]; then
  python3 "$HERE/report.py" sample-rss --pid "$RSS_PID" --interval 0.5 --out "$RAW/rss.jsonl" &
  SAMPLER_PID=$!
fi

# "HITS MISSES EVERYTHING COMPONENTS REFRESHES": the server's rendered-page cache so far (served,
# rendered on request), the mesh changes it was told of by scope, and the pages it rendered in the
# background after their TTL; nothing without a server.
page_cache_counts() {
  [ -n "$SERVER_PID" ] || return 0
  curl -fsS --max-time 10 -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" 2>/dev/null \
    | awk '/^bearing_page_cache_requests_total\{/ { if ($0 ~ /result="hit"/) h = $2; if ($0 ~ /result="miss"/) m = $2 }
           /^bearing_mesh_changes_total\{/ { if ($0 ~ /scope="everything"/) e = $2; if ($0 ~ /scope="components"/) c = $2 }
           /^bearing_page_cache_refreshes_total/ { r = $2 }
           END { printf "%d %d %d %d %d\n", h, m, e, c, r }' || true
}

# wrk needs at least one connection per thread (BENCH_CONNECTIONS=1 measures one user's latency).
WRK_THREADS=$(nproc)
[ "$CONNECTIONS" -lt "$WRK_THREADS" ] && WRK_THREADS=$CONNECTIONS
TSV=$RAW/scenarios.tsv
: >"$TSV"
for entry in "${SCENARIOS[@]}"; do
  sc=${entry%%|*}
  path=${entry#*|}
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$sc,"* ]]; then continue; fi
  WRK_SCRIPT=()
  if [[ $path == @* ]]; then
    export BENCH_PATHS=${path#@}
    WRK_SCRIPT=(-s "$HERE/paths.lua")
    path=$(head -1 "$BENCH_PATHS" | cut -f1)
  fi
  url=$BASE_URL$path
  # One plain request first: status and size, so a 404 doesn't pass as a fast result.
  probe=$(curl -sS -o "$RAW/$sc.body" -w '%{http_code} %{size_download}' --max-time 30 "$url" 2>/dev/null || true)
  [ -n "$probe" ] || probe="000 0"
  status=${probe% *}
  [ "$status" = 200 ] || log "warning: $sc: GET $path answered $status"
  if [ "$WARMUP" != 0 ]; then
    if [ "$TOOL" = oha ]; then oha -z "$WARMUP" -c "$CONNECTIONS" "${OHA_ARGS[@]}" "$url" >/dev/null 2>&1 || true
    else wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$WARMUP" "${WRK_SCRIPT[@]}" "$url" >/dev/null 2>&1 || true; fi
  fi
  log "$sc: GET $path ($CONNECTIONS connections, $DURATION)"
  EDITOR_PID=""
  if [[ $sc == *_under_edits ]] && [ -n "${EDIT_TOKEN:-}" ]; then
    components=$(manifest_get params | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["components"])')
    (
      n=0
      while true; do
        c=$(printf 'comp-%05d' $(( (RANDOM * 32768 + RANDOM) % components )))
        lc=$([ $((n % 2)) = 0 ] && echo experimental || echo production)
        curl -sS -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $EDIT_TOKEN" \
          -H 'Content-Type: application/json' -d "{\"lifecycle\":\"$lc\",\"reason\":\"bench edit\"}" \
          "$BASE_URL/api/v1/entities/component/default/$c" >>"$RAW/$sc.edits" 2>&1 || true
        n=$((n + 1))
        sleep 1
      done
    ) &
    EDITOR_PID=$!
  fi
  CHURN_PID=""
  if [[ $sc == *_under_churn ]] && [ -n "$SIM_PID" ]; then
    # One random proxy a second: offline, and back online the next time it is drawn.
    (
      # Proxy names as kuma-sim gives them: listed, else `<service>-<n>` for each replica.
      python3 - "$DATA/mesh-world.json" >"$RAW/$sc.proxies" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    listed = s.get("proxies") or [{}] * int(s.get("replicas", 1))
    for i, p in enumerate(listed):
        print(s.get("mesh", "default"), p.get("name") or f"{s['name']}-{i + 1}")
PY
      mapfile -t proxies <"$RAW/$sc.proxies"
      declare -A down=()
      while true; do
        read -r mesh name <<<"${proxies[$(( (RANDOM * 32768 + RANDOM) % ${#proxies[@]} ))]}"
        if [ -n "${down[$name]:-}" ]; then to=online; unset "down[$name]"; else to=offline; down[$name]=1; fi
        curl -sS -o /dev/null -w '%{http_code}\n' -X POST "http://$SIM_LISTEN/_sim/proxies/$mesh/$name/$to" \
          >>"$RAW/$sc.churn" 2>&1 || true
        sleep 1
      done
    ) &
    CHURN_PID=$!
  fi
  cache_before=$(page_cache_counts)
  if [ "$TOOL" = oha ]; then
    raw=$RAW/$sc.json
    oha -z "$DURATION" -c "$CONNECTIONS" "${OHA_ARGS[@]}" "$url" >"$raw" 2>"$RAW/$sc.err" || log "warning: oha exited $? for $sc"
  else
    raw=$RAW/$sc.wrk.txt
    wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency "${WRK_SCRIPT[@]}" "$url" >"$raw" 2>"$RAW/$sc.err" || log "warning: wrk exited $? for $sc"
  fi
  cache_after=$(page_cache_counts)
  if [ -n "$cache_before" ] && [ -n "$cache_after" ]; then
    read -r h0 m0 e0 c0 r0 <<<"$cache_before"
    read -r h1 m1 e1 c1 r1 <<<"$cache_after"
    log "$sc: rendered-page cache served $((h1 - h0)) pages, rendered $((m1 - m0)) on request and" \
      "$((r1 - r0)) in the background (warm-up excluded);" \
      "mesh changes: $((e1 - e0)) of everything, $((c1 - c0)) of some components"
  fi
  if [ -n "$CHURN_PID" ]; then
    kill "$CHURN_PID" 2>/dev/null || true
    wait "$CHURN_PID" 2>/dev/null || true
    log "$sc: proxy changes sent to kuma-sim: $(sort "$RAW/$sc.churn" | uniq -c | tr '\n' ' ')"
  fi
  if [ -n "$EDITOR_PID" ]; then
    kill "$EDITOR_PID" 2>/dev/null || true
    wait "$EDITOR_PID" 2>/dev/null || true
    log "$sc: edits answered $(sort "$RAW/$sc.edits" | uniq -c | tr '\n' ' ')"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$url" "$TOOL" "$raw" "$status" "${probe#* }" >>"$TSV"
done

if [ -n "$SAMPLER_PID" ]; then
  kill -TERM "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
fi

SHUTDOWN_ARGS=()
if [ -n "$SERVER_PID" ]; then
  log "stopping the server (pid $SERVER_PID) with SIGTERM"
  t0=$(date +%s.%N)
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  t1=$(date +%s.%N)
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    log "server still running 30 s after SIGTERM; SIGKILL"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rc=0
  wait "$SERVER_PID" 2>/dev/null || rc=$?
  SERVER_PID=""
  SHUTDOWN_ARGS=(--shutdown-seconds "$(python3 -c "print(round($t1 - $t0, 3))")" --shutdown-exit "$rc")
fi

REPORT_ARGS=(report --name "$NAME" --out "$OUT_JSON" --scenarios "$TSV" --base-url "$BASE_URL"
  --tool "$TOOL_VERSION" --duration "$DURATION" --connections "$CONNECTIONS")
[ -n "$IMPORT_TIME_FILE" ] && REPORT_ARGS+=(--import-time "$IMPORT_TIME_FILE")
[ -f "$RAW/rss.jsonl" ] && REPORT_ARGS+=(--rss "$RAW/rss.jsonl")
[ -n "$MANIFEST" ] && REPORT_ARGS+=(--manifest "$MANIFEST")
[ -x "$BIN" ] && REPORT_ARGS+=(--binary "$BIN")
python3 "$HERE/report.py" "${REPORT_ARGS[@]}" "${SHUTDOWN_ARGS[@]}"
