#!/usr/bin/env python3
"""Several Bearing replicas on one PostgreSQL, behind nginx (issue 15). Writes figures and says
what it saw; asserts nothing (each scenario reports `met: true|false` against the issue's words).

    bench/replicas.py [--only SCENARIO[,SCENARIO...]] [--soak DURATION] [--name NAME] [--keep]

Starts everything under bench/data/replicas/ (fresh each run), as processes of its own:
  - PostgreSQL 15 (Debian's, run as the unprivileged user `bearing-pg`) on 127.0.0.1, set up as
    README "Running with least privilege" says: migrations as the superuser, the replicas serve
    as `bearing_server` (member of `bearing_app` only); loopback `trust` authentication (bench only);
  - kuma-sim with its built-in demo world (the demo catalog's services);
  - the development identity provider (devidp/, a real `oidc-provider`);
  - three `bearing serve` replicas on their own ports: the same database, the same audit signing
    key (one --data-dir), the same public URL (nginx's), json logs, Kuma poll interval 5 s, the
    per-address limits off (--auth-rate-limit 0, --token-failure-limit 0: behind a proxy every
    client has the proxy's address), everything else at its default;
  - nginx (Debian's package, run as `nobody`) in front: round robin, keepalive to the upstreams,
    `proxy_next_upstream error timeout http_502 http_503 http_504` (so GETs are retried on another
    replica, POSTs and PATCHes already sent never are), `limit_req` on /auth/ (60 a minute per
    client), an access log with the upstream(s) tried.
Then migrates, imports the demo catalog (examples/) and creates API tokens (`bearing token create`).

Scenarios (default: all but soak; `--soak 10m` adds the soak, `--only soak --soak 10m` runs it alone):
  sessions    sign in through replica 1, finish the callback on replica 2, use the cookie on every
              replica and through nginx; log out on replica 3: the cookie is refused everywhere
  coherence   an edit (PATCH) through one replica, then how long until the other two show it in the
              JSON entity, the full-text search API and the rendered (page-cached) entity and search
              pages, all warmed with the old answer first; an import through one replica, seen on
              the others; a mesh change in kuma-sim, seen on every replica's /mesh page
  kill        wrk (GET mix, API token) and a POST writer (OpenLineage events) through nginx; kill -9
              the replica holding the Kuma poll lease: failed requests (wrk by status and socket
              error, the writer, nginx's log) against those in flight on it; how long until another
              replica holds the lease (mesh_poll_leases), against two poll intervals
  pg-restart  writers through nginx (lineage events, PATCH edits, imports: every acknowledged write
              recorded), /readyz of every replica polled every 100 ms; PostgreSQL stopped (-m fast,
              or --pg-stop-mode immediate), down --pg-down (3 s), started; then: is every
              acknowledged write in the database, what did /readyz answer while it was away, how
              long after PostgreSQL was back until each replica was ready (without a restart)
  idp-down    sign in, stop the identity provider: the session keeps working on every replica; a new
              sign-in on every replica gets Bearing's message (or not); the provider back: time until
              sign-in works again
  shutdown    SIGTERM to a replica serving an import of 2,000 components, lineage batches and wrk, all
              sent to it directly: do the requests in flight complete; then a rolling restart (SIGTERM,
              start again, one replica after the other) under load through nginx: failed requests
  soak        DURATION of mixed load through nginx (wrk GET mix, lineage events, edits, an import a
              minute, a mesh change a minute in kuma-sim, which the replicas poll): RSS of each replica
              every 10 s, growth after the warm-up, ERROR and panic lines in the logs

Results: bench/results/NAME.json (NAME defaults to replicas-<date>-<sha>, or -soak); logs, nginx's
access log and wrk output under bench/data/replicas/. Needs: root (runuser for PostgreSQL and
nginx), nginx and wrk (apt), node with devidp/node_modules (cd devidp && npm ci), release builds
of `bearing` (cargo leptos build --release) and kuma-sim (cargo build --release -p kuma-sim).

Environment: BEARING_BIN, KUMA_SIM_BIN (default $CARGO_TARGET_DIR or target/, then release/...),
BEARING_SITE_ROOT (default the site next to the binary's target dir), PG_BIN
(/usr/lib/postgresql/15/bin), REPLICAS_POLL_INTERVAL (Kuma poll interval, 5s), REPLICAS_BASE_PORT
(3420: replicas on +1..+3, nginx +70, kuma-sim +80, devidp +90, PostgreSQL +100).
"""
import argparse
import datetime as dt
import email.message
import http.client as httpclient
import json
import os
import platform
import pwd
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUN = os.path.join(HERE, "data", "replicas")

BASE = int(os.environ.get("REPLICAS_BASE_PORT", "3420"))
REPLICA_PORTS = [BASE + 1, BASE + 2, BASE + 3]
NGINX_PORT = BASE + 70
SIM_PORT = BASE + 80
IDP_PORT = BASE + 90
PG_PORT = BASE + 100
PUBLIC = f"http://127.0.0.1:{NGINX_PORT}"
IDP = f"http://127.0.0.1:{IDP_PORT}"
SIM = f"http://127.0.0.1:{SIM_PORT}"
POLL_INTERVAL = os.environ.get("REPLICAS_POLL_INTERVAL", "5s")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
IS_ROOT = os.geteuid() == 0


def log(msg):
    print(f"\033[1m[replicas]\033[0m {msg}", file=sys.stderr, flush=True)


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise SystemExit(f"bad duration {text!r} (e.g. 600s, 10m)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


# ------------------------------------------------------------------ HTTP (stdlib, one connection each)
class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def cookie(self, name):
        for c in self.headers.get_all("set-cookie") or []:
            pair = c.split(";", 1)[0]
            k, _, v = pair.partition("=")
            if k.strip() == name:
                return v.strip()
        return None


def http(method, url, body=None, headers=None, timeout=10):
    u = urllib.parse.urlsplit(url)
    conn = httpclient.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.headers, data)
    finally:
        conn.close()


def try_http(method, url, **kw):
    """(Resp or None, error text or None)."""
    try:
        return http(method, url, **kw), None
    except Exception as e:  # noqa: BLE001 - every failure is a figure here
        return None, type(e).__name__ + (f": {e}" if str(e) else "")


def bearer(token, extra=None):
    h = {"authorization": f"Bearer {token}"}
    h.update(extra or {})
    return h


