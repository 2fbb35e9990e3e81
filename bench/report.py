#!/usr/bin/env python3
"""Helpers for bench/run.sh (stdlib only).

    report.py sample-rss --pid PID --out rss.jsonl [--interval 0.5]
        Appends one JSON line per interval with the process's VmRSS/VmHWM (from /proc/PID/status)
        and the summed RSS/PSS of the process and all its descendants (e.g. an embedded
        PostgreSQL), until PID exits or the sampler gets SIGTERM/SIGINT.

    report.py report --name NAME --out results/NAME.json --scenarios scenarios.tsv [...]
        Reads the load tool's raw output (oha JSON from `--output-format json` / `--json`, or
        wrk's text with --latency), the `/usr/bin/time -v` file of the import and the RSS
        samples, writes one JSON document and prints a table. It reports; it never fails on
        slow figures (targets are shown for information only).

scenarios.tsv columns: name, url, tool, raw output file, probe HTTP status, probe body bytes.
"""
import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import sys
import time

# Targets from bench/README.md: (minimum requests/s, maximum p99 ms). Information only.
TARGETS = {
    "entity_page": (1500, 25),
    "api_entity": (5000, 20),
    "bs_by_name": (5000, 20),
    "catalog_list": (1000, 50),
    "search_page": (1000, 50),
    "bs_by_query": (1000, 50),
    "bs_facets": (1000, 50),
    "api_search": (1000, 50),
}
IMPORT_TARGET_S = 10
SERVER_RSS_TARGET_MB = 150
DESCRIPTIONS = {
    "entity_page": "entity page (HTML)",
    "catalog_list": "catalog list page 3 (HTML)",
    "search_page": "search page (HTML)",
    "api_entity": "JSON entity by name",
    "bs_by_name": "Backstage by-name",
    "bs_by_query": "Backstage by-query limit 20",
    "bs_facets": "Backstage entity-facets",
    "api_search": "JSON entity search limit 20",
}


