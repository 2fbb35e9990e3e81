#!/usr/bin/env bash
# Backstage's catalog backend under bench/run.sh's issue-15 spreads: Bearing and Backstage side
# by side on the same machine and the same synthetic catalog. Writes figures and asserts nothing
# about them, but refuses to measure answers that are not what was asked for.
#
#   bench/backstage/run.sh [--name NAME] [--duration 15s] [--connections 64] [--only A,B,...]
#                          [--base-url URL [--pid PID] [--pg-pid PID] [--label TEXT]]
#
# Without --base-url it: installs package.json's npm packages into bench/backstage/node_modules
# if missing (nice -n 10); creates a fresh PostgreSQL cluster in BENCH_BS_PGDIR listening on
# 127.0.0.1:BENCH_BS_PG_PORT only (as BENCH_PG_USER when run as root: PostgreSQL refuses root);
# starts the backend (backend.js + app-config.yaml, NODE_ENV=production) on
# 127.0.0.1:BENCH_BS_PORT; times the ingestion of BENCH_DATA/catalog-info.yaml (a `file`
# location; Backstage ingests asynchronously): until every component is listed, until every
# kind's count matches manifest.json, and until the processing and stitching queues are empty;
# checks every URL of every scenario once (status and body); load-tests each scenario with wrk
# (BENCH_WARMUP warm-up, then --duration at --connections over $(nproc) threads); samples the
# RSS of the backend and of the PostgreSQL cluster; stops both. With --base-url it only checks
# and load-tests that server's Backstage API with the same URLs (e.g. Bearing's /api/catalog;
# RSS only with --pid; --pg-pid names the postmaster of its PostgreSQL if that is not a child).
#
# Results: bench/results/NAME.json (+ a table on stdout); raw output in bench/results/raw/NAME/.
# NAME defaults to backstage-<date>.
#
# Environment: BENCH_DATA (bench/data/synthetic), BENCH_BS_PGDIR (bench/data/pg-backstage),
# BENCH_BS_PG_PORT (5499), BENCH_BS_PORT (7007), BENCH_PG_BIN (/usr/lib/postgresql/15/bin),
# BENCH_PG_USER (bearing-pg), BENCH_BS_PROCESSING_INTERVAL (1h; `100s` is Backstage's default),
# BENCH_BS_INGEST_TIMEOUT (1800 s), BENCH_DURATION, BENCH_CONNECTIONS, BENCH_WARMUP (2s, 0 =
# none), BENCH_REQUEST_TIMEOUT (wrk --timeout, 10s: wrk's own 2 s would drop Backstage's slow
# answers from the latencies and count them as errors).
#
# Each scenario also records the CPU time other processes (not the server, its PostgreSQL, wrk
# or the sampler) used while it ran, from /proc: the machine is shared.
#
# Scenarios (the lists are drawn as bench/run.sh draws its own, same seeds):
#   bs_by_name              /api/catalog/entities/by-name/component/default/<sample_component>
#   bs_by_query             /api/catalog/entities/by-query?filter=kind=component&limit=20
#   bs_facets               /api/catalog/entity-facets?facet=spec.type&facet=spec.lifecycle
#   bs_by_name_many         by-name, each request one of run.sh's 2,000 random components
#   bs_by_query_owner_many  by-query filter=kind=component,spec.owner=group:team-NNN, limit 20,
#                           each of the teams (run.sh's bs-owner.txt, the same URLs)
#   bs_search_many          by-query fullTextFilterTerm=<term>, limit 20, with the fields and the
#                           order Backstage's catalog page sends; run.sh's 500 api-search terms
#   bs_facets_many          entity-facets: kind, spec.owner, spec.type+spec.lifecycle,
#                           metadata.tags, spec.system; each alone and with filter=kind=component
#   bs_list_offset_many     by-query limit 20 orderField=metadata.name,asc offset=(page-1)*20,
#                           with run.sh's 1,000 list-page draws (page 1-199, half kind=component)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
ROOT=$(dirname "$BENCH")