# ------------------------------------------------------------------ processes
class Env:
    """Everything this run started, and how to reach it."""

    def __init__(self, args):
        self.args = args
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
        self.bin = os.environ.get("BEARING_BIN") or os.path.join(target, "release", "bearing")
        self.sim_bin = os.environ.get("KUMA_SIM_BIN") or os.path.join(target, "release", "kuma-sim")
        self.site = os.environ.get("BEARING_SITE_ROOT") or next(
            (p for p in (os.path.join(target, "site"), os.path.join(ROOT, "target", "site"))
             if os.path.isdir(os.path.join(p, "pkg"))), os.path.join(target, "site"))
        self.replicas = [None, None, None]  # Popen per replica
        self.others = {}  # name -> Popen (kuma-sim, devidp, nginx)
        self.tokens = {}
        self.pg_data = os.path.join(RUN, "pg", "data")
        self.shared = os.path.join(RUN, "shared")
        self.log_dir = os.path.join(RUN, "logs")
        self.restarts = [0, 0, 0]
        self.extra_env = {}  # --serve-env

    # -------------------------------------------------------------- PostgreSQL
    def as_pg(self, argv, **kw):
        cmd = (["runuser", "-u", "bearing-pg", "--"] if IS_ROOT else []) + argv
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)

    def pg_start(self):
        self.as_pg([f"{PG_BIN}/pg_ctl", "-D", self.pg_data, "-l", os.path.join(RUN, "pg", "pg.log"), "-w", "start",
                    "-o", f"-c listen_addresses=127.0.0.1 -p {PG_PORT} -k {os.path.join(RUN, 'pg')} "
                          "-c max_connections=200 -c shared_buffers=128MB"])

    def pg_stop(self, mode="fast"):
        self.as_pg([f"{PG_BIN}/pg_ctl", "-D", self.pg_data, "-m", mode, "-w", "stop"])

    def psql(self, sql, db="bearing"):
        out = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-At", "-F", "\t", "-h", "127.0.0.1", "-p", str(PG_PORT),
                              "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-f", "-"], input=sql,
                             capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "3"})
        if out.returncode != 0:
            raise subprocess.CalledProcessError(out.returncode, f"psql -c {sql[:200]!r}", out.stdout, out.stderr)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def existing(self, ids, query):
        """The ids (of `ids`) that `query` finds: `query` selects from the temporary table `ids (id text)`."""
        if not ids:
            return set()
        script = "CREATE TEMP TABLE ids (id text);\nCOPY ids FROM STDIN;\n" + "\n".join(ids) + "\n\\.\n" + query + ";\n"
        return {r[0] for r in self.psql(script)}

    def setup_pg(self):
        if IS_ROOT and subprocess.run(["id", "bearing-pg"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "bearing-pg"],
                           check=True)
        os.makedirs(os.path.join(RUN, "pg"))
        if IS_ROOT:
            shutil.chown(os.path.join(RUN, "pg"), "bearing-pg")
        self.as_pg([f"{PG_BIN}/initdb", "-D", self.pg_data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8"])
        self.pg_start()
        self.psql("CREATE DATABASE bearing", db="postgres")
        self.psql("CREATE ROLE bearing_app NOLOGIN; "
                  "CREATE ROLE bearing_server LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION; "
                  "GRANT bearing_app TO bearing_server")

    def db_urls(self):
        return (f"postgres://bearing_server@127.0.0.1:{PG_PORT}/bearing",
                f"postgres://postgres@127.0.0.1:{PG_PORT}/bearing")

    # -------------------------------------------------------------- bearing
    def bearing_env(self):
        serve, owner = self.db_urls()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEARING_") and k != "DATABASE_URL"}
        env.update({
            "BEARING_DATABASE_URL": serve,
            "BEARING_MIGRATION_DATABASE_URL": owner,
            "BEARING_DATA_DIR": self.shared,
            "BEARING_LOG_FORMAT": "json",
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        })
        return env

    def cli(self, *argv):
        out = subprocess.run([self.bin, *argv], cwd=ROOT, env=self.bearing_env(), capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"bearing {' '.join(argv)} failed:\n{out.stderr[-3000:]}")
        return out.stdout.strip()

    def replica_env(self, i):
        env = self.bearing_env()
        env.update({
            "BEARING_LISTEN": f"127.0.0.1:{REPLICA_PORTS[i]}",
            "BEARING_SITE_ROOT": self.site,
            "BEARING_PUBLIC_URL": PUBLIC,
            "BEARING_OIDC_ISSUER": IDP,
            "BEARING_OIDC_CLIENT_ID": "bearing-dev",
            "BEARING_OIDC_CLIENT_SECRET": "bearing-dev-secret",
            "BEARING_DEV_USERS": "devidp/users.json",
            "BEARING_ROLE_MAPPING_FILE": "devidp/role-mappings.toml",
            "BEARING_KUMA_URL": SIM,
            "BEARING_KUMA_POLL_INTERVAL": POLL_INTERVAL,
            "BEARING_POLICY_TEMPLATES": "policy-templates",
            "BEARING_SCORECARDS": "scorecards",
            # Every client reaches the replicas from nginx's address: the per-address limits
            # would throttle everyone at once; nginx limits sign-ins instead (see nginx_conf).
            "BEARING_AUTH_RATE_LIMIT": "0",
            "BEARING_TOKEN_FAILURE_LIMIT": "0",
        })
        env.update(self.extra_env)
        return env

    def replica_log(self, i):
        return os.path.join(self.log_dir, f"replica-{i + 1}.log")

    def start_replica(self, i):
        f = open(self.replica_log(i), "a")
        f.write(json.dumps({"bench": f"start {dt.datetime.now().isoformat()}"}) + "\n")
        f.flush()
        self.replicas[i] = subprocess.Popen([self.bin, "serve"], cwd=ROOT, env=self.replica_env(i), stdout=f,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self.replicas[i]

    def replica_url(self, i):
        return f"http://127.0.0.1:{REPLICA_PORTS[i]}"

    def wait_ready(self, url, timeout=120, proc=None):
        t0 = time.time()
        while time.time() - t0 < timeout:
            r, _ = try_http("GET", f"{url}/readyz", timeout=3)
            if r and r.status == 200:
                return time.time() - t0
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"{url}: the process exited ({proc.returncode}); see {self.log_dir}")
            time.sleep(0.1)
        raise SystemExit(f"{url} not ready after {timeout}s")

    def restart_replica(self, i):
        self.start_replica(i)
        self.restarts[i] += 1
        return self.wait_ready(self.replica_url(i), proc=self.replicas[i])

    def stop_process(self, p, sig=signal.SIGTERM, timeout=30):
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    # -------------------------------------------------------------- kuma-sim, devidp, nginx
    def start_sim(self):
        f = open(os.path.join(self.log_dir, "kuma-sim.log"), "a")
        self.others["kuma-sim"] = subprocess.Popen([self.sim_bin, "--listen", f"127.0.0.1:{SIM_PORT}"], stdout=f,
                                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_http(f"{SIM}/", "kuma-sim")

    def start_idp(self):
        f = open(os.path.join(self.log_dir, "devidp.log"), "a")
        env = dict(os.environ, DEVIDP_ISSUER=IDP, DEVIDP_REDIRECT_URIS=f"{PUBLIC}/auth/callback",
                   DEVIDP_POST_LOGOUT_REDIRECT_URIS=f"{PUBLIC}/", DEVIDP_PRODUCER_AUDIENCE=PUBLIC)
        self.others["devidp"] = subprocess.Popen(["node", os.path.join(ROOT, "devidp", "server.mjs")], env=env,
                                                 stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_http(f"{IDP}/.well-known/openid-configuration", "devidp")

    def stop_idp(self):
        return self.stop_process(self.others.pop("devidp", None))

    def wait_http(self, url, what, timeout=60):
        t0 = time.time()
        while time.time() - t0 < timeout:
            r, _ = try_http("GET", url, timeout=2)
            if r is not None:
                return
            time.sleep(0.2)
        raise SystemExit(f"{what} did not answer at {url}")

    def nginx_conf(self):
        d = os.path.join(RUN, "nginx")
        upstreams = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in REPLICA_PORTS)
        proxy = """            proxy_pass http://bearing;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_connect_timeout 1s;
            proxy_read_timeout 60s;
            # GETs (idempotent) go to the next replica when one fails or is gone; a POST or PATCH
            # already sent is never repeated (no `non_idempotent`).
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 15s;"""
        return f"""# Written by bench/replicas.py.
worker_processes 1;
pid {d}/nginx.pid;
daemon off;
events {{ worker_connections 4096; }}
http {{
    log_format bench '$msec $request_method "$request_uri" $status "$upstream_addr" "$upstream_status" $request_time';
    access_log {d}/access.log bench;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    client_max_body_size 20m;
    upstream bearing {{
{upstreams}
        keepalive 32;
    }}
    # Behind a proxy every client has the proxy's address, so the replicas' own per-address
    # limits are off (--auth-rate-limit 0, --token-failure-limit 0) and sign-ins are limited here.
    limit_req_zone $binary_remote_addr zone=signin:1m rate=60r/m;
    limit_req_status 429;
    server {{
        listen 127.0.0.1:{NGINX_PORT};
        location / {{
{proxy}
        }}
        location /auth/ {{
            limit_req zone=signin burst=30 nodelay;
{proxy}
        }}
    }}
}}
"""

    def start_nginx(self):
        d = os.path.join(RUN, "nginx")
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.nginx_conf())
        argv = ["nginx", "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]
        if IS_ROOT:
            # Unprivileged: nginx runs as nobody (high port, files in its own directory).
            subprocess.run(["chown", "-R", "nobody", d], check=True)
            argv = ["runuser", "-u", "nobody", "--"] + argv
        f = open(os.path.join(self.log_dir, "nginx.out"), "a")
        self.others["nginx"] = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(PUBLIC, timeout=30)

    def nginx_lines(self, since, until):
        """Access-log entries with `since <= msec <= until`."""
        out = []
        path = os.path.join(RUN, "nginx", "access.log")
        pat = re.compile(r'^(\S+) (\S+) "([^"]*)" (\d+) "([^"]*)" "([^"]*)" (\S+)$')
        with open(path) as f:
            for line in f:
                m = pat.match(line.strip())
                if not m:
                    continue
                t = float(m.group(1))
                if since <= t <= until:
                    out.append({"t": t, "method": m.group(2), "uri": m.group(3), "status": int(m.group(4)),
                                "upstreams": [u.strip() for u in re.split(r"[,:] (?=\d)", m.group(5))],
                                "upstream_addr": m.group(5), "upstream_status": m.group(6)})
        return out

    # -------------------------------------------------------------- everything
    def setup(self):
        for p in (self.bin, self.sim_bin):
            if not os.access(p, os.X_OK):
                raise SystemExit(f"missing {p}: build first (cargo leptos build --release; cargo build --release -p kuma-sim)")
        if not os.path.isdir(os.path.join(self.site, "pkg")):
            raise SystemExit(f"no built site at {self.site} (set BEARING_SITE_ROOT)")
        for tool in ("nginx", "wrk", "node"):
            if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
                raise SystemExit(f"{tool} not found (apt-get install -y nginx wrk nodejs)")
        for p in REPLICA_PORTS + [NGINX_PORT, SIM_PORT, IDP_PORT, PG_PORT]:
            r, _ = try_http("GET", f"http://127.0.0.1:{p}/", timeout=1)
            if r is not None:
                raise SystemExit(f"something already answers on port {p} (set REPLICAS_BASE_PORT)")
        if os.path.exists(RUN):
            shutil.rmtree(RUN)
        os.makedirs(self.log_dir)
        os.makedirs(self.shared, mode=0o700)
        log(f"PostgreSQL on 127.0.0.1:{PG_PORT}")
        self.setup_pg()
        log("migrating, importing examples/, creating tokens")
        self.cli("migrate")
        self.cli("import", "examples")
        self.tokens["admin"] = self.cli("token", "create", "--name", "bench-admin", "--role", "admin")
        self.tokens["viewer"] = self.cli("token", "create", "--name", "bench-viewer", "--role", "viewer")
        self.tokens["producer"] = self.cli("token", "create", "--name", "luigi-orders", "--role", "producer",
                                           "--scope", "component:default/orders-etl")
        log(f"kuma-sim on {SIM}, devidp on {IDP}")
        self.start_sim()
        self.start_idp()
        for i in range(3):
            self.start_replica(i)
            # The first one alone: it applies nothing (migrated above) but is the first to poll.
            if i == 0:
                self.wait_ready(self.replica_url(0), proc=self.replicas[0])
        for i in range(3):
            took = self.wait_ready(self.replica_url(i), proc=self.replicas[i])
            log(f"replica {i + 1} ready on {self.replica_url(i)} ({took:.1f}s)")
        self.start_nginx()
        log(f"nginx on {PUBLIC}")
        # The first poll and the page data the load mixes use.
        deadline = time.time() + 60
        while time.time() < deadline and not self.psql("SELECT 1 FROM mesh_control_planes WHERE last_success_at IS NOT NULL"):
            time.sleep(0.5)
        items = http("GET", f"{PUBLIC}/api/v1/entities?kind=component&limit=200",
                     headers=bearer(self.tokens["viewer"])).json()["items"]
        self.components = sorted(e["name"] for e in items)
        self.write_paths()

    def write_paths(self):
        paths = []
        for c in self.components:
            paths += [f"/catalog/component/default/{c}", f"/api/v1/entities/component/default/{c}",
                      f"/api/catalog/entities/by-name/component/default/{c}"]
        paths += ["/", "/catalog?kind=component", "/search?q=order", "/search?q=payment", "/mesh",
                  "/api/v1/entities?kind=component&q=order", "/api/v1/mesh/services",
                  "/api/catalog/entity-facets?facet=spec.type", "/catalog/group/default/team-checkout"]
        self.paths_file = os.path.join(RUN, "paths.txt")
        with open(self.paths_file, "w") as f:
            f.write("\n".join(paths) + "\n")

    def replica_of_holder(self, holder):
        if not holder:
            return None
        pid = holder.split("-", 1)[0]
        for i, p in enumerate(self.replicas):
            if p is not None and str(p.pid) == pid:
                return i
        return None

    def lease_holder(self):
        rows = self.psql("SELECT holder FROM mesh_poll_leases WHERE expires_at > now()")
        return rows[0][0] if rows else None

    def teardown(self):
        for i, p in enumerate(self.replicas):
            self.stop_process(p)
        for name in ("nginx", "devidp", "kuma-sim"):
            p = self.others.pop(name, None)
            if name == "nginx" and p is not None and p.poll() is None:
                # runuser may not forward signals: stop nginx itself by its pid file.
                try:
                    with open(os.path.join(RUN, "nginx", "nginx.pid")) as f:
                        os.kill(int(f.read().strip()), signal.SIGQUIT)
                except (OSError, ValueError):
                    pass
            self.stop_process(p)
        if os.path.exists(os.path.join(self.pg_data, "postmaster.pid")):
            try:
                self.pg_stop()
            except subprocess.CalledProcessError:
                pass

    def log_errors(self, i, offset=0):
        """ERROR and panic lines of replica i's log after byte `offset`."""
        found = []
        with open(self.replica_log(i), "rb") as f:
            f.seek(offset)
            for raw in f:
                line = raw.decode("utf-8", "replace")
                if '"level":"ERROR"' in line or "panicked" in line:
                    found.append(line.strip()[:400])
        return found

    def log_size(self, i):
        return os.path.getsize(self.replica_log(i))


# ------------------------------------------------------------------ load: wrk and writers
class Wrk:
    """wrk in the background with bench/replicas.lua; results parsed when it ends."""

    def __init__(self, env, url, duration, connections, token, name):
        self.out = os.path.join(RUN, f"wrk-{name}.txt")
        threads = min(2, connections)
        argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s", "--timeout", "10s",
                "--latency", "-s", os.path.join(HERE, "replicas.lua"), "-H", f"Authorization: Bearer {token}", url]
        self.f = open(self.out, "w")
        self.p = subprocess.Popen(argv, stdout=self.f, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, BENCH_PATHS=env.paths_file))

    def result(self):
        self.p.wait()
        self.f.close()
        text = open(self.out).read()
        r = {"raw": os.path.relpath(self.out, ROOT)}
        m = re.search(r"(\d+) requests in", text)
        r["requests"] = int(m.group(1)) if m else None
        m = re.search(r"Requests/sec:\s+([\d.]+)", text)
        r["requests_per_s"] = float(m.group(1)) if m else None
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        r["non_2xx_3xx"] = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m else \
            {"connect": 0, "read": 0, "write": 0, "timeout": 0}
        m = re.search(r"STATUSES (\{.*\})", text)
        r["statuses"] = json.loads(m.group(1)) if m else None
        for p in ("50", "99"):
            m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
            if m:
                r[f"p{p}_ms"] = round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)
        r["failed"] = r["non_2xx_3xx"] + sum(r["socket_errors"].values())
        return r


