#!/usr/bin/env python3
"""`make test-deploy`: renders deploy/kubernetes (the base and every overlay) with
`kubectl kustomize` and checks what a working, locked-down deployment of Bearing needs.

- The Deployment: 3 replicas; probes on /readyz and /healthz at the container port that
  BEARING_LISTEN (not loopback) names; every container non-root, read-only root filesystem, no
  privilege escalation, no capabilities, requests and limits; no writable volume at all
  (`bearing serve` with an external database writes nothing: docs/operations.md).
- Names are real: every environment variable in a ConfigMap or container is a flag's variable
  of `bearing serve` (read from the clap source, or from `$BEARING_BIN serve --help`), and every
  argument a real command or flag.
- References resolve: each Secret or ConfigMap a pod, Ingress or database cluster names is in
  the render, made by CloudNativePG (`<cluster>-app`, with its keys), or created by a
  `kubectl create secret` command in docs/operations.md with that key.
- Selectors match the pod labels (Service, PodDisruptionBudget, NetworkPolicy), the autoscaler
  scales the Deployment, and the pieces agree (Ingress host and TLS with BEARING_PUBLIC_URL,
  the serving role and database host with the CloudNativePG cluster, connections with
  max_connections).

Then it proves it can fail: it breaks a copy of the manifests in several ways and expects a
complaint about each (`MUTATIONS`). Needs kubectl (`scripts/setup.sh` installs it) and PyYAML.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(REPO, "deploy", "kubernetes")
KUBECTL = os.environ.get("KUBECTL", "kubectl")

# Environment variables that are not flags of `bearing serve`, and why they may be set.
OTHER_ENV = {"PGPASSWORD": "read by the database driver (sqlx) when the URL carries no password"}
# The keys CloudNativePG puts in `<cluster>-app` (pkg/specs/secrets.go, CreateSecret).
CNPG_APP_KEYS = {"username", "user", "password", "dbname", "host", "port", "pgpass", "uri",
                 "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def cli_names():
    """(subcommands, {env var: flag}) of `bearing serve`, from the clap structs it flattens."""
    files = [os.path.join(REPO, "server/src", f) for f in ("cli.rs", "commands/serve.rs", "config.rs")]
    files += sorted(glob.glob(os.path.join(REPO, "server/src/config/*.rs")))
    source = "\n".join(read(f) for f in files)
    # A group flattened into ServeArgs from elsewhere would be missed: refuse to guess.
    for group in re.findall(r"#\[command\(flatten\)\]\s*pub \w+: ([\w:]+)", read(files[1])):
        name = group.split("::")[-1]
        assert f"pub struct {name}" in source, f"`bearing serve` flattens {name}, defined outside {files}"
    flags = {}
    for attrs, field in re.findall(r"#\[arg\((.*?)\)\]\s*pub (\w+)\s*:", source, re.S):
        env = re.search(r'env = "(\w+)"', attrs)
        if env and "long" in attrs:
            long = re.search(r'long = "([\w-]+)"', attrs)
            flags[env.group(1)] = "--" + (long.group(1) if long else field.replace("_", "-"))
    enum = re.search(r"pub enum Command \{(.*?)\n\}", read(files[0]), re.S).group(1)
    commands = {v.lower() for v in re.findall(r"^\s*(\w+)\(", enum, re.M)}
    binary = os.environ.get("BEARING_BIN")
    if binary:  # the real thing, when a binary is at hand
        helptext = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, check=True).stdout
        # One block per flag, from its `--name` line to the next; hidden values show `[env: NAME]`.
        blocks = re.split(r"\n(?=\s+(?:-\w, )?--[\w-])", helptext)
        flags = {}
        for block in blocks:
            flag, env = re.match(r"\s+(?:-\w, )?(--[\w-]+)", block), re.search(r"\[env: (\w+)[=\]]", block)
            if flag and env:
                flags[env.group(1)] = flag.group(1)
    assert len(flags) > 40 and "serve" in commands and "migrate" in commands, (len(flags), commands)
    return commands, flags


def documented_secrets():
    """{secret: (type, {key: value or None})} from `kubectl create secret` commands in the docs."""
    text = read(os.path.join(REPO, "docs", "operations.md")).replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        m = re.search(r"kubectl\s+(?:-n\s+\S+\s+)?create\s+secret\s+(\S+)\s+([\w.-]+)(.*)", line)
        if not m:
            continue
        kind, name, rest = m.groups()
        keys = {k: v for k, v in re.findall(r"--from-(?:literal|file)=([\w.-]+)=(\S*)", rest)}
        if kind == "tls":
            keys.update({"tls.crt": None, "tls.key": None})
        typ = re.search(r"--type=(\S+)", rest)
        found[name] = (typ.group(1) if typ else kind, keys)
    return found


def render(path):
    done = subprocess.run([KUBECTL, "kustomize", path], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"kubectl kustomize {path} failed:\n{done.stderr}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def subset(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check(docs, names, docs_secrets, repo=REPO):
    """Every problem found in one rendered kustomization, as sentences."""
    commands, flags = names
    problems = []
    say = problems.append
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments = list(by_kind.get("Deployment", {}).values())
    if len(deployments) != 1:
        return [f"expected one Deployment, found {len(deployments)}"]
    dep = deployments[0]
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"].get("labels", {})
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    clusters = by_kind.get("Cluster", {})

    if dep["spec"].get("replicas") != 3:
        say(f"Deployment replicas is {dep['spec'].get('replicas')}, not 3")
    if not subset(dep["spec"]["selector"].get("matchLabels"), labels):
        say("the Deployment's selector does not match its pod labels")
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        say("the pod does not set runAsNonRoot: true")
    uid = psc.get("runAsUser")
    if not isinstance(uid, int) or uid <= 0:
        say(f"the pod's runAsUser is {uid!r}, not a numeric non-root user")
    user = re.search(r"^USER (\d+)", read(os.path.join(repo, "Containerfile")), re.M)
    if not user or int(user.group(1)) != uid:
        say(f"the Containerfile's USER is not the pod's runAsUser {uid}")
    for vol in spec.get("volumes", []):
        if "emptyDir" in vol or "hostPath" in vol:
            say(f"volume {vol['name']} is writable; `bearing serve` writes nothing")

    # Environment: ConfigMaps through envFrom, then each container's own variables.
    env = {}
    containers = spec.get("initContainers", []) + spec["containers"]
    for c in containers:
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            say(f"container {c['name']}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            say(f"container {c['name']}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            say(f"container {c['name']}: capabilities are not dropped")
        if sc.get("runAsUser", 1) == 0 or sc.get("runAsNonRoot") is False:
            say(f"container {c['name']}: runs as root")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            if set(res.get(part, {})) != {"cpu", "memory"}:
                say(f"container {c['name']}: resources.{part} must set cpu and memory")
        args = c.get("args", []) + c.get("command", [])[1:]
        if not args or args[0] not in commands:
            say(f"container {c['name']}: {args[:1]} is not a `bearing` command ({sorted(commands)})")
        for arg in args[1:]:
            if arg.startswith("--") and arg.split("=")[0] not in flags.values():
                say(f"container {c['name']}: {arg} is not a flag of `bearing serve`")
        names_here = []
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                ref = src["configMapRef"]["name"]
                if ref not in configmaps:
                    say(f"container {c['name']}: ConfigMap {ref} is not in the render")
                else:
                    names_here += list(configmaps[ref].get("data", {}))
                    if c in spec["containers"]:
                        env.update(configmaps[ref]["data"])
            if "secretRef" in src:
                say(f"container {c['name']}: envFrom secretRef hides which variables it sets")
        for e in c.get("env", []):
            names_here.append(e["name"])
            if "value" in e and c in spec["containers"]:
                env[e["name"]] = e["value"]
            ref = e.get("valueFrom", {})
            if "secretKeyRef" in ref:
                check_secret(ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"],
                             f"container {c['name']}", by_kind, docs_secrets, say)
            if "configMapKeyRef" in ref:
                cm = configmaps.get(ref["configMapKeyRef"]["name"])
                if not cm or ref["configMapKeyRef"]["key"] not in cm.get("data", {}):
                    say(f"container {c['name']}: configMapKeyRef {ref['configMapKeyRef']} resolves to nothing")
        for name in names_here:
            if name not in flags and name not in OTHER_ENV:
                say(f"container {c['name']}: {name} is no environment variable of `bearing serve`")

    # The serving container: its ports, what it listens on, its probes.
    main = spec["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}

    def port_of(ref):
        return ports.get(ref) if isinstance(ref, str) else (ref if ref in ports.values() else None)

    def listen_port(var):
        addr = env.get(var, "")
        host, _, port = addr.rpartition(":")
        if host in ("127.0.0.1", "localhost", "[::1]", ""):
            say(f"{var}={addr!r} cannot be reached from outside the pod")
        return int(port) if port.isdigit() else None

    http = listen_port("BEARING_LISTEN")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = main.get(probe, {}).get("httpGet", {})
        if get.get("path") != path:
            say(f"{probe} is {get.get('path')!r}, not {path}")
        if port_of(get.get("port")) != http or http is None:
            say(f"{probe} port {get.get('port')!r} is not the port BEARING_LISTEN listens on ({http})")
    if "BEARING_METRICS_LISTEN" in env and listen_port("BEARING_METRICS_LISTEN") != ports.get("metrics"):
        say("BEARING_METRICS_LISTEN is not the container port named metrics")

    for svc in by_kind.get("Service", {}).values():
        if not subset(svc["spec"].get("selector"), labels):
            say(f"Service {svc['metadata']['name']}'s selector does not match the pod labels")
        for p in svc["spec"]["ports"]:
            if port_of(p.get("targetPort", p["port"])) is None:
                say(f"Service {svc['metadata']['name']} port {p['port']} targets no container port")
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        if not subset(pdb["spec"]["selector"].get("matchLabels"), labels):
            say(f"PodDisruptionBudget {pdb['metadata']['name']}'s selector does not match the pod labels")
    for np in by_kind.get("NetworkPolicy", {}).values():
        if not subset(np["spec"]["podSelector"].get("matchLabels"), labels):
            say(f"NetworkPolicy {np['metadata']['name']}'s podSelector does not match the pod labels")
        for rule in np["spec"].get("ingress", []):
            for p in rule.get("ports", []):
                if port_of(p["port"]) is None:
                    say(f"NetworkPolicy {np['metadata']['name']} opens port {p['port']}, which no container has")
    hpas = list(by_kind.get("HorizontalPodAutoscaler", {}).values())
    for hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]
        if (target["kind"], target["name"]) != ("Deployment", dep["metadata"]["name"]):
            say(f"HorizontalPodAutoscaler {hpa['metadata']['name']} scales {target}, not the Deployment")
        if not hpa["spec"].get("minReplicas", 1) <= dep["spec"].get("replicas", 1) <= hpa["spec"]["maxReplicas"]:
            say("the Deployment's replicas are outside the autoscaler's range")

    public = urlsplit(env.get("BEARING_PUBLIC_URL", ""))
    for ing in by_kind.get("Ingress", {}).values():
        tls_hosts = {h for t in ing["spec"].get("tls", []) for h in t.get("hosts", [])}
        for t in ing["spec"].get("tls", []):
            check_secret(t["secretName"], "tls.crt", f"Ingress {ing['metadata']['name']}", by_kind, docs_secrets, say)
        for rule in ing["spec"]["rules"]:
            if rule.get("host") and rule["host"] != public.hostname:
                say(f"Ingress host {rule['host']} is not BEARING_PUBLIC_URL's host {public.hostname}")
            if rule.get("host") and public.scheme == "https" and rule["host"] not in tls_hosts:
                say(f"Ingress host {rule['host']} has no TLS, but BEARING_PUBLIC_URL is https")
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = by_kind.get("Service", {}).get(backend["name"])
                wanted = backend["port"].get("name", backend["port"].get("number"))
                if not svc or not any(wanted in (p.get("name"), p["port"]) for p in svc["spec"]["ports"]):
                    say(f"Ingress backend {backend} names no Service port")

    # The database: the serving URL's role and host, and connections, against the cluster.
    db_url = urlsplit(env.get("BEARING_DATABASE_URL", ""))
    if db_url.password:
        say("BEARING_DATABASE_URL carries a password in a ConfigMap")
    for name, cluster in clusters.items():
        if cluster["apiVersion"] != "postgresql.cnpg.io/v1":
            continue
        cs = cluster["spec"]
        initdb = cs.get("bootstrap", {}).get("initdb", {})
        if db_url.hostname != f"{name}-rw" or db_url.path.lstrip("/") != initdb.get("database", "app"):
            say(f"BEARING_DATABASE_URL does not name {name}-rw and its database")
        roles = {r["name"]: r for r in cs.get("managed", {}).get("roles", [])}
        role = roles.get(db_url.username)
        if not role or not role.get("login") or role.get("inRoles") != ["bearing_app"] or role.get("superuser"):
            say(f"the serving role {db_url.username} is not a login role of {name} that is a member of bearing_app only")
        owner = initdb.get("owner", initdb.get("database", "app"))
        sql = " ".join(initdb.get("postInitSQL", []))
        if "CREATE ROLE bearing_app NOLOGIN" not in sql or f"GRANT bearing_app TO {owner} WITH ADMIN OPTION" not in sql:
            say(f"{name} does not create bearing_app and grant it to the owner {owner} with ADMIN OPTION")
        for r in roles.values():
            if "passwordSecret" in r:
                check_secret(r["passwordSecret"]["name"], "password", f"role {r['name']}", by_kind, docs_secrets, say,
                             basic_auth_user=r["name"])
        most = max([h["spec"]["maxReplicas"] for h in hpas] + [dep["spec"]["replicas"]])
        limit = int(cs.get("postgresql", {}).get("parameters", {}).get("max_connections", "100"))
        if most * int(env.get("BEARING_DB_MAX_CONNECTIONS", "16")) > limit * 0.8:
            say(f"{most} pods x BEARING_DB_MAX_CONNECTIONS leave too little of {name}'s max_connections {limit}")
    return problems


def check_secret(name, key, user, by_kind, docs_secrets, say, basic_auth_user=None):
    """A Secret `user` reads: in the render, made by CloudNativePG, or created as the docs say."""
    secret = by_kind.get("Secret", {}).get(name)
    if secret:
        if key not in {**secret.get("data", {}), **secret.get("stringData", {})}:
            say(f"{user}: Secret {name} has no key {key}")
        return
    cluster = name[: -len("-app")] if name.endswith("-app") else None
    if cluster in by_kind.get("Cluster", {}):
        if key not in CNPG_APP_KEYS:
            say(f"{user}: CloudNativePG's Secret {name} has no key {key}")
        return
    documented = docs_secrets.get(name)
    if not documented:
        say(f"{user}: Secret {name} is neither in the render, nor made by CloudNativePG, nor created in docs/operations.md")
    elif key not in documented[1]:
        say(f"{user}: docs/operations.md creates Secret {name} without the key {key}")
    elif basic_auth_user and (documented[0] != "kubernetes.io/basic-auth" or documented[1].get("username") != basic_auth_user):
        say(f"{user}: docs/operations.md must create {name} as kubernetes.io/basic-auth with username={basic_auth_user}")


# Breakages the check must notice: (file under deploy/kubernetes or the repo, text, replacement).
MUTATIONS = [
    ("base/deployment.yaml", "path: /readyz", "path: /ready"),
    ("base/deployment.yaml", "httpGet: {path: /healthz, port: http}\n            periodSeconds: 20",
     "httpGet: {path: /healthz, port: metrics}\n            periodSeconds: 20"),
    ("base/deployment.yaml", "replicas: 3", "replicas: 2"),
    ("base/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false"),
    ("base/deployment.yaml", "            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n      containers:",
     "            readOnlyRootFilesystem: false\n            capabilities:\n              drop: [\"ALL\"]\n      containers:"),
    ("base/deployment.yaml", "limits: {cpu: \"2\", memory: 512Mi}", "limits: {cpu: \"2\"}"),
    ("base/deployment.yaml", "key: oidc-client-secret", "key: oidc-secret"),
    ("base/deployment.yaml", "name: bearing-db-server", "name: bearing-db-srv"),
    ("base/deployment.yaml", "args: [\"serve\"]", "args: [\"serve\", \"--listen-addr=0.0.0.0:3000\"]"),
    ("base/kustomization.yaml", "BEARING_LISTEN=0.0.0.0:3000", "BEARING_LISTEN=127.0.0.1:3000"),
    ("base/kustomization.yaml", "BEARING_LOG_FORMAT=json", "BEARING_LOG_FMT=json"),
    ("base/service.yaml", "    app.kubernetes.io/component: server\n  ports:", "    app.kubernetes.io/component: web\n  ports:"),
    ("base/deployment.yaml", "      automountServiceAccountToken: false\n",
     "      automountServiceAccountToken: false\n      volumes:\n        - name: tmp\n          emptyDir: {}\n"),
    ("base/pdb.yaml", "    matchLabels:\n      app.kubernetes.io/name: bearing\n",
     "    matchLabels:\n      app.kubernetes.io/name: bearing-x\n"),
    ("base/networkpolicy.yaml", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: bearing",
     "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: bearing-server"),
    ("base/hpa.yaml", "name: bearing\n  minReplicas", "name: bearing-web\n  minReplicas"),
    ("base/ingress.yaml", "name: http", "name: web"),
    ("overlays/example/ingress.yaml", "host: bearing.example.com", "host: portal.example.com"),
    ("overlays/example/database.yaml", "name: bearing_server", "name: bearing_srv"),
    ("overlays/example/database.yaml", "max_connections: \"200\"", "max_connections: \"100\""),
    ("overlays/example/database.yaml", "  name: bearing-db\n", "  name: bearing-pg\n"),
    ("Containerfile", "USER 10001", "USER 10002"),
]


def targets(root):
    return [os.path.join(root, "base")] + sorted(glob.glob(os.path.join(root, "overlays", "*")))


def main():
    if not shutil.which(KUBECTL):
        raise SystemExit(f"{KUBECTL} not found: run scripts/setup.sh (installs it from apt)")
    names = cli_names()
    docs_secrets = documented_secrets()
    failed = False
    for target in targets(DEPLOY):
        problems = check(render(target), names, docs_secrets)
        rel = os.path.relpath(target, REPO)
        print(f"{rel}: {'ok' if not problems else 'FAILED'}")
        for p in problems:
            print(f"  - {p}")
        failed |= bool(problems)
    if failed:
        sys.exit(1)
    # The check itself: every breakage must be noticed in some render.
    missed = []
    for path, old, new in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "deploy", "kubernetes")
            shutil.copytree(DEPLOY, root)
            shutil.copy(os.path.join(REPO, "Containerfile"), tmp)
            file = os.path.join(tmp, path) if path == "Containerfile" else os.path.join(root, path)
            text = read(file)
            assert text.count(old) == 1, f"mutation {old!r} does not match {path} exactly once"
            with open(file, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new))
            found = [p for t in targets(root) for p in check(render(t), names, docs_secrets, repo=tmp)]
            print(f"broken {path} ({new.strip()[:50]!r}): {'noticed: ' + found[0] if found else 'NOT NOTICED'}")
            if not found:
                missed.append((path, new))
    if missed:
        sys.exit(f"the check missed {len(missed)} breakage(s): {missed}")
    print(f"deploy/kubernetes: every check passed; {len(MUTATIONS)} deliberate breakages were all caught")


if __name__ == "__main__":
    main()
