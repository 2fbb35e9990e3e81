#!/usr/bin/env python3
"""Delivery ingest benchmark: OpenLineage RunEvents through `POST /api/v1/lineage/batch`.

    python3 bench/ingest.py --url http://127.0.0.1:3400 --token TOKEN --components 10000 \
        --events 100000 --batch 500 --concurrency 4 --out result.json

Each run is a START and, 60 s of event time later, a COMPLETE (one in ten a FAIL with an error
message), for a job named after a synthetic component (`comp-NNNNN`, mapped by name) in
namespace `bench`; the producer token must be named in the teams' `bearing.dev/producers`
(`gen_catalog.py --producer`). Batches go out from `--concurrency` threads; the figure is events
stored per second of wall time, with each request's latency. Stdlib only; asserts nothing.
"""
import argparse
import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
ERROR_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"


def events(n, components, seed):
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    out = []
    while len(out) < n:
        run = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job = {"namespace": "bench", "name": f"comp-{rng.randrange(components):05d}"}
        t0 = start + timedelta(seconds=rng.randrange(30 * 86400))
        fail = rng.random() < 0.1
        out.append({"eventType": "START", "eventTime": t0.isoformat(), "producer": PRODUCER, "schemaURL": SCHEMA,
                    "run": {"runId": run}, "job": job})
        end = {"eventType": "FAIL" if fail else "COMPLETE", "eventTime": (t0 + timedelta(seconds=60)).isoformat(),
               "producer": PRODUCER, "schemaURL": SCHEMA, "run": {"runId": run}, "job": job}
        if fail:
            end["run"]["facets"] = {"errorMessage": {"_producer": PRODUCER, "_schemaURL": ERROR_SCHEMA,
                                                     "message": "upstream table missing", "programmingLanguage": "python"}}
        out.append(end)
    return out[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--components", type=int, default=10000)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out")
    a = ap.parse_args()

    evs = events(a.events, a.components, a.seed)
    bodies = [json.dumps(evs[i:i + a.batch]).encode() for i in range(0, len(evs), a.batch)]
    lock = threading.Lock()
    latencies, totals = [], {"stored": 0, "duplicates": 0, "refused": 0, "busy": 0, "errors": 0}
    queue = list(range(len(bodies)))

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            req = urllib.request.Request(f"{a.url}/api/v1/lineage/batch", data=bodies[i], method="POST",
                                         headers={"content-type": "application/json",
                                                  "authorization": f"Bearer {a.token}"})
            t = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    body = json.load(resp)
                with lock:
                    latencies.append(time.monotonic() - t)
                    for k in ("stored", "duplicates", "refused"):
                        totals[k] += body.get(k, 0)
            except urllib.error.HTTPError as e:
                with lock:
                    if e.code == 503:
                        totals["busy"] += 1
                        queue.append(i)  # as the OpenLineage client would: retry later
                    else:
                        totals["errors"] += 1
                if e.code == 503:
                    time.sleep(float(e.headers.get("retry-after", "1")))
            except OSError:
                with lock:
                    totals["errors"] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t0
    lat = sorted(latencies)
    result = {
        "events": a.events, "batch": a.batch, "concurrency": a.concurrency, "wall_s": round(wall, 2),
        "events_per_s": round(totals["stored"] / wall, 1) if wall else None,
        "request_p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "request_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1) if lat else None,
        **totals,
    }
    print(json.dumps(result))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