NAME=""
BASE_URL=""
EXT_PID=""
EXT_PG_PID=""
LABEL=""
DURATION=${BENCH_DURATION:-15s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WARMUP=${BENCH_WARMUP:-2s}
REQ_TIMEOUT=${BENCH_REQUEST_TIMEOUT:-10s}
ONLY=""
DATA=${BENCH_DATA:-$BENCH/data/synthetic}
PGDIR=${BENCH_BS_PGDIR:-$BENCH/data/pg-backstage}
PG_PORT=${BENCH_BS_PG_PORT:-5499}
BS_PORT=${BENCH_BS_PORT:-7007}
PG_BIN=${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${BENCH_PG_USER:-bearing-pg}
PROCESSING_INTERVAL=${BENCH_BS_PROCESSING_INTERVAL:-1h}
INGEST_TIMEOUT=${BENCH_BS_INGEST_TIMEOUT:-1800}

usage() { sed -n '2,47p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --base-url) BASE_URL=${2%/}; shift 2 ;;
    --pid) EXT_PID=$2; shift 2 ;;
    --pg-pid) EXT_PG_PID=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done

log() { printf '\033[1m[bench-backstage]\033[0m %s\n' "$*" >&2; }
die() { printf '[bench-backstage] error: %s\n' "$*" >&2; exit 1; }

[ -n "$NAME" ] || NAME="backstage-$(date +%Y-%m-%d)"
case "$NAME" in */*|.*|"") die "bad --name '$NAME'" ;; esac
MANIFEST=$DATA/manifest.json
[ -f "$MANIFEST" ] || die "no $MANIFEST: generate the catalog first (python3 bench/gen_catalog.py --out $DATA)"
command -v wrk >/dev/null 2>&1 || die "wrk not found (apt-get install -y wrk)"
RESULTS=$BENCH/results
OUT_JSON=$RESULTS/$NAME.json
RAW=$RESULTS/raw/$NAME
rm -rf "$RAW"
mkdir -p "$RAW"
: >"$RAW/events.tsv"   # phase<TAB>epoch seconds
mark() { printf '%s\t%s\n' "$1" "$(date +%s.%N)" >>"$RAW/events.tsv"; }

SERVER_PID=""
SAMPLER_PID=""
PG_STARTED=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping the backend (pid $SERVER_PID) with SIGTERM"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "backend still running 30 s after SIGTERM; SIGKILL"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  if [ -n "$SAMPLER_PID" ] && kill -0 "$SAMPLER_PID" 2>/dev/null; then kill -TERM "$SAMPLER_PID" 2>/dev/null || true; fi
  stop_server
  if [ -n "$PG_STARTED" ]; then
    log "stopping PostgreSQL ($PGDIR)"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/pgdata" -m fast -w stop >>"$RAW/pg_ctl.log" 2>&1 || true
    PG_STARTED=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# RSS sampler (background; SAMPLER_PID): every 0.5 s, the server's VmRSS/VmHWM and the summed
# RSS/PSS of its process tree and of the PostgreSQL cluster's tree (postmaster and backends; pid
# 0 = none), until the server exits or SIGTERM.
start_sampler() {
  python3 - "$RAW/rss.jsonl" "$1" "${2:-0}" <<'PY' &
import json, os, signal, sys, time
out, pid, pg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
def status(p):
    d = {}
    try:
        for line in open(f"/proc/{p}/status"):
            if line.startswith(("VmRSS:", "VmHWM:")):
                d[line[:5]] = int(line.split()[1])
    except (OSError, ValueError):
        return None
    return d
def pss(p):
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
                kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    todo, seen = [root], []
    while todo:
        p = todo.pop(); seen.append(p); todo.extend(kids.get(p, []))
    return seen
with open(out, "a") as f:
    while not stop:
        st = status(pid)
        if st is None:
            break
        row = {"t": time.time(), "rss_kb": st.get("VmRSS"), "hwm_kb": st.get("VmHWM")}
        for key, root in (("tree", pid), ("pg", pg)):
            ps = tree(root) if root else []
            row[f"{key}_rss_kb"] = sum((status(p) or {}).get("VmRSS", 0) for p in ps)
            row[f"{key}_pss_kb"] = sum(pss(p) for p in ps)
            row[f"{key}_procs"] = len(ps)
        f.write(json.dumps(row) + "\n"); f.flush()
        end = time.time() + 0.5
        while not stop and time.time() < end:
            time.sleep(0.05)
PY
  SAMPLER_PID=$!
}

if [ -z "$BASE_URL" ]; then
  # ------------------------------------------------------------ npm packages
  command -v node >/dev/null 2>&1 || die "node not found"
  if [ ! -f "$HERE/node_modules/@backstage/plugin-catalog-backend/package.json" ] \
      || [ ! -f "$HERE/node_modules/@backstage/backend-defaults/package.json" ]; then
    log "installing the npm packages of $HERE/package.json (nice -n 10)"
    (cd "$HERE" && nice -n 10 npm install --no-audit --no-fund --loglevel=error) >"$RAW/npm-install.log" 2>&1 \
      || { tail -n 30 "$RAW/npm-install.log" >&2; die "npm install failed (log: $RAW/npm-install.log)"; }
  fi

  # ------------------------------------------------------------ PostgreSQL
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL at $PG_BIN (set BENCH_PG_BIN)"
  for port in "$PG_PORT" "$BS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "something already listens on 127.0.0.1:$port"; fi
  done
  if [ "$(id -u)" = 0 ] && ! id -u "$PG_USER" >/dev/null 2>&1; then
    log "creating the system user $PG_USER to run PostgreSQL (it refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  log "a fresh PostgreSQL cluster in $PGDIR on 127.0.0.1:$PG_PORT"
  rm -rf "$PGDIR"
  mkdir -p "$PGDIR/run"
  [ "$(id -u)" = 0 ] && chown -R "$PG_USER": "$PGDIR"
  as_pg nice -n 10 "$PG_BIN/initdb" -D "$PGDIR/pgdata" -U backstage --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$RAW/initdb.log" 2>&1 || { tail -n 20 "$RAW/initdb.log" >&2; die "initdb failed"; }
  # The settings Bearing's embedded cluster runs with (defaults, max_connections 200), on TCP.
  as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/pgdata" -l "$PGDIR/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDIR/run -c max_connections=200" start >"$RAW/pg_ctl.log" 2>&1 \
    || { tail -n 20 "$PGDIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  PG_STARTED=1
  PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U backstage -X -At)

  # ------------------------------------------------------------ backend
  log "starting the Backstage backend on 127.0.0.1:$BS_PORT (catalog: $DATA/catalog-info.yaml)"
  mark backend_start
  (
    cd "$HERE"
    export NODE_ENV=production BENCH_BS_PORT="$BS_PORT" BENCH_BS_PG_PORT="$PG_PORT" \
      BENCH_BS_CATALOG="$DATA/catalog-info.yaml" BENCH_BS_PROCESSING_INTERVAL="$PROCESSING_INTERVAL"
    exec node backend.js --config app-config.yaml
  ) >"$RAW/backend.log" 2>&1 &
  SERVER_PID=$!
  BASE_URL="http://127.0.0.1:$BS_PORT"
  RSS_PID=$SERVER_PID
  PG_PID=$(head -1 "$PGDIR/pgdata/postmaster.pid")
  start_sampler "$SERVER_PID" "$PG_PID"

  # ------------------------------------------------------------ ingestion
  log "waiting for the ingestion (timeout ${INGEST_TIMEOUT}s)"
  python3 - "$BASE_URL" "$MANIFEST" "$RAW" "$INGEST_TIMEOUT" "$SERVER_PID" "${PSQL[@]}" <<'PY' || die "ingestion did not complete (see $RAW/backend.log)"
# Ingestion phases, in seconds from the backend's start: the API answers; every component is
# listed (by-query totalItems); every kind's count is the manifest's (entity-facets facet=kind);
# the processing queue (refresh_state rows due), the stitching queue and the unstitched rows are
# empty (PostgreSQL).
import json, os, subprocess, sys, time, urllib.request
base, manifest, raw, timeout, pid, psql = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
m = json.load(open(manifest))
want = {k.lower(): v for k, v in m["counts"].items()}
t0 = float([l.split("\t")[1] for l in open(f"{raw}/events.tsv") if l.startswith("backend_start")][0])
def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.load(r)
def sql(q):
    return subprocess.run(psql + ["-d", "backstage_plugin_catalog", "-c", q], capture_output=True, text=True, check=True).stdout.strip()
res, progress = {}, []
last_log = 0
while True:
    now = time.time()
    if now - t0 > timeout:
        print(f"timeout; reached: {res}; last: {progress[-1:]}", file=sys.stderr)
        sys.exit(1)
    try:
        os.kill(pid, 0)
    except OSError:
        print("the backend exited", file=sys.stderr)
        sys.exit(1)
    try:
        comps = get("/api/catalog/entities/by-query?filter=kind=component&limit=1")["totalItems"]
        res.setdefault("api_answers_s", round(now - t0, 1))
    except Exception:
        time.sleep(0.5)
        continue
    progress.append({"t": round(now - t0, 1), "components": comps})
    if now - last_log >= 15:
        print(f"[bench-backstage]   {now - t0:6.0f} s: {comps} components", file=sys.stderr)
        last_log = now
    if comps >= want["component"]:
        res.setdefault("components_s", round(now - t0, 1))
        kinds = {f["value"].lower(): f["count"] for f in get("/api/catalog/entity-facets?facet=kind")["facets"]["kind"]}
        if all(kinds.get(k) == v for k, v in want.items()):
            res.setdefault("all_kinds_s", round(now - t0, 1))
            res["kinds"] = kinds
            due, stitch, unstitched = sql(
                "select (select count(*) from refresh_state where next_update_at <= now()), "
                "(select count(*) from stitch_queue), (select count(*) from final_entities where final_entity is null)"
            ).split("|")
            if due == stitch == unstitched == "0":
                res["settled_s"] = round(time.time() - t0, 1)
                break
    time.sleep(1)
res["entities"] = int(sql("select count(*) from final_entities"))
res["refresh_state_rows_with_errors"] = int(sql("select count(*) from refresh_state where errors not in ('', '[]')"))
res["search_rows"] = int(sql("select count(*) from search"))
res["relations_rows"] = int(sql("select count(*) from relations"))
res["database_mb"] = round(int(sql("select pg_database_size('backstage_plugin_catalog')")) / 1048576, 1)
res["progress"] = progress[:: max(1, len(progress) // 60)]
json.dump(res, open(f"{raw}/ingest.json", "w"), indent=1)
print(f"[bench-backstage] ingestion: API at {res['api_answers_s']} s, all {want['component']} components at "
      f"{res['components_s']} s, every kind at {res['all_kinds_s']} s, queues empty at {res['settled_s']} s; "
      f"{res['entities']} entities, {res['refresh_state_rows_with_errors']} with processing errors", file=sys.stderr)
PY
  mark ingested
else
  RSS_PID=$EXT_PID
  PG_PID=$EXT_PG_PID
  [ -n "$RSS_PID" ] && start_sampler "$RSS_PID" "$PG_PID"
fi

# ---------------------------------------------------------------- URL lists
python3 - "$MANIFEST" "$RAW" <<'PY'
# The same draws as bench/run.sh's lists (random.Random(11), in the same order), so the same
# components, owners and terms are asked for.
import json, random, sys
m = json.load(open(sys.argv[1]))
raw = sys.argv[2]
n = m["params"]["components"]
rng = random.Random(11)
picks = rng.sample(range(n), min(n, 2000))
words = ["ledger", "payment", "search", "billing", "comp-0", "team", "api", "stream", "cache", "report"]
search_pages = [f"{rng.choice(words)}{rng.randrange(100)}" for _ in range(500)]  # run.sh's search-pages.txt
teams = m["params"]["teams"]
width = len(str(teams - 1)) if teams > 1 else 1
width = max(width, 3)
api_search = [f"{rng.choice(words)}{rng.randrange(100)}" for _ in range(500)]  # run.sh's api-search.txt
sorts = ["", "&sort=name_desc", "&sort=kind", "&sort=updated"]
list_pages = [(rng.randrange(1, 200), rng.choice(["", "&kind=component"]), rng.choice(sorts)) for _ in range(1000)]
def write(name, lines):
    with open(f"{raw}/{name}.txt", "w") as f:
        f.writelines(l + "\n" for l in lines)
write("bs_by_name_many", [f"/api/catalog/entities/by-name/component/default/comp-{i:05d}" for i in picks])
write("bs_by_query_owner_many", [f"/api/catalog/entities/by-query?filter=kind=component,spec.owner=group:team-{t:0{width}d}&limit=20" for t in range(teams)])
# What Backstage's catalog page sends for its search box (EntityTextFilter's fields, the table's
# default order by name).
fields = "fullTextFilterFields=metadata.name,metadata.title,spec.profile.displayName&orderField=metadata.name,asc"
write("bs_search_many", [f"/api/catalog/entities/by-query?fullTextFilterTerm={t}&{fields}&limit=20" for t in api_search])
facets = ["facet=kind", "facet=spec.owner", "facet=spec.type&facet=spec.lifecycle", "facet=metadata.tags", "facet=spec.system"]
write("bs_facets_many", [f"/api/catalog/entity-facets?{f}{k}" for k in ("", "&filter=kind=component") for f in facets])
write("bs_list_offset_many", [
    f"/api/catalog/entities/by-query?{'filter=kind=component&' if kind else ''}orderField=metadata.name,asc&limit=20&offset={(page - 1) * 20}"
    for page, kind, _sort in list_pages])
sample = m.get("sample_component", "comp-05000")
write("bs_by_name", [f"/api/catalog/entities/by-name/component/default/{sample}"])
write("bs_by_query", ["/api/catalog/entities/by-query?filter=kind=component&limit=20"])
write("bs_facets", ["/api/catalog/entity-facets?facet=spec.type&facet=spec.lifecycle"])
PY

SCENARIOS=(bs_by_name bs_by_query bs_facets bs_by_name_many bs_by_query_owner_many bs_search_many bs_facets_many bs_list_offset_many)
SELECTED=()
for sc in "${SCENARIOS[@]}"; do
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$sc,"* ]]; then continue; fi
  SELECTED+=("$sc")
done
[ ${#SELECTED[@]} -gt 0 ] || die "--only '$ONLY' selects no scenario (${SCENARIOS[*]})"

# ---------------------------------------------------------------- checks
log "checking every URL of ${SELECTED[*]} once"
python3 - "$BASE_URL" "$RAW" "${SELECTED[@]}" <<'PY' || die "some answers are not what was asked for (see $RAW/checks.json); nothing measured"
# Every URL of every scenario, once, 8 at a time: status 200 and a body that answers the request.
import concurrent.futures as cf, json, re, sys, time, urllib.error, urllib.parse, urllib.request
base, raw, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def fetch(path):
    try:
        with urllib.request.urlopen(base + path, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None
    except Exception as e:
        return 0, repr(e)
def ref(v):  # group:team-001, group:default/team-001 -> team-001
    return str(v).split(":")[-1].split("/")[-1]
def check(name, path):
    st, body = fetch(path)
    if st != 200 or not isinstance(body, dict):
        return f"status {st}", None
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    if "/by-name/" in path:
        want = path.rsplit("/", 1)[1]
        if body.get("kind", "").lower() != "component" or body.get("metadata", {}).get("name") != want:
            return f"by-name answered {body.get('kind')} {body.get('metadata', {}).get('name')}", None
        return None, {"relations": len(body.get("relations", []))}
    if "/entity-facets" in path:
        fs = body.get("facets", {})
        for f in q["facet"]:
            if not fs.get(f):
                return f"facet {f} empty or missing", None
        return None, {"values": sum(len(v) for v in fs.values())}
    items, total = body.get("items"), body.get("totalItems")
    if not isinstance(items, list):
        return "no items", None
    if "filter" in q and "kind=component" in q["filter"][0] and any(i.get("kind", "").lower() != "component" for i in items):
        return "an item is not a component", None
    m = re.search(r"spec\.owner=group:([\w-]+)", path)
    if m:
        if not items or total is None or total <= 0:
            return "owner query found nothing", None
        bad = [i["metadata"]["name"] for i in items if ref(i.get("spec", {}).get("owner")) != m.group(1)]
        if bad:
            return f"items of another owner: {bad[:3]}", None
    if "fullTextFilterTerm" in q:
        term = q["fullTextFilterTerm"][0].lower()
        sub = sum(1 for i in items if term in (i["metadata"].get("name", "") + " " + str(i["metadata"].get("title", ""))).lower())
        return None, {"items": len(items), "total": total, "items_with_term_in_name_or_title": sub}
    if "offset" in q:
        if len(items) != int(q.get("limit", ["20"])[0]):
            return f"{len(items)} items on a page inside the list", None
        names = [i["metadata"]["name"] for i in items]
        if names != sorted(names):
            return "page not in name order", None
    elif not items:
        return "no items", None
    return None, {"items": len(items), "total": total}
report = {}
failed = False
for name in names:
    paths = [l.strip() for l in open(f"{raw}/{name}.txt") if l.strip()]
    t = time.time()
    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda p: (p, *check(name, p)), paths))
    errs = [(p, e) for p, e, _ in results if e]
    infos = [i for _, e, i in results if not e]
    r = {"urls": len(paths), "failed": len(errs), "first_failures": errs[:5], "seconds": round(time.time() - t, 1)}
    if infos and "items" in infos[0]:
        r["empty_answers"] = sum(1 for i in infos if i["items"] == 0)
        r["mean_items"] = round(sum(i["items"] for i in infos) / len(infos), 2)
    if infos and "items_with_term_in_name_or_title" in infos[0]:
        r["answers_with_hits"] = sum(1 for i in infos if i["items"] > 0)
        r["items_with_term_in_name_or_title"] = sum(i["items_with_term_in_name_or_title"] for i in infos)
        r["items_total"] = sum(i["items"] for i in infos)
    if infos and "relations" in infos[0]:
        r["mean_relations"] = round(sum(i["relations"] for i in infos) / len(infos), 1)
    report[name] = r
    failed |= bool(errs)
    print(f"[bench-backstage]   {name}: {len(paths)} URLs, {len(errs)} failed"
          + (f" (first: {errs[0][1]} for {errs[0][0]})" if errs else "")
          + (f", {r['empty_answers']} empty" if "empty_answers" in r else ""), file=sys.stderr)
json.dump(report, open(f"{raw}/checks.json", "w"), indent=1)
sys.exit(1 if failed else 0)
PY

# ---------------------------------------------------------------- load
# CPU ticks of every process (and the machine's), before and after each measured run.
cpu_snapshot() {
  python3 - "$1" <<'PY'
import json, os, sys
procs = {}
me = os.getpid()
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) == me:
        continue
    try:
        s = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    comm = s[s.index("(") + 1:s.rindex(")")]
    f = s[s.rindex(")") + 2:].split()
    procs[d] = {"comm": comm, "ppid": int(f[1]), "ticks": int(f[11]) + int(f[12]), "nice": int(f[16]), "start": int(f[19])}
cpu = [int(x) for x in open("/proc/stat").readline().split()[1:]]
json.dump({"procs": procs, "cpu": cpu}, open(sys.argv[1], "w"))
PY
}
MEASURED_PIDS=()
[ -n "${RSS_PID:-}" ] && MEASURED_PIDS+=("$RSS_PID")
[ -n "${PG_PID:-}" ] && MEASURED_PIDS+=("$PG_PID")
[ -n "$SAMPLER_PID" ] && MEASURED_PIDS+=("$SAMPLER_PID")
WRK_THREADS=$(nproc)
[ "$CONNECTIONS" -lt "$WRK_THREADS" ] && WRK_THREADS=$CONNECTIONS
TSV=$RAW/scenarios.tsv
: >"$TSV"
mark load_start
for sc in "${SELECTED[@]}"; do
  list=$RAW/$sc.txt
  first=$(head -1 "$list")
  url=$BASE_URL$first
  WRK_SCRIPT=()
  if [ "$(wc -l <"$list")" -gt 1 ]; then
    export BENCH_PATHS=$list
    WRK_SCRIPT=(-s "$BENCH/paths.lua")
  fi
  probe=$(curl -sS -o "$RAW/$sc.body" -w '%{http_code} %{size_download}' --max-time 30 "$url" 2>/dev/null || true)
  [ -n "$probe" ] || probe="000 0"
  loadavg=$(cat /proc/loadavg)
  if [ "$WARMUP" != 0 ]; then
    wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$WARMUP" --timeout "$REQ_TIMEOUT" "${WRK_SCRIPT[@]}" "$url" >/dev/null 2>&1 || true
  fi
  log "$sc: $(wc -l <"$list") URL(s) from $first ($CONNECTIONS connections, $DURATION; loadavg before: $loadavg)"
  cpu_snapshot "$RAW/$sc.cpu0.json"
  mark "start:$sc"
  wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$DURATION" --timeout "$REQ_TIMEOUT" --latency "${WRK_SCRIPT[@]}" "$url" \
    >"$RAW/$sc.wrk.txt" 2>"$RAW/$sc.err" || log "warning: wrk exited $? for $sc"
  mark "end:$sc"
  cpu_snapshot "$RAW/$sc.cpu1.json"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$url" "$(wc -l <"$list")" "${probe% *}" "${probe#* }" "$loadavg" >>"$TSV"
done
mark load_end

if [ -n "$SAMPLER_PID" ]; then
  kill -TERM "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
fi
LOCAL=""
if [ -n "$SERVER_PID" ]; then
  LOCAL=1
  mark stop
  stop_server
fi
cleanup

# ---------------------------------------------------------------- report
python3 - "$BENCH" "$HERE" "$RAW" "$OUT_JSON" "$NAME" "$BASE_URL" "$LOCAL" "$LABEL" "$DURATION" "$CONNECTIONS" \
  "$WRK_THREADS" "$WARMUP" "$MANIFEST" "$PROCESSING_INTERVAL" "$PG_BIN" "$ROOT" "$REQ_TIMEOUT" \
  "${MEASURED_PIDS[*]}" <<'PY'
import datetime as dt, json, os, platform, subprocess, sys
(bench, here, raw, out, name, base, local, label, duration, conns, threads, warmup, manifest,
 interval, pg_bin, root, req_timeout, measured) = sys.argv[1:]
sys.path.insert(0, bench)
import report  # bench/report.py: wrk's text output
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return None
events = {}
for line in open(f"{raw}/events.tsv"):
    k, v = line.rstrip("\n").split("\t")
    events[k] = float(v)
scen = {}
for line in open(f"{raw}/scenarios.tsv"):
    sc, url, nurls, status, size, loadavg = line.rstrip("\n").split("\t")
    r = report.parse_wrk(f"{raw}/{sc}.wrk.txt")
    r.update({"url": url, "urls": int(nurls), "probe_status": int(status), "probe_bytes": int(size),
              "loadavg_before": loadavg, "tool": "wrk"})
    scen[sc] = r
# CPU used by other processes during each measured run: every process but the measured ones
# (the server's and its PostgreSQL's trees, the sampler), wrk and this script's helpers.
hz = os.sysconf("SC_CLK_TCK")
roots = {int(p) for p in measured.split()}
def other_cpu(sc):
    a = json.load(open(f"{raw}/{sc}.cpu0.json"))
    b = json.load(open(f"{raw}/{sc}.cpu1.json"))
    secs = events[f"end:{sc}"] - events[f"start:{sc}"]
    kids = {}
    for pid, p in list(a["procs"].items()) + list(b["procs"].items()):
        kids.setdefault(p["ppid"], set()).add(int(pid))
    ours, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in ours:
            ours.add(p); todo.extend(kids.get(p, ()))
    used = []
    for pid, p in b["procs"].items():
        if int(pid) in ours or p["comm"] in ("wrk", "curl"):
            continue
        before = a["procs"].get(pid)
        d = p["ticks"] - (before["ticks"] if before and before["start"] == p["start"] else 0)
        if d > 0:
            used.append((d / hz, p["comm"], p["nice"]))
    used.sort(reverse=True)
    busy = lambda c: c[0] + c[1] + c[2] + c[5] + c[6] + c[7]  # user nice system irq softirq steal
    total = busy(b["cpu"]) - busy(a["cpu"])
    return {"other_processes_cores": round(sum(u[0] for u in used) / secs, 2),
            "machine_busy_cores": round(total / hz / secs, 2),
            "top_other": [f"{c} (nice {n}): {s / secs:.2f}" for s, c, n in used[:3]]}
for sc in scen:
    try:
        scen[sc]["cpu"] = other_cpu(sc)
    except (OSError, KeyError, ValueError) as e:
        scen[sc]["cpu"] = {"error": repr(e)}
checks = json.load(open(f"{raw}/checks.json"))
for sc, c in checks.items():
    if sc in scen:
        scen[sc]["checks"] = c
doc = {
    "name": name, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    "server": label or ("Backstage catalog backend" if local else base), "base_url": base,
    "load": {"duration": duration, "request_timeout": req_timeout,
             "connections": int(conns), "threads": int(threads), "warmup": warmup},
    "scenarios": scen,
}
# wrk --version prints to stdout and exits 1; keep its first line
v = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
doc["load"]["tool"] = " ".join(((v.stdout or v.stderr).splitlines() or [""])[0].split()[:2])
m = json.load(open(manifest))
doc["catalog"] = {"params": m["params"], "counts": m["counts"]}
if local:
    doc["ingest"] = json.load(open(f"{raw}/ingest.json"))
    pk = {}
    for p in ("backend-defaults", "plugin-catalog-backend", "backend-plugin-api", "backend-app-api",
              "plugin-catalog-node", "catalog-model", "config-loader"):
        try:
            pk["@backstage/" + p] = json.load(open(f"{here}/node_modules/@backstage/{p}/package.json"))["version"]
        except OSError:
            pass
    for p in ("knex", "pg", "express"):
        try:
            pk[p] = json.load(open(f"{here}/node_modules/{p}/package.json"))["version"]
        except OSError:
            pass
    doc["versions"] = {"node": sh("node", "--version"), "packages": pk, "postgresql": sh(f"{pg_bin}/postgres", "--version")}
    doc["config"] = {"catalog.processingInterval": interval, "backend.auth.dangerouslyDisableDefaultAuthPolicy": True,
                     "request log lines": "off (logger override: type=incomingRequest at warn)", "NODE_ENV": "production",
                     "postgresql": "initdb defaults, max_connections=200, TCP 127.0.0.1"}
rss_file = f"{raw}/rss.jsonl"
if os.path.exists(rss_file):
    rows = [json.loads(l) for l in open(rss_file) if l.strip()]
    mb = lambda kb: None if kb is None else round(kb / 1024, 1)
    t0, t1 = events.get("load_start", 0), events.get("load_end", 1e18)
    load = [r for r in rows if t0 <= r["t"] <= t1]
    if rows:
        doc["rss"] = {
            "samples": len(rows),
            "server_peak_mb": mb(max(r["hwm_kb"] or 0 for r in rows)),
            "server_max_sampled_during_load_mb": mb(max((r["rss_kb"] or 0 for r in load), default=None)),
            "server_tree_max_pss_during_load_mb": mb(max((r["tree_pss_kb"] for r in load), default=None)),
            "postgresql_max_pss_during_load_mb": mb(max((r["pg_pss_kb"] for r in load), default=None)) if load and load[0]["pg_procs"] else None,
            "server_plus_postgresql_max_pss_during_load_mb": mb(max((r["tree_pss_kb"] + r["pg_pss_kb"] for r in load), default=None)),
        }
        if local:
            ing = [r for r in rows if r["t"] < events.get("ingested", 1e18)]
            doc["rss"]["server_max_sampled_during_ingest_mb"] = mb(max((r["rss_kb"] or 0 for r in ing), default=None))
            doc["rss"]["server_plus_postgresql_max_pss_overall_mb"] = mb(max(r["tree_pss_kb"] + r["pg_pss_kb"] for r in rows))
cpu = None
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), None)
doc["machine"] = {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_total_mb": mem and mem // 1024,
                  "kernel": platform.release(), "loadavg_at_end": open("/proc/loadavg").read().strip()}
doc["git"] = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
os.makedirs(os.path.dirname(out), exist_ok=True)
json.dump(doc, open(out, "w"), indent=1)
f = lambda v, d=1: "-" if v is None else f"{v:,.{d}f}"
print(f"\n{doc['server']} ({base}), {doc['load']['tool']}, {conns} connections, {duration}")
if local:
    i = doc["ingest"]
    print(f"ingestion: all components at {i['components_s']} s, every kind at {i['all_kinds_s']} s, queues empty at {i['settled_s']} s")
print(f"{'scenario':<24} {'urls':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  {'others':>6}  loadavg before")
for sc, r in scen.items():
    print(f"{sc:<24} {r['urls']:>5} {f(r['requests_per_sec'], 0):>9} {f(r['p50_ms'], 2):>8} {f(r['p99_ms'], 2):>8} {r['errors']:>7}"
          f"  {f(r['cpu'].get('other_processes_cores'), 2):>6}  {' '.join(r['loadavg_before'].split()[:3])}")
print("others: CPU cores used by other processes during the run (not the server, its PostgreSQL, wrk)")
if "rss" in doc:
    print("rss: " + ", ".join(f"{k} {v}" for k, v in doc["rss"].items()))
print(f"results: {out}")
PY
