#!/usr/bin/env python3
"""Latency of pages in the first second after an import (issue 15: "the first second after an
import p99 < 200 ms"). Writes figures; asserts nothing about them.

Against a running Bearing, CONNECTIONS threads request pages drawn at random from PATHS (one
path per line, e.g. the `entity-pages.txt` or `list-pages.txt` that `bench/run.sh` writes into
its raw directory), each on its own kept-alive connection, and record when each request started,
how long it took and its status. After BEFORE seconds an admin imports one new component through
`POST /api/v1/import` (a real import: its transaction commits, every server is notified, and every
cached read, page and the list index go stale at once); the load goes on for AFTER seconds.
Requests are then grouped by when they started: before the import, while it ran, in the first
second after its answer, and later.

    bench/after_import.py --base-url http://127.0.0.1:3400 --token ADMIN_TOKEN \\
        --paths bench/results/raw/NAME/entity-pages.txt [--connections 64] [--before 5] \\
        [--after 5] [--imports 3] [--name NAME]

With --imports N it repeats the import N times (BEFORE seconds apart) and reports each window.
Results: bench/results/NAME.json and a table on stdout.

Not covered: the load comes from Python threads on the same two cores as the server (the client
adds its own queueing under load; wrk cannot split its latencies by time); one imported document
(a large import holds its transaction open longer, but the invalidation it causes is the same).
"""

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
import uuid


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[k]


def load(base, paths, stop, samples, lock):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    rng = random.Random()
    mine = []
    while not stop.is_set():
        path = rng.choice(paths)
        start = time.monotonic()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        mine.append((start, time.monotonic() - start, status))
    with lock:
        samples.extend(mine)


def import_one(base, token):
    name = f"after-import-{uuid.uuid4().hex[:12]}"
    body = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\n  description: added by bench/after_import.py\n"
        "spec:\n  type: service\n  lifecycle: experimental\n  owner: team-000\n"
    )
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=120)
    conn.request(
        "POST",
        "/api/v1/import",
        body=body.encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/yaml",
        },
    )
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    if resp.status != 200:
        sys.exit(f"the import answered {resp.status}: {text[:500]}")
    return name


def summarize(rows, seconds):
    latencies = [r[1] * 1000 for r in rows]
    return {
        "requests": len(rows),
        "per_second": round(len(rows) / seconds, 1) if seconds > 0 else None,
        "errors": sum(1 for r in rows if r[2] != 200),
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True, help="an admin API token (imports need the admin role)")
    ap.add_argument("--paths", required=True)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--before", type=float, default=5.0)
    ap.add_argument("--after", type=float, default=5.0)
    ap.add_argument("--imports", type=int, default=3)
    ap.add_argument("--name", default=f"after-import-{time.strftime('%Y-%m-%d')}")
    args = ap.parse_args()
    base = args.base_url.rstrip("/")
    paths = [line.split("\t")[0].strip() for line in open(args.paths) if line.strip()]

    samples, lock, stop = [], threading.Lock(), threading.Event()
    threads = [
        threading.Thread(target=load, args=(base, paths, stop, samples, lock), daemon=True)
        for _ in range(args.connections)
    ]
    began = time.monotonic()
    for t in threads:
        t.start()
    imports = []
    for _ in range(args.imports):
        time.sleep(args.before)
        started = time.monotonic()
        name = import_one(base, args.token)
        imports.append({"component": name, "started": started, "answered": time.monotonic()})
    time.sleep(args.after)
    stop.set()
    for t in threads:
        t.join()
    ended = time.monotonic()

    windows = []
    for i, imp in enumerate(imports):
        prev_end = imports[i - 1]["answered"] + 1.0 if i else began
        first = (imp["answered"], imp["answered"] + 1.0)
        later_end = imports[i + 1]["started"] if i + 1 < len(imports) else ended
        parts = {
            "before": (max(prev_end, imp["started"] - args.before), imp["started"]),
            "during_import": (imp["started"], imp["answered"]),
            "first_second_after": first,
            "later": (first[1], later_end),
        }
        windows.append(
            {
                "import_seconds": round(imp["answered"] - imp["started"], 3),
                **{
                    k: summarize([r for r in samples if lo <= r[0] < hi], hi - lo)
                    for k, (lo, hi) in parts.items()
                },
            }
        )
    result = {
        "name": args.name,
        "base_url": base,
        "paths": os.path.basename(args.paths),
        "distinct_paths": len(set(paths)),
        "connections": args.connections,
        "imports": windows,
        "target": "first second after an import: p99 < 200 ms",
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"{args.name}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"{'import':>6} {'window':<20} {'req':>6} {'req/s':>8} {'p50':>7} {'p99':>7} {'max':>7} {'err':>4}")
    for i, w in enumerate(windows, 1):
        for k in ("before", "during_import", "first_second_after", "later"):
            s = w[k]
            print(f"{i:>6} {k:<20} {s['requests']:>6} {s['per_second'] or 0:>8} {s['p50_ms'] or 0:>7} "
                  f"{s['p99_ms'] or 0:>7} {s['max_ms'] or 0:>7} {s['errors']:>4}")
        print(f"{'':>6} import took {w['import_seconds']} s")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