# ------------------------------------------------------------------ RSS sampling
def _status_kb(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return out


def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(pid):
    kids = _children_map()
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def _pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def sample_rss(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    t0 = time.monotonic()
    with open(args.out, "a") as out:
        while not stop:
            st = _status_kb(args.pid)
            if st is None:
                break
            tree = _tree(args.pid)
            tree_rss, tree_pss, pss_ok = 0, 0, True
            for p in tree:
                s = _status_kb(p)
                if s:
                    tree_rss += s.get("VmRSS", 0)
                pss = _pss_kb(p)
                if pss is None:
                    pss_ok = False
                else:
                    tree_pss += pss
            out.write(json.dumps({"t": round(time.monotonic() - t0, 2), "rss_kb": st.get("VmRSS"), "hwm_kb": st.get("VmHWM"),
                                  "tree_rss_kb": tree_rss, "tree_pss_kb": tree_pss if pss_ok else None,
                                  "procs": len(tree)}) + "\n")
            out.flush()
            deadline = time.monotonic() + args.interval
            while not stop and time.monotonic() < deadline:
                time.sleep(min(0.05, args.interval))
    return 0


# ------------------------------------------------------------------ parsing tool output
def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _get(d, *names):
    """First present key among names, case- and punctuation-insensitive."""
    if not isinstance(d, dict):
        return None
    norm = {re.sub(r"[^a-z0-9.]", "", str(k).lower()): v for k, v in d.items()}
    for n in names:
        v = norm.get(re.sub(r"[^a-z0-9.]", "", n.lower()))
        if v is not None:
            return v
    return None


def _is_deadline_abort(msg):
    m = msg.lower()
    return "deadline" in m or "aborted" in m


def parse_oha(path):
    with open(path) as f:
        text = f.read()
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in oha output")
    data = json.loads(text[start:])
    summary = _get(data, "summary") or {}
    pct = _get(data, "latencyPercentiles", "latency_percentiles", "percentiles") or {}
    codes = _get(data, "statusCodeDistribution", "status_code_distribution") or {}
    errs = _get(data, "errorDistribution", "error_distribution") or {}

    def ms(key):
        v = _num(_get(pct, key))
        return None if v is None else v * 1000.0  # oha reports seconds

    codes = {str(k): int(v) for k, v in codes.items()}
    responses = sum(codes.values())
    non_2xx = sum(v for k, v in codes.items() if not k.startswith(("2", "3")))
    aborted = sum(int(v) for k, v in errs.items() if _is_deadline_abort(str(k)))
    transport = sum(int(v) for k, v in errs.items() if not _is_deadline_abort(str(k)))
    rps = _num(_get(summary, "requestsPerSec", "requests_per_sec", "rps"))
    total = _num(_get(summary, "total", "totalTime", "total_time"))
    success_rps = responses / total if total else None
    slowest = _num(_get(summary, "slowest"))
    return {
        "requests_per_sec": rps,
        "responses_per_sec": success_rps,
        "p50_ms": ms("p50"), "p90_ms": ms("p90"), "p99_ms": ms("p99"), "p999_ms": ms("p99.9"),
        "max_ms": None if slowest is None else slowest * 1000.0,
        "responses": responses, "status_codes": codes,
        "non_2xx": non_2xx, "transport_errors": transport, "aborted_at_deadline": aborted,
        "errors": non_2xx + transport,
        "error_messages": {str(k): int(v) for k, v in errs.items()},
    }


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(v, unit):
    return float(v) * _UNIT_MS[unit]


def parse_wrk(path):
    with open(path) as f:
        text = f.read()
    out = {"status_codes": {}, "aborted_at_deadline": 0, "error_messages": {}}
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    out["requests_per_sec"] = float(m.group(1)) if m else None
    out["responses_per_sec"] = out["requests_per_sec"]
    for p, key in (("50", "p50_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s*{p}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
        out[key] = _wrk_ms(*m.groups()) if m else None
    out["p999_ms"] = None
    m = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)", text)
    out["max_ms"] = _wrk_ms(*m.groups()) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["responses"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["transport_errors"] = sum(int(x) for x in m.groups()) if m else 0
    if m:
        out["error_messages"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    out["errors"] = out["non_2xx"] + out["transport_errors"]
    return out


def parse_time_v(path):
    """GNU time -v output."""
    res = {}
    with open(path) as f:
        text = f.read()
    m = re.search(r"Elapsed \(wall clock\) time.*?:\s*([\d:.]+)\s*$", text, re.M)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        res["wall_seconds"] = round(secs, 3)
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    if m:
        res["peak_rss_mb"] = round(int(m.group(1)) / 1024, 1)
    for label, key in (("User time (seconds)", "user_seconds"), ("System time (seconds)", "system_seconds"),
                       ("Exit status", "exit_status"), ("Percent of CPU this job got", "cpu_percent")):
        m = re.search(re.escape(label) + r":\s*([\d.]+)", text)
        if m:
            res[key] = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
    if "Command exited with non-zero status" in text and "exit_status" not in res:
        res["exit_status"] = "non-zero"
    return res


def parse_rss(path):
    rows = []
    with open(path) as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    if not rows:
        return {"samples": 0}

    def mx(key):
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        return round(max(vals) / 1024, 1) if vals else None

    return {
        "samples": len(rows),
        "peak_rss_mb": mx("hwm_kb"),  # VmHWM: the kernel's high-water mark since the process started
        "max_sampled_rss_mb": mx("rss_kb"),
        "tree_max_rss_mb": mx("tree_rss_kb"),
        "tree_max_pss_mb": mx("tree_pss_kb"),
        "max_processes": max(r.get("procs", 1) for r in rows),
    }


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_total_mb"] = round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()
            if quota != "max":
                info["cgroup_cpus"] = round(int(quota) / int(period), 2)
    except (OSError, ValueError):
        pass
    return info


# ------------------------------------------------------------------ report
def _fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}"


def report(args):
    scenarios = {}
    with open(args.scenarios) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            name, url, tool, raw = parts[:4]
            probe_status = parts[4] if len(parts) > 4 else None
            probe_bytes = int(parts[5]) if len(parts) > 5 and parts[5].isdigit() else None
            entry = {"url": url, "description": DESCRIPTIONS.get(name), "probe_status": probe_status, "probe_bytes": probe_bytes}
            try:
                parsed = parse_wrk(raw) if tool == "wrk" or raw.endswith(".txt") else parse_oha(raw)
                entry.update(parsed)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                entry["parse_error"] = f"{type(e).__name__}: {e}"
            if name in TARGETS:
                rps_min, p99_max = TARGETS[name]
                entry["target"] = {"min_requests_per_sec": rps_min, "max_p99_ms": p99_max}
                rps, p99 = entry.get("requests_per_sec"), entry.get("p99_ms")
                if rps is not None and p99 is not None:
                    entry["meets_target"] = bool(rps >= rps_min and p99 < p99_max and not entry.get("errors"))
            for k, v in list(entry.items()):
                if isinstance(v, float):
                    entry[k] = round(v, 3)
            scenarios[name] = entry

    result = {
        "name": args.name,
        "timestamp": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "base_url": args.base_url,
        "tool": args.tool,
        "duration": args.duration,
        "connections": args.connections,
        "machine": machine_info(),
    }
    if args.binary and os.path.exists(args.binary):
        result["binary"] = {"path": args.binary, "size_mb": round(os.path.getsize(args.binary) / 1e6, 1)}
    if args.manifest:
        try:
            with open(args.manifest) as f:
                m = json.load(f)
            result["catalog"] = {k: m.get(k) for k in ("params", "counts", "depends_on_edges", "sample_component", "search_term")}
        except (OSError, ValueError) as e:
            result["catalog"] = {"error": str(e)}
    if args.import_time:
        try:
            result["import"] = parse_time_v(args.import_time)
            result["import"]["target_wall_seconds"] = IMPORT_TARGET_S
        except OSError as e:
            result["import"] = {"error": str(e)}
    server = {}
    if args.rss:
        try:
            server.update(parse_rss(args.rss))
        except OSError as e:
            server["error"] = str(e)
        server["target_peak_rss_mb"] = SERVER_RSS_TARGET_MB
    if args.shutdown_seconds is not None:
        server["shutdown_seconds"] = args.shutdown_seconds
        server["shutdown_exit"] = args.shutdown_exit
    if server:
        result["server"] = server
    result["scenarios"] = scenarios

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    # ---- table ----
    m = result["machine"]
    print(f"\nBearing benchmark {args.name}  ({result['timestamp']})")
    print(f"machine: {m.get('nproc')} CPUs, {m.get('cpu_model', '?')}, {m.get('mem_total_mb', '?')} MB RAM; "
          f"tool: {args.tool}; {args.connections} connections x {args.duration}")
    if "catalog" in result and "params" in (result["catalog"] or {}):
        p = result["catalog"]["params"]
        print(f"catalog: {p.get('components')} components, {p.get('edges')} dependsOn edges, {p.get('teams')} teams, "
              f"{p.get('systems')} systems; entity {result['catalog'].get('sample_component')}, "
              f"search '{result['catalog'].get('search_term')}'")
    header = ("scenario", "req/s", "p50 ms", "p99 ms", "errors", "status", "target", "")
    rows = []
    for name, e in scenarios.items():
        t = e.get("target")
        tgt = f">={t['min_requests_per_sec']:,}/s p99<{t['max_p99_ms']}" if t else ""
        mark = {True: "ok", False: "MISS"}.get(e.get("meets_target"), "")
        if "parse_error" in e:
            mark = "no data"
        rows.append((name, _fmt(e.get("requests_per_sec"), 0), _fmt(e.get("p50_ms"), 2), _fmt(e.get("p99_ms"), 2),
                     _fmt(e.get("errors")), str(e.get("probe_status") or "-"), tgt, mark))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if 0 < i < 6 else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    print()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print()
    imp = result.get("import")
    if imp:
        ok = "ok" if (imp.get("wall_seconds") or 1e9) < IMPORT_TARGET_S and imp.get("exit_status") in (0, None) else "MISS"
        print(f"import: {_fmt(imp.get('wall_seconds'), 2)} s wall, peak RSS {_fmt(imp.get('peak_rss_mb'))} MB, "
              f"exit {imp.get('exit_status', '?')}  (target < {IMPORT_TARGET_S} s: {ok})")
    if server:
        pk = server.get("peak_rss_mb")
        ok = "" if pk is None else ("ok" if pk < SERVER_RSS_TARGET_MB else "MISS")
        print(f"server: peak RSS {_fmt(pk)} MB (VmHWM), max sampled {_fmt(server.get('max_sampled_rss_mb'))} MB, "
              f"with children {_fmt(server.get('tree_max_rss_mb'))} MB RSS / {_fmt(server.get('tree_max_pss_mb'))} MB PSS"
              + (f"  (target < {SERVER_RSS_TARGET_MB} MB: {ok})" if ok else ""))
        if "shutdown_seconds" in server:
            print(f"shutdown: {server['shutdown_seconds']} s after SIGTERM, exit {server.get('shutdown_exit')}")
    print(f"\nwrote {args.out}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample-rss")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--interval", type=float, default=0.5)
    r = sub.add_parser("report")
    r.add_argument("--name", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--scenarios", required=True)
    r.add_argument("--base-url", default=None)
    r.add_argument("--tool", default=None)
    r.add_argument("--duration", default=None)
    r.add_argument("--connections", type=int, default=None)
    r.add_argument("--import-time", default=None)
    r.add_argument("--rss", default=None)
    r.add_argument("--manifest", default=None)
    r.add_argument("--binary", default=None)
    r.add_argument("--shutdown-seconds", type=float, default=None)
    r.add_argument("--shutdown-exit", type=int, default=None)
    args = ap.parse_args()
    return sample_rss(args) if args.cmd == "sample-rss" else report(args)


if __name__ == "__main__":
    sys.exit(main())