def lineage_event(run_id, event_type="START"):
    return {"eventType": event_type, "eventTime": dt.datetime.now(dt.timezone.utc).isoformat(),
            "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id}, "job": {"namespace": "luigi", "name": "Extract"}}


def component_yaml(name, description):
    return (f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
            f"  description: {description}\nspec:\n  type: service\n  lifecycle: experimental\n"
            f"  owner: group:default/team-checkout\n")


class Writer(threading.Thread):
    """Sends one kind of write in a loop through `base` until stopped; records every attempt:
    (sent at, done at, status or error, id) so acknowledged writes can be checked afterwards."""

    def __init__(self, env, base, kind, pause=0.0, components=None):
        super().__init__(daemon=True)
        self.env, self.base, self.kind, self.pause = env, base, kind, pause
        self.components = components or []
        self.stop = threading.Event()
        self.attempts = []
        self.n = 0

    def one(self):
        self.n += 1
        tag = f"{self.kind}-{uuid.uuid4().hex[:12]}"
        if self.kind == "lineage":
            run_id = str(uuid.uuid4())
            body = json.dumps(lineage_event(run_id))
            r, err = try_http("POST", f"{self.base}/api/v1/lineage", body=body, timeout=30,
                              headers=bearer(self.env.tokens["producer"], {"content-type": "application/json"}))
            return run_id, r, err
        if self.kind == "edit":
            name = self.components[self.n % len(self.components)]
            body = json.dumps({"description": f"edited {tag}", "reason": tag})
            r, err = try_http("PATCH", f"{self.base}/api/v1/entities/component/default/{name}", body=body, timeout=30,
                              headers=bearer(self.env.tokens["admin"], {"content-type": "application/json"}))
            return (name, tag), r, err
        if self.kind == "import":
            name = f"imp-{tag[7:]}"
            r, err = try_http("POST", f"{self.base}/api/v1/import?source=bench-{name}",
                              body=component_yaml(name, f"imported {tag}"), timeout=30,
                              headers=bearer(self.env.tokens["admin"], {"content-type": "application/yaml"}))
            return name, r, err
        raise ValueError(self.kind)

    def run(self):
        while not self.stop.is_set():
            t0 = time.time()
            ident, r, err = self.one()
            self.attempts.append({"sent": t0, "done": time.time(), "id": ident,
                                  "status": r.status if r else None, "error": err,
                                  "detail": (r.text()[:200] if r is not None and r.status >= 300 else None)})
            if self.pause:
                self.stop.wait(self.pause)

    def acked(self):
        return [a for a in self.attempts if a["status"] is not None and 200 <= a["status"] < 300]

    def summary(self):
        failed = [a for a in self.attempts if not (a["status"] and 200 <= a["status"] < 300)]
        by = {}
        for a in failed:
            k = str(a["status"]) if a["status"] else (a["error"] or "?").split(":")[0]
            by[k] = by.get(k, 0) + 1
        return {"attempts": len(self.attempts), "acknowledged": len(self.acked()), "failed": len(failed),
                "failed_by": by}


# ------------------------------------------------------------------ sign-in through the dev provider
def sign_in(login, start_base, callback_base=None, return_to="/catalog"):
    """The real OIDC flow, by hand: `/auth/login` on `start_base`, the provider's login form, the
    callback on `callback_base`. Returns (session cookie or None, what happened)."""
    callback_base = callback_base or start_base
    r = http("GET", f"{start_base}/auth/login?return_to={urllib.parse.quote(return_to)}")
    loc = r.headers.get("location", "")
    if r.status != 303 or not loc.startswith(IDP):
        return None, {"login_status": r.status, "location": loc}
    pre = r.cookie("bearing")
    jar, url, form = {}, loc, None
    callback = None
    for _ in range(12):
        h = {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        if form:
            h["content-type"] = "application/x-www-form-urlencoded"
            r = http("POST", url, body=urllib.parse.urlencode(form), headers=h)
            form = None
        else:
            r = http("GET", url, headers=h)
        for c in r.headers.get_all("set-cookie") or []:
            k, _, v = c.split(";", 1)[0].partition("=")
            jar[k.strip()] = v.strip()
        loc = r.headers.get("location")
        if loc:
            if loc.startswith(PUBLIC):
                callback = loc[len(PUBLIC):]
                break
            url = IDP + loc if loc.startswith("/") else loc
            continue
        if "Sign in as" not in r.text():
            return None, {"provider_page": r.text()[:300]}
        form = {"login": login, "mode": "pick"}
    if callback is None:
        return None, {"error": "the provider never redirected back"}
    r = http("GET", f"{callback_base}{callback}", headers={"cookie": f"bearing={pre}"})
    session = r.cookie("bearing")
    return (session if r.status == 303 and session else None), {"callback_status": r.status,
                                                                 "callback_location": r.headers.get("location")}


def with_session(cookie, extra=None):
    h = {"cookie": f"bearing={cookie}"}
    h.update(extra or {})
    return h


# ------------------------------------------------------------------ scenarios
def scenario_sessions(env):
    bases = [env.replica_url(i) for i in range(3)] + [PUBLIC]
    names = ["replica 1", "replica 2", "replica 3", "nginx"]
    session, how = sign_in("priya-raman", env.replica_url(0), env.replica_url(1))
    out = {"sign_in": "started on replica 1, callback completed on replica 2", "signed_in": session is not None,
           "details": how}
    if not session:
        out["met"] = False
        return out
    me = {}
    pages = {}
    for n, b in zip(names, bases):
        r = http("GET", f"{b}/api/v1/me", headers=with_session(session))
        me[n] = {"status": r.status, "email": r.json().get("email") if r.status == 200 else None,
                 "roles": r.json().get("roles") if r.status == 200 else None}
        r = http("GET", f"{b}/catalog", headers=with_session(session))
        pages[n] = {"status": r.status, "shows_the_person": "Priya" in r.text()}
    # A state change from a foreign origin with the cookie: refused by every replica alike.
    cross = {}
    for n, b in zip(names, bases):
        r = http("POST", f"{b}/auth/logout", headers=with_session(session, {"origin": "http://evil.example"}))
        cross[n] = r.status
    r = http("POST", f"{env.replica_url(2)}/auth/logout", headers=with_session(session, {"origin": PUBLIC}))
    logout = {"status": r.status, "location": (r.headers.get("location") or "").split("?")[0]}
    after = {}
    for n, b in zip(names, bases):
        after[n] = http("GET", f"{b}/api/v1/me", headers=with_session(session)).status
    out.update({"me": me, "catalog_page": pages, "cross_origin_logout_refused": cross,
                "logout_on_replica_3": logout, "me_after_logout": after})
    out["met"] = (all(v["status"] == 200 and v["email"] == "priya.raman@acme-retail.example" for v in me.values())
                  and all(v["status"] == 200 for v in pages.values())
                  and all(s == 403 for s in cross.values()) and logout["status"] == 303
                  and all(s == 401 for s in after.values()))
    return out


def wait_until(check, timeout, step=0.002):
    """Seconds until check() is true (None if not within timeout)."""
    t0 = time.time()
    while True:
        if check():
            return time.time() - t0
        if time.time() - t0 > timeout:
            return None
        time.sleep(step)


def scenario_coherence(env, rounds=12, bound=1.0):
    token = env.tokens["admin"]
    h = bearer(token)
    targets = [c for c in env.components if c not in ("orders-etl",)][:6]
    results = []
    for k in range(rounds):
        writer = k % 3
        readers = [i for i in range(3) if i != writer]
        name = targets[k % len(targets)]
        word = f"zq{uuid.uuid4().hex[:10]}"
        entity = f"/api/v1/entities/component/default/{name}"
        search = f"/api/v1/entities?kind=component&q={word}"
        page = f"/catalog/component/default/{name}"
        search_page = f"/search?q={word}"
        # Warm every replica's caches with the answer before the change (the search for the new
        # word cached empty, the page cached with the old description).
        for i in range(3):
            b = env.replica_url(i)
            for p in (entity, search, page, search_page):
                http("GET", b + p, headers=h)
        r = http("PATCH", env.replica_url(writer) + entity, headers=bearer(token, {"content-type": "application/json"}),
                 body=json.dumps({"description": f"coherence {word}", "reason": f"bench coherence {k}"}))
        if r.status != 200:
            results.append({"round": k, "error": f"PATCH answered {r.status}: {r.text()[:200]}"})
            continue
        acked = time.time()
        seen = {}
        lock = threading.Lock()

        def watch(i, what, path, test):
            t = wait_until(lambda: test(http("GET", env.replica_url(i) + path, headers=h)), timeout=bound * 5)
            with lock:
                seen[f"replica {i + 1} {what}"] = None if t is None else (time.time() - acked if t is not None else None)

        checks = [("entity", entity, lambda r: r.status == 200 and word in r.text()),
                  ("search API", search, lambda r: r.status == 200 and name in r.text()),
                  ("entity page", page, lambda r: r.status == 200 and word in r.text()),
                  ("search page", search_page, lambda r: r.status == 200 and f"/catalog/component/default/{name}" in r.text())]
        threads = [threading.Thread(target=watch, args=(i, w, p, t)) for i in readers for (w, p, t) in checks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results.append({"round": k, "written_on": f"replica {writer + 1}", "entity": name,
                        "seen_after_ms": {key: ms(v) for key, v in sorted(seen.items())}})
    lat = [v for r in results for v in (r.get("seen_after_ms") or {}).values() if v is not None]
    missing = sum(1 for r in results for v in (r.get("seen_after_ms") or {}).values() if v is None)
    errors = [r for r in results if "error" in r]

    # An import through one replica: the new entity on the other two (by name, search, its page).
    name = f"coh-{uuid.uuid4().hex[:8]}"
    r = http("POST", f"{env.replica_url(0)}/api/v1/import?source=bench-{name}", body=component_yaml(name, "coherence import"),
             headers=bearer(token, {"content-type": "application/yaml"}))
    acked = time.time()
    imp = {"status": r.status}
    for i in (1, 2):
        t = wait_until(lambda: http("GET", f"{env.replica_url(i)}/api/v1/entities/component/default/{name}",
                                    headers=h).status == 200, timeout=bound * 5)
        imp[f"replica {i + 1}"] = ms(None if t is None else time.time() - acked) if t is not None else None

    # A mesh change (a proxy goes offline in kuma-sim): the lease holder polls it; every replica's
    # /mesh page (page-cached) shows it. Figure: when each replica first showed it, after the first.
    mesh = scenario_mesh_change(env)
    out = {"rounds": rounds, "bound_ms": bound * 1000,
           "what": "PATCH a description with a new word through one replica; poll the other two every ~2 ms "
                   "(JSON entity, full-text search API, entity page, search page: all warmed with the old answer)",
           "visible_after_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat) if lat else None,
                                "observations": len(lat), "never_within_5x_bound": missing},
           "import": imp, "mesh": mesh, "rounds_detail": results, "errors": errors}
    out["met"] = (not errors and missing == 0 and lat and max(lat) <= bound * 1000
                  and imp["status"] == 200 and all(imp.get(f"replica {i}") is not None and imp[f"replica {i}"] <= bound * 1000
                                                   for i in (2, 3))
                  and mesh.get("all_replicas_saw_it", False))
    return out


def mesh_online(text, mesh):
    """The "Proxies online" count of `mesh` on a /mesh page."""
    m = re.search(r'data-test-mesh="%s".*?data-test-mesh-proxies[^>]*>\s*(\d+) / (\d+)' % re.escape(mesh), text, re.S)
    return int(m.group(1)) if m else None


def scenario_mesh_change(env):
    """A proxy goes offline in kuma-sim; the lease holder's next poll writes it; each replica's
    /mesh page (page-cached, warmed before) must show one proxy fewer online."""
    h = bearer(env.tokens["viewer"])
    world = http("GET", f"{SIM}/_sim/world").json()
    online = [p for p in world["proxies"] if str(p.get("state", "")).lower() == "online"]
    if not online:
        return {"skipped": "no online proxy in the kuma-sim world", "all_replicas_saw_it": False}
    proxy = online[0]
    mesh_name, proxy_name = proxy["mesh"], proxy["name"]
    before = {}
    for i in range(3):
        before[i] = mesh_online(http("GET", f"{env.replica_url(i)}/mesh", headers=h).text(), mesh_name)
    if None in before.values() or len(set(before.values())) != 1:
        return {"skipped": f"the /mesh pages disagree or show no count before the change: {before}",
                "all_replicas_saw_it": False}
    r = http("POST", f"{SIM}/_sim/proxies/{mesh_name}/{proxy_name}/offline")
    changed_at = time.time()
    seen = {}
    lock = threading.Lock()

    def watch(i):
        t = wait_until(lambda: mesh_online(http("GET", f"{env.replica_url(i)}/mesh", headers=h).text(), mesh_name)
                       == before[i] - 1, timeout=4 * parse_duration(POLL_INTERVAL) + 5, step=0.005)
        with lock:
            seen[i] = None if t is None else time.time()

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    http("POST", f"{SIM}/_sim/proxies/{mesh_name}/{proxy_name}/online")
    got = [t for t in seen.values() if t is not None]
    return {"proxy": f"{mesh_name}/{proxy_name}", "sim_status": r.status, "online_before": before[0],
            "seen_after_change_s": {f"replica {i + 1}": (None if seen[i] is None else round(seen[i] - changed_at, 3))
                                    for i in range(3)},
            "spread_between_replicas_ms": ms(max(got) - min(got)) if len(got) == 3 else None,
            "all_replicas_saw_it": len(got) == 3,
            "note": "the first sighting waits for the lease holder's next poll; the spread between replicas is "
                    "what coherence costs (pages polled every ~5 ms)"}


class LeaseWatch(threading.Thread):
    def __init__(self, env):
        super().__init__(daemon=True)
        self.env, self.stop, self.samples = env, threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            try:
                holder = self.env.lease_holder()
            except subprocess.CalledProcessError:
                holder = "?"
            self.samples.append((time.time(), holder))
            self.stop.wait(0.1)


def scenario_kill(env, duration=30, kill_at=10):
    interval = parse_duration(POLL_INTERVAL)
    holder = env.lease_holder()
    victim = env.replica_of_holder(holder)
    if victim is None:
        victim = 0
    lease = LeaseWatch(env)
    lease.start()
    t_start = time.time()
    wrk = Wrk(env, PUBLIC, duration, 16, env.tokens["viewer"], "kill")
    # Several POST writers, so that some POSTs are on their way to the killed replica.
    writers = [Writer(env, PUBLIC, "lineage") for _ in range(4)]
    for w in writers:
        w.start()
    time.sleep(kill_at)
    pid = env.replicas[victim].pid
    t_kill = time.time()
    env.replicas[victim].send_signal(signal.SIGKILL)
    env.replicas[victim].wait()
    res = wrk.result()
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join()
    t_end = time.time()
    time.sleep(1)
    lease.stop.set()
    lease.join()
    # The lease: the first sample after the kill held by another process.
    moved = next(((t, h) for t, h in lease.samples if t > t_kill and h and h != "?" and h != holder), None)
    lines = env.nginx_lines(t_start, t_end + 1)
    port = f"127.0.0.1:{REPLICA_PORTS[victim]}"
    failed_lines = [ln for ln in lines if ln["status"] >= 500]
    in_flight_on_victim = [ln for ln in failed_lines if ln["upstream_addr"].split(",")[-1].strip() == port]
    retried = [ln for ln in lines if "," in ln["upstream_addr"] or ": " in ln["upstream_addr"]]
    retried_ok = [ln for ln in retried if ln["status"] < 500]
    summaries = [w.summary() for w in writers]
    w = {"writers": len(writers), "attempts": sum(s["attempts"] for s in summaries),
         "acknowledged": sum(s["acknowledged"] for s in summaries), "failed": sum(s["failed"] for s in summaries)}
    post_failures_after_kill = [a for wr in writers for a in wr.attempts if not (a["status"] and a["status"] < 300)]
    out = {"killed": f"replica {victim + 1} (pid {pid}), holding the poll lease: {holder is not None and env.replica_of_holder(holder) == victim}",
           "poll_interval_s": interval, "load": {"wrk_through_nginx": res, "post_writer": w},
           "nginx": {"requests": len(lines), "5xx": len(failed_lines),
                     "5xx_by_method": {m: sum(1 for ln in failed_lines if ln["method"] == m) for m in {ln["method"] for ln in failed_lines}},
                     "5xx_whose_last_upstream_was_the_killed_replica": len(in_flight_on_victim),
                     "answered_after_trying_a_second_replica": len(retried_ok),
                     "failed_examples": [f'{ln["method"]} {ln["uri"]} {ln["status"]} via {ln["upstream_addr"]}' for ln in failed_lines[:10]]},
           "lease": {"holder_before": holder, "moved_after_s": None if moved is None else round(moved[0] - t_kill, 2),
                     "new_holder_replica": None if moved is None else (env.replica_of_holder(moved[1]) or 0) + 1,
                     "bound_s": 2 * interval}}
    # Failures beyond those in flight on the killed replica: every failed request nginx did not
    # log as last sent to it, plus wrk's socket errors (nginx answered every request wrk sent).
    beyond = (len(failed_lines) - len(in_flight_on_victim)) + sum(res["socket_errors"].values())
    out["failed_beyond_in_flight_on_killed"] = beyond
    out["post_failures"] = [{k: a[k] for k in ("status", "error", "detail")} | {"at_s_after_kill": round(a["sent"] - t_kill, 3)}
                            for a in post_failures_after_kill][:10]
    out["met"] = (beyond == 0 and moved is not None and (moved[0] - t_kill) <= 2 * interval)
    log(f"restarting replica {victim + 1}")
    out["victim_restarted_ready_after_s"] = round(env.restart_replica(victim), 2)
    return out


class ReadyPoller(threading.Thread):
    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.stop, self.samples = url, threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            t0 = time.time()
            r, err = try_http("GET", f"{self.url}/readyz", timeout=3)
            self.samples.append((t0, time.time(), r.status if r else (err or "?").split(":")[0]))
            self.stop.wait(max(0.0, 0.1 - (time.time() - t0)))


def windows(samples, ok=200):
    """[start, end] of each run of not-ok samples."""
    out, cur = [], None
    for t0, t1, s in samples:
        if s != ok:
            cur = [t0, t1] if cur is None else [cur[0], t1]
        elif cur is not None:
            out.append(cur)
            cur = None
    if cur:
        out.append(cur)
    return out


def scenario_pg_restart(env, down_s=3.0, before_s=6.0, after_s=20.0, mode="fast"):
    """`down_s`: how long PostgreSQL stays stopped (after `pg_ctl stop` returns); requests wait up to
    the pool's acquire timeout (10 s) for a connection, so a longer outage fails requests."""
    pids = [p.pid for p in env.replicas]
    offsets = [env.log_size(i) for i in range(3)]
    writers = [Writer(env, PUBLIC, "lineage"), Writer(env, PUBLIC, "edit", components=env.components[:5]),
               Writer(env, PUBLIC, "import", pause=0.2)]
    pollers = [ReadyPoller(env.replica_url(i)) for i in range(3)]
    for t in writers + pollers:
        t.start()
    time.sleep(before_s)
    t_stop = time.time()
    env.pg_stop(mode)
    t_down = time.time()
    time.sleep(down_s)
    t_start = time.time()
    env.pg_start()
    t_up = time.time()
    time.sleep(after_s)
    for t in writers:
        t.stop.set()
    for t in writers:
        t.join()
    for t in pollers:
        t.stop.set()
        t.join()

    # Every acknowledged write, looked for in the database.
    lineage, edits, imports = writers
    acked_runs = [a["id"] for a in lineage.acked()]
    found_runs = env.existing(acked_runs, "SELECT run_id FROM delivery_runs JOIN ids ON ids.id = run_id")
    acked_edits = [a["id"][1] for a in edits.acked()]
    found_edits = env.existing(acked_edits, "SELECT reason FROM audit_log JOIN ids ON ids.id = reason WHERE action = 'entity.update'")
    # The final description of each edited component: its last acknowledged value, or a later
    # attempt that committed although its answer never arrived.
    last = {}
    for a in edits.attempts:
        name, tag = a["id"]
        last.setdefault(name, []).append((a, tag))
    final_ok = {}
    for name, tries in last.items():
        stored = env.psql(f"SELECT coalesce(description, '') FROM entities WHERE kind = 'component' AND name = '{name}'")
        stored = stored[0][0] if stored else None
        acked_tags = [t for a, t in tries if a["status"] == 200]
        last_acked = acked_tags[-1] if acked_tags else None
        idx = next((k for k, (a, t) in enumerate(tries) if t == last_acked), -1)
        later = [t for a, t in tries[idx + 1:]]
        final_ok[name] = stored is not None and (last_acked is None or stored.endswith(last_acked) or
                                                 any(stored.endswith(t) for t in later))
    acked_imports = [a["id"] for a in imports.acked()]
    found_imports = env.existing(acked_imports, "SELECT name FROM entities JOIN ids ON ids.id = name WHERE kind = 'component'")
    lost = {"lineage": sorted(set(acked_runs) - found_runs), "edits": sorted(set(acked_edits) - found_edits),
            "imports": sorted(set(acked_imports) - found_imports),
            "edited_components_not_at_their_last_acknowledged_value": [n for n, ok in final_ok.items() if not ok]}

    replicas = {}
    for i, p in enumerate(pollers):
        s = p.samples
        # Answers given while PostgreSQL was stopping or down: from 0.3 s after `pg_ctl stop` was
        # issued (its first moments belong to the stop) until `pg_ctl start` was issued. (Probes
        # answered between that and `pg_ctl start` returning may see it up already.)
        away = [(t0, t1, st) for t0, t1, st in s if t_stop + 0.3 <= t1 < t_start]
        statuses = {}
        for _, _, st in away:
            statuses[str(st)] = statuses.get(str(st), 0) + 1
        ready_at = next((t1 for t0, t1, st in s if t1 >= t_start and st == 200), None)
        first_503 = next((t1 for t0, t1, st in s if t0 >= t_stop and st == 503), None)
        replicas[f"replica {i + 1}"] = {
            "readyz_answers_while_postgres_was_away": statuses,
            "readyz_slowest_answer_then_s": round(max(t1 - t0 for t0, t1, _ in away), 2) if away else None,
            "first_503_after_stop_s": None if first_503 is None else round(first_503 - t_stop, 2),
            "not_ready_windows_s": [[round(a - t_stop, 2), round(b - t_stop, 2)] for a, b in windows(s)],
            "ready_after_pg_start_issued_s": None if ready_at is None else round(ready_at - t_start, 2),
            "ready_after_pg_back_s": None if ready_at is None else round(max(0.0, ready_at - t_up), 2),
            "same_process": env.replicas[i].pid == pids[i] and env.replicas[i].poll() is None}
    errors = [len(env.log_errors(i, offsets[i])) for i in range(3)]
    recovery = [v["ready_after_pg_back_s"] for v in replicas.values()]
    first_ok_write = {}
    for w in writers:
        t = next((a["done"] for a in w.attempts if a["sent"] >= t_up and a["status"] and a["status"] < 300), None)
        first_ok_write[w.kind] = None if t is None else round(t - t_up, 2)
    stalled = {}
    for w in writers:
        during = [a for a in w.attempts if t_stop <= a["sent"] < t_up]
        stalled[w.kind] = {"sent_while_away": len(during),
                           "acknowledged": sum(1 for a in during if a["status"] and a["status"] < 300),
                           "longest_s": round(max((a["done"] - a["sent"] for a in during), default=0), 2)}
    out = {"stop_mode": mode, "postgres_down_s": round(t_start - t_down, 2),
           "away_s": round(t_up - t_stop, 2), "pg_ctl_stop_took_s": round(t_down - t_stop, 2),
           "writes_sent_while_postgres_was_away": stalled,
           "pg_ctl_start_took_s": round(t_up - t_start, 2),
           "writes": {w.kind: w.summary() for w in writers}, "lost_acknowledged_writes": lost,
           "first_acknowledged_write_after_pg_back_s": first_ok_write,
           "replicas": replicas, "error_lines_logged": errors,
           "error_examples": [e for i in range(3) for e in env.log_errors(i, offsets[i])[:2]]}
    out["met"] = (not any(lost.values()) and all(r is not None and r <= 5 for r in recovery)
                  and all(v["same_process"] for v in replicas.values())
                  and all(v["readyz_answers_while_postgres_was_away"].get("503", 0) > 0
                          and "200" not in v["readyz_answers_while_postgres_was_away"] for v in replicas.values()))
    return out


def scenario_idp_down(env):
    session, how = sign_in("liam-chen", PUBLIC)
    out = {"signed_in_before": session is not None}
    if not session:
        out.update(met=False, details=how)
        return out
    t_down = time.time()
    env.stop_idp()
    bases = {f"replica {i + 1}": env.replica_url(i) for i in range(3)} | {"nginx": PUBLIC}
    existing = {}
    for n, b in bases.items():
        existing[n] = {"me": http("GET", f"{b}/api/v1/me", headers=with_session(session)).status,
                       "catalog_page": http("GET", f"{b}/catalog", headers=with_session(session)).status}
    new = {}
    for n, b in bases.items():
        r = http("GET", f"{b}/auth/login?return_to=/catalog")
        loc = r.headers.get("location", "")
        entry = {"status": r.status, "location": loc}
        if loc.startswith(IDP):
            _, err = try_http("GET", loc, timeout=3)
            entry["browser_sees"] = f"its own error page: {err}"
            entry["clear_message"] = False
        else:
            page = http("GET", f"{b}{loc}")
            entry["page_status"] = page.status
            entry["clear_message"] = page.status == 200 and "identity provider is unavailable" in page.text()
            m = re.search(r"(The identity provider is unavailable[^<]*)", page.text())
            entry["message"] = m.group(1) if m else None
        new[n] = entry
    down_for = 15
    time.sleep(max(0, down_for - (time.time() - t_down)))
    t_up = time.time()
    env.start_idp()
    again, tries, last = None, 0, None
    while time.time() - t_up < 180:
        tries += 1
        try:
            again, last = sign_in("liam-chen", PUBLIC)
        except Exception as e:  # noqa: BLE001
            last = repr(e)
        if again:
            break
        time.sleep(1)
    out.update({"provider_down_s": round(t_up - t_down, 1), "existing_session": existing, "new_sign_in_while_down": new,
                "sign_in_works_again_after_s": round(time.time() - t_up, 1) if again else None,
                "sign_in_attempts_until_then": tries, "last_failure": None if again else last})
    out["met"] = (all(v["me"] == 200 and v["catalog_page"] == 200 for v in existing.values())
                  and all(v["clear_message"] for v in new.values()) and again is not None)
    return out


def import_body(env):
    d = os.path.join(RUN, "gen")
    if not os.path.exists(os.path.join(d, "manifest.json")):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_catalog.py"), "--components", "2000", "--edges", "4000",
                        "--teams", "20", "--systems", "40", "--domains", "5", "--apis", "200", "--out", d],
                       check=True, capture_output=True)
    parts = []
    for dirpath, _, files in sorted(os.walk(d)):
        for fn in sorted(files):
            if fn.endswith(".yaml") and fn != "catalog-info.yaml":
                parts.append(open(os.path.join(dirpath, fn)).read().strip())
    return "\n---\n".join(parts) + "\n"


