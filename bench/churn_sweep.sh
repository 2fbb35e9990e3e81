#!/usr/bin/env bash
# How many cached pages one proxy change makes the server render again (issue 15: "a mesh write
# invalidates only the pages that show what changed"). Writes figures; asserts nothing.
#
#   bench/churn_sweep.sh BASE_URL METRICS_TOKEN SIM_URL PAGES_FILE [CHANGES]
#
# Against a running `bearing serve` (started with BEARING_METRICS_TOKEN=METRICS_TOKEN, a long
# `--page-cache-ttl` so that no page expires during the sweep, and a short `--kuma-poll-interval`)
# polling the kuma-sim at SIM_URL: requests every page in PAGES_FILE (one path per line, e.g. the
# `mesh-graph-pages-100.txt` that `bench/run.sh` writes) until all are cached, then CHANGES times
# (default 7): takes one proxy of a random service offline in kuma-sim, waits for the server to be
# told of the change (`bearing_mesh_changes_total`), requests every page once more and prints how
# many were rendered again (`bearing_page_cache_requests_total{result="miss"}`); a server that
# predates that counter is given 5 s to see the change instead. One request at a
# time: this counts renders, it does not time them.
#
# Not covered: a stats round (every `--kuma-stats-interval`) names every service with traffic and
# is told as a change of everything when the list is long; the script reports such a change as
# "everything" and its count is not the proxy's.
set -euo pipefail

[ $# -ge 4 ] || { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BASE=$1 TOKEN=$2 SIM=$3 PAGES=$4 CHANGES=${5:-7}

metric() {
  curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { printf "%d\n", v }'
}
misses() { metric 'bearing_page_cache_requests_total{result="miss"}'; }
changes() { echo $(( $(metric 'bearing_mesh_changes_total{scope="everything"}') + $(metric 'bearing_mesh_changes_total{scope="components"}') )); }
everything() { metric 'bearing_mesh_changes_total{scope="everything"}'; }
sweep() { while read -r path; do curl -fsS -o /dev/null "$BASE$path"; done <"$PAGES"; }

mapfile -t proxies < <(curl -fsS "$SIM/_sim/world" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["proxies"]:
    if p["state"] == "online":
        print(p["mesh"], p["name"])')
total=$(wc -l <"$PAGES")
sweep
sweep
echo "pages: $total; proxies online: ${#proxies[@]}"
for i in $(seq 1 "$CHANGES"); do
  read -r mesh name <<<"${proxies[$(( (RANDOM * 32768 + RANDOM) % ${#proxies[@]} ))]}"
  told=$(changes)
  all=$(everything)
  curl -fsS -o /dev/null -X POST "$SIM/_sim/proxies/$mesh/$name/offline"
  # At most 5 s: a server older than `bearing_mesh_changes_total` never says.
  for _ in $(seq 1 25); do [ "$(changes)" -gt "$told" ] && break; sleep 0.2; done
  sleep 0.5
  before=$(misses)
  sweep
  scope=components
  [ "$(everything)" -gt "$all" ] && scope=everything
  echo "$name offline ($scope): $(( $(misses) - before )) of $total pages rendered again"
done