def scenario_shutdown(env):
    out = {}
    # A: SIGTERM to replica 3 while it serves slow requests sent to it directly.
    i = 2
    base = env.replica_url(i)
    body = import_body(env)
    results = {}

    def do_import():
        t0 = time.time()
        r, err = try_http("POST", f"{base}/api/v1/import?source=bench-shutdown", body=body, timeout=120,
                          headers=bearer(env.tokens["admin"], {"content-type": "application/yaml"}))
        results["import"] = {"sent": t0, "done": time.time(), "status": r.status if r else None, "error": err,
                             "detail": r.text()[:300] if r is not None and r.status != 200 else None,
                             "added": len(r.json().get("added", [])) if r is not None and r.status == 200 else None}

    def do_batches(k):
        events = [lineage_event(str(uuid.uuid4())) for _ in range(1000)]
        t0 = time.time()
        r, err = try_http("POST", f"{base}/api/v1/lineage/batch", body=json.dumps(events), timeout=120,
                          headers=bearer(env.tokens["producer"], {"content-type": "application/json"}))
        results[f"lineage batch {k}"] = {"sent": t0, "done": time.time(), "status": r.status if r else None, "error": err}

    wrk = Wrk(env, base, 6, 4, env.tokens["viewer"], "shutdown-direct")
    time.sleep(1)
    threads = [threading.Thread(target=do_import)] + [threading.Thread(target=do_batches, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.7)
    t_term = time.time()
    proc = env.replicas[i]
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    t_exit = time.time()
    for t in threads:
        t.join()
    res = wrk.result()
    in_flight = {k: {"status": v["status"], "error": v["error"], "started_before_sigterm": v["sent"] < t_term,
                     "finished_after_sigterm_s": round(v["done"] - t_term, 2), **({"added": v.get("added")} if "added" in v else {}),
                     **({"detail": v["detail"]} if v.get("detail") else {})}
                 for k, v in results.items()}
    stored = env.psql("SELECT count(*) FROM entities e JOIN sources s ON s.id = e.source_id WHERE s.location = 'api:bench-shutdown'")
    shut_log = [ln for ln in open(env.replica_log(i)).read().splitlines()[-30:] if "shutting down" in ln]
    out["direct"] = {"replica": i + 1, "exit_code": code, "exit_after_sigterm_s": round(t_exit - t_term, 2),
                     "requests_in_flight_at_sigterm": in_flight, "entities_of_the_import_in_db": int(stored[0][0]) if stored else None,
                     "wrk_direct": res, "logged_shutting_down": bool(shut_log),
                     "note": "wrk's connect errors after SIGTERM are new connections refused by the closed listener; "
                             "read errors or timeouts would be requests cut off"}
    out["direct"]["restarted_ready_after_s"] = round(env.restart_replica(i), 2)
    direct_ok = (code == 0 and all(v["status"] == 200 for v in results.values())
                 and all(v["sent"] < t_term for v in results.values())
                 and res["socket_errors"]["read"] == 0 and res["socket_errors"]["timeout"] == 0
                 and res["non_2xx_3xx"] == 0)

    # B: a rolling restart through nginx under load.
    t_start = time.time()
    wrk = Wrk(env, PUBLIC, 40, 16, env.tokens["viewer"], "rolling")
    writer = Writer(env, PUBLIC, "lineage")
    writer.start()
    steps = []
    time.sleep(4)
    for k in range(3):
        t0 = time.time()
        c = env.stop_process(env.replicas[k], signal.SIGTERM, timeout=60)
        t1 = time.time()
        ready = env.restart_replica(k)
        steps.append({"replica": k + 1, "exit_code": c, "stopped_after_s": round(t1 - t0, 2), "ready_again_after_s": round(ready, 2)})
        time.sleep(3)
    res = wrk.result()
    writer.stop.set()
    writer.join()
    lines = env.nginx_lines(t_start, time.time())
    failed = [ln for ln in lines if ln["status"] >= 500]
    out["rolling_restart_through_nginx"] = {
        "steps": steps, "wrk": res, "post_writer": writer.summary(), "nginx_requests": len(lines), "nginx_5xx": len(failed),
        "failed_examples": [f'{ln["method"]} {ln["uri"]} {ln["status"]} via {ln["upstream_addr"]}' for ln in failed[:10]]}
    rolling_ok = res["failed"] == 0 and writer.summary()["failed"] == 0 and not failed and all(s["exit_code"] == 0 for s in steps)
    out["met"] = direct_ok and rolling_ok
    out["met_direct"], out["met_rolling"] = direct_ok, rolling_ok
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def scenario_soak(env, duration, kinds=("lineage", "edit", "import")):
    warmup = min(120.0, duration / 5)
    offsets = [env.log_size(i) for i in range(3)]
    pids = [p.pid for p in env.replicas]
    t0 = time.time()
    wrk = Wrk(env, PUBLIC, duration, 8, env.tokens["viewer"], "soak")
    writers = [w for w in (Writer(env, PUBLIC, "lineage", pause=0.5),
                           Writer(env, PUBLIC, "edit", pause=5, components=env.components[:8]),
                           Writer(env, PUBLIC, "import", pause=60)) if w.kind in kinds]
    for w in writers:
        w.start()
    samples = []
    world = http("GET", f"{SIM}/_sim/world").json()
    proxies = [p for p in world["proxies"]][:5]
    next_mesh = t0 + 60
    mesh_changes = 0
    while time.time() - t0 < duration:
        now = time.time()
        samples.append({"t": round(now - t0, 1), "rss_kb": [rss_kb(p) for p in pids],
                        "nginx_pg_note": None})
        if now >= next_mesh and proxies:
            p = proxies[mesh_changes % len(proxies)]
            state = "offline" if mesh_changes % 2 == 0 else "online"
            try_http("POST", f"{SIM}/_sim/proxies/{p['mesh']}/{p['name']}/{state}")
            mesh_changes += 1
            next_mesh += 60
        time.sleep(max(0, 10 - (time.time() - now)))
    res = wrk.result()
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join()
    for p in proxies:
        try_http("POST", f"{SIM}/_sim/proxies/{p['mesh']}/{p['name']}/online")
    per = {}
    for i in range(3):
        series = [(s["t"], s["rss_kb"][i]) for s in samples if s["rss_kb"][i] is not None]
        # RSS moves by ±10 % within a minute under this load (caches emptied by every edit,
        # allocator segments): growth compares the mean of the first minute after the warm-up
        # with the mean of the last minute; single samples are reported beside it.
        first = [v for t, v in series if warmup <= t < warmup + 60]
        last = [v for t, v in series if t >= duration - 60]
        after = [v for t, v in series if t >= warmup]
        base, final = (statistics.mean(first) if first else None), (statistics.mean(last) if last else None)
        sample_base = next((v for t, v in series if t >= warmup), None)
        per[f"replica {i + 1}"] = {
            "rss_mb_at_start": round(series[0][1] / 1024, 1) if series else None,
            "rss_mb_minute_means": [round(statistics.mean(v for t, v in series if m * 60 <= t < (m + 1) * 60) / 1024, 1)
                                    for m in range(int(duration // 60)) if any(m * 60 <= t < (m + 1) * 60 for t, _ in series)],
            "rss_mb_first_minute_after_warmup": round(base / 1024, 1) if base else None,
            "rss_mb_last_minute": round(final / 1024, 1) if final else None,
            "rss_mb_peak_after_warmup": round(max(after) / 1024, 1) if after else None,
            "growth_after_warmup_pct": round((final - base) / base * 100, 1) if base and final else None,
            "single_samples_growth_pct": round((series[-1][1] - sample_base) / sample_base * 100, 1) if sample_base else None,
            "peak_over_first_minute_pct": round((max(after) - base) / base * 100, 1) if base and after else None,
            "error_or_panic_lines": len(env.log_errors(i, offsets[i])),
            "error_examples": env.log_errors(i, offsets[i])[:3],
            "same_process": env.replicas[i].poll() is None and env.replicas[i].pid == pids[i]}
    out = {"duration_s": duration, "warmup_s": warmup, "rss_sample_every_s": 10, "mesh_changes_in_kuma_sim": mesh_changes,
           "writers": list(kinds), "serve_env": env.extra_env,
           "poll_interval": POLL_INTERVAL, "load": {"wrk_through_nginx": res, **{f"{w.kind}_writer": w.summary() for w in writers}},
           "replicas": per, "rss_samples": samples}
    out["met"] = all(v["growth_after_warmup_pct"] is not None and v["growth_after_warmup_pct"] < 10 and
                     v["error_or_panic_lines"] == 0 and v["same_process"] for v in per.values())
    return out


SCENARIOS = ["sessions", "coherence", "kill", "pg-restart", "idp-down", "shutdown"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS + ["soak"]))
    ap.add_argument("--soak", help="run the soak for this long (e.g. 10m)")
    ap.add_argument("--name")
    ap.add_argument("--pg-stop-mode", default="fast", choices=["fast", "immediate"],
                    help="pg-restart: how PostgreSQL is stopped (immediate: as if it crashed)")
    ap.add_argument("--pg-down", default="3s", help="pg-restart: how long PostgreSQL stays down (default 3s)")
    ap.add_argument("--soak-writers", default="lineage,edit,import",
                    help="soak: which writers run (lineage events, edits, imports; comma-separated, may be empty)")
    ap.add_argument("--serve-env", action="append", default=[], metavar="BEARING_X=VALUE",
                    help="extra environment for every replica, e.g. BEARING_PAGE_CACHE_TTL=0s (repeatable)")
    ap.add_argument("--keep", action="store_true", help="leave everything running at the end (Ctrl-C stops it)")
    a = ap.parse_args()
    chosen = a.only.split(",") if a.only else list(SCENARIOS)
    if a.soak and "soak" not in chosen:
        chosen.append("soak")
    if "soak" in chosen and not a.soak:
        raise SystemExit("--only soak needs --soak DURATION")
    for s in chosen:
        if s not in SCENARIOS + ["soak"]:
            raise SystemExit(f"unknown scenario {s!r}")
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True).stdout.strip())
    name = a.name or f"replicas-{dt.date.today().isoformat()}-{sha}" + ("-soak" if chosen == ["soak"] else "")
    env = Env(a)
    for item in a.serve_env:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("BEARING_"):
            raise SystemExit(f"--serve-env wants BEARING_NAME=VALUE, not {item!r}")
        env.extra_env[key] = value
    result = {"name": name, "commit": sha + ("-dirty" if dirty else ""), "started": dt.datetime.now().isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                                               if l.startswith("model name")), platform.processor())},
              "setup": {"replicas": [f"127.0.0.1:{p}" for p in REPLICA_PORTS], "nginx": PUBLIC, "kuma_poll_interval": POLL_INTERVAL,
                        "serve_env": env.extra_env,
                        "nginx_version": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
                        "postgres": PG_BIN, "catalog": "examples/ (demo)"},
              "scenarios": {}}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        env.setup()
        for s in chosen:
            log(f"scenario {s}")
            t0 = time.time()
            try:
                if s == "sessions":
                    r = scenario_sessions(env)
                elif s == "coherence":
                    r = scenario_coherence(env)
                elif s == "kill":
                    r = scenario_kill(env)
                elif s == "pg-restart":
                    r = scenario_pg_restart(env, down_s=parse_duration(a.pg_down), mode=a.pg_stop_mode)
                elif s == "idp-down":
                    r = scenario_idp_down(env)
                elif s == "shutdown":
                    r = scenario_shutdown(env)
                else:
                    r = scenario_soak(env, parse_duration(a.soak), kinds=[k for k in a.soak_writers.split(",") if k])
            except Exception as e:  # noqa: BLE001 - a broken scenario is a result too
                import traceback
                r = {"met": False, "crashed": traceback.format_exc()}
                log(f"{s} crashed: {e!r}")
            r["took_s"] = round(time.time() - t0, 1)
            result["scenarios"][s] = r
            log(f"{s}: met={r.get('met')}")
        if a.keep:
            log(f"everything runs: nginx {PUBLIC}; Ctrl-C stops it")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        env.teardown()
        out = os.path.join(HERE, "results", f"{name}.json")
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        log(f"wrote {os.path.relpath(out, ROOT)}")
        for s, r in result["scenarios"].items():
            print(f"{s:12} met={r.get('met')}")


if __name__ == "__main__":
    main()
