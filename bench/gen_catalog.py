#!/usr/bin/env python3
"""Generates a synthetic Backstage catalog for load and import benchmarks.

    python3 bench/gen_catalog.py --components 10000 --edges 50000 --teams 100 --systems 200 \\
        --out bench/data/synthetic

Output (all `apiVersion: backstage.io/v1alpha1`, multi-document YAML, stdlib only):

    catalog-info.yaml          kind: Location listing every file below (explicit relative paths)
    org.yaml                   Group synthetic-org (organization), dept-NN (department), team-NNN (team)
    users.yaml                 User user-NNNN, --users-per-team per team (memberOf their team)
    domains.yaml               Domain domain-NN
    systems.yaml               System system-NNNN
    resources.yaml             Resource db-NNNN (one database per system), topic-NN (one Kafka topic per domain)
    apis.yaml                  API api-NNNNN (openapi / grpc / asyncapi, with a small definition)
    components/team-NNN.yaml   the components owned by that team
    manifest.json              the parameters, the counts and the names the load benchmark requests

Naming scheme (deterministic; widths grow only if the counts need more digits):

    component i   comp-{i:05d}     i = 0 .. components-1; owned by team-{i*teams//components:03d}
    team t        team-{t:03d}     parent dept-{t % departments:02d}
    system s      system-{s:04d}   owner team-{s % teams:03d}, domain domain-{s % domains:02d}
    api j         api-{j:05d}      provided by comp-{j*components//apis:05d}
    user u        user-{u:04d}     member of team-{u // users_per_team:03d}

`--edges` is the total number of `spec.dependsOn` entries: every component gets edges//components
of them (the first edges%components get one more), ~90% pointing at other components (half of
those inside the same team) and ~10% at its system's database. Targets come from a
`random.Random(--seed)`, never the component itself, never twice. Same arguments, same bytes.

Descriptions are drawn from a fixed vocabulary, so full-text search has hits: the benchmark
searches for `ledger` (about 1 in 8 components mention it; see manifest.json `search_term`).
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

BV = "backstage.io/v1alpha1"
WORDS = (
    "ledger order payment invoice refund basket checkout catalog product price promotion coupon "
    "inventory stock warehouse shipment parcel carrier route label return customer account profile "
    "session token consent notification email message search index ranking recommendation review "
    "rating image media asset content page layout theme banner report metric event stream batch "
    "export import sync cache queue scheduler gateway proxy adapter bridge audit billing tax fraud"
).split()
VERBS = "handles computes stores publishes aggregates validates routes exposes reconciles indexes".split()
LANGS = ["java", "go", "rust", "python", "typescript", "kotlin"]
STORES = ["postgres", "kafka", "redis", "s3", "opensearch"]
TYPES = [("service", 75), ("website", 10), ("library", 10), ("pipeline", 5)]
LIFECYCLES = [("production", 75), ("experimental", 15), ("deprecated", 10)]
SEARCH_TERM = "ledger"


def weighted(rng, table):
    r = rng.randrange(sum(w for _, w in table))
    for v, w in table:
        if r < w:
            return v
        r -= w
    raise AssertionError


def width(n, minimum):
    return max(minimum, len(str(max(n - 1, 0))))


def ylist(key, items, indent):
    pad = " " * indent
    if not items:
        return ""
    return f"{pad}{key}:\n" + "".join(f"{pad}  - {x}\n" for x in items)


def block(text, indent):
    pad = " " * indent
    return "".join(f"{pad}{line}\n" if line else "\n" for line in text.rstrip("\n").split("\n"))


def definition(kind, title, j):
    if kind == "openapi":
        return (f"openapi: 3.0.3\ninfo:\n  title: {title}\n  version: 1.{j % 10}.0\npaths:\n"
                f"  /items/{{id}}:\n    get:\n      summary: Get an item\n      parameters:\n"
                f"        - name: id\n          in: path\n          required: true\n          schema:\n"
                f"            type: string\n      responses:\n        '200':\n          description: OK\n")
    if kind == "grpc":
        svc = "".join(p.capitalize() for p in title.split())
        return (f'syntax = "proto3";\n\npackage synthetic.api{j}.v1;\n\nservice {svc} {{\n'
                f"  rpc Get(GetRequest) returns (GetResponse);\n}}\n\n"
                f"message GetRequest {{\n  string id = 1;\n}}\n\nmessage GetResponse {{\n  string id = 1;\n  string body = 2;\n}}\n")
    return (f"asyncapi: 2.6.0\ninfo:\n  title: {title}\n  version: 1.0.0\nchannels:\n"
            f"  synthetic.api{j}.events:\n    subscribe:\n      message:\n        payload:\n"
            f"          type: object\n          properties:\n            id:\n              type: string\n")


def mesh_world(out, seed, n, m, mid, comp, depends):
    """Writes `mesh-world.json`, a kuma-sim world (`kuma-sim --world`) of the `m` components
    around `mid`, each a Kuma service of the same name (Bearing maps them by name), two proxies
    each. Traffic follows ~85% of the declared dependencies between them, plus one undeclared
    call from every 20th service; each service has an `allow-<name>` MeshTrafficPermission for its
    declared callers, except every 10th, which has none (its declared callers are refused). Its own
    random generator: the catalog's bytes do not change. Returns the manifest's `mesh` entry."""
    rng = random.Random(seed + 1)
    lo = max(0, min(mid - m // 2, n - m))
    inside = range(lo, min(n, lo + m))
    meshed = set(inside)
    services, traffic, callers = [], [], {}
    for i in inside:
        services.append({"name": comp(i), "mesh": "default", "port": 8080, "protocol": "http",
                         "latencyMs": round(1 + rng.random() * 20, 1), "replicas": 2, "component": comp(i)})
        for dep in depends[i]:
            if not dep.startswith("component:"):
                continue
            j = int(dep.rsplit("-", 1)[1])
            if j not in meshed:
                continue
            callers.setdefault(j, []).append(i)
            if rng.random() < 0.85:
                traffic.append({"from": comp(i), "to": comp(j), "rps": round(0.5 + rng.random() * 30, 1),
                                "errorRatio": round(rng.random() * 0.01, 4), "declared": True})
        if i % 20 == 0:
            j = rng.choice(inside)
            if j != i and comp(j) not in (d.split("/")[-1] for d in depends[i]):
                traffic.append({"from": comp(i), "to": comp(j), "rps": 2.0, "errorRatio": 0.0, "declared": False})
    policies = []
    for j, froms in sorted(callers.items()):
        if j % 10 == 0:
            continue
        policies.append({"name": f"allow-{comp(j)}", "mesh": "default", "spec": {
            "targetRef": {"kind": "MeshService", "name": comp(j)},
            "from": [{"targetRef": {"kind": "MeshService", "name": comp(f)}, "default": {"action": "Allow"}}
                     for f in sorted(set(froms))]}})
    world = {
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1", "type": "builtin", "enabled": True,
                                                 "certLifetime": "30d"}, "meshServices": "Everywhere"}],
        "services": services,
        "meshTrafficPermissions": policies,
        "traffic": traffic,
    }
    with open(os.path.join(out, "mesh-world.json"), "w") as f:
        json.dump(world, f, indent=1)
        f.write("\n")
    return {"components": [comp(lo), comp(lo + len(inside) - 1)], "services": len(services),
            "proxies": 2 * len(services), "traffic_pairs": len(traffic), "mesh_traffic_permissions": len(policies)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=10000)
    ap.add_argument("--edges", type=int, default=None, help="total dependsOn edges (default 5 per component)")
    ap.add_argument("--teams", type=int, default=100)
    ap.add_argument("--systems", type=int, default=200)
    ap.add_argument("--domains", type=int, default=20)
    ap.add_argument("--departments", type=int, default=10)
    ap.add_argument("--apis", type=int, default=None, help="default: components // 10")
    ap.add_argument("--consumers-per-api", type=int, default=3)
    ap.add_argument("--users-per-team", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="bench/data/synthetic")
    ap.add_argument("--force", action="store_true", help="write into a non-empty directory not made by this script")
    ap.add_argument("--producer", default="",
                    help="name this producer token in every team's bearing.dev/producers (delivery benchmarks)")
    ap.add_argument("--mesh-components", type=int, default=0,
                    help="also write mesh-world.json: a kuma-sim world of this many components around the sample one")
    a = ap.parse_args()

    N = a.components
    E = 5 * N if a.edges is None else a.edges
    T, S, D, P = a.teams, a.systems, a.domains, a.departments
    A = N // 10 if a.apis is None else a.apis
    if min(N, T, S, D, P) < 1 or E < 0 or A < 0:
        sys.exit("counts must be positive")
    per = -(-E // N)  # most edges any component gets
    if per > (N - 1) + 1:
        sys.exit(f"--edges {E} needs {per} distinct targets per component but only {N} exist")
    if A > N:
        sys.exit("--apis cannot exceed --components")

    out = a.out
    manifest_path = os.path.join(out, "manifest.json")
    marker = os.path.join(out, ".gen_catalog")  # written first, so a crashed run's directory is reusable
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(manifest_path) and not os.path.exists(marker) and not a.force:
            sys.exit(f"{out} is not empty and was not made by gen_catalog.py (use --force)")
        for n in os.listdir(out):
            p = os.path.join(out, n)
            if n == "components" and os.path.isdir(p):
                shutil.rmtree(p)
            elif n.endswith((".yaml", ".json")):
                os.remove(p)
    os.makedirs(os.path.join(out, "components"), exist_ok=True)
    open(marker, "w").close()

    t0 = time.monotonic()
    rng = random.Random(a.seed)
    wc, wt, ws, wd, wa, wp = width(N, 5), width(T, 3), width(S, 4), width(D, 2), width(A, 5), width(P, 2)
    U = T * a.users_per_team
    wu = width(U, 4)
    comp = lambda i: f"comp-{i:0{wc}d}"  # noqa: E731
    team = lambda t: f"team-{t:0{wt}d}"  # noqa: E731
    system = lambda s: f"system-{s:0{ws}d}"  # noqa: E731
    domain = lambda d: f"domain-{d:0{wd}d}"  # noqa: E731
    api = lambda j: f"api-{j:0{wa}d}"  # noqa: E731
    dept = lambda p: f"dept-{p:0{wp}d}"  # noqa: E731
    user = lambda u: f"user-{u:0{wu}d}"  # noqa: E731
    db = lambda s: f"db-{s:0{ws}d}"  # noqa: E731
    topic = lambda d: f"topic-{d:0{wd}d}"  # noqa: E731

    files = []
    counts = {}

    def write(rel, docs, header):
        with open(os.path.join(out, rel), "w") as f:
            f.write(f"# {header}\n# Generated by bench/gen_catalog.py (seed {a.seed}); do not edit.\n")
            for d in docs:
                f.write("---\n")
                f.write(d)
        files.append(rel)

    # ---- org ----
    docs = []
    p_children = {p: [] for p in range(P)}
    for t in range(T):
        p_children[t % P].append(team(t))
    docs.append(f"apiVersion: {BV}\nkind: Group\nmetadata:\n  name: synthetic-org\n  title: Synthetic Org\n"
                f"spec:\n  type: organization\n  profile:\n    displayName: Synthetic Org\n"
                f"    email: org@synthetic.example\n" + ylist("children", [dept(p) for p in range(P)], 2))
    for p in range(P):
        docs.append(f"apiVersion: {BV}\nkind: Group\nmetadata:\n  name: {dept(p)}\n  title: Department {p}\n"
                    f"spec:\n  type: department\n  profile:\n    displayName: Department {p}\n"
                    f"    email: {dept(p)}@synthetic.example\n  parent: synthetic-org\n"
                    + (ylist("children", p_children[p], 2) or "  children: []\n"))
    for t in range(T):
        producers = f"  annotations:\n    bearing.dev/producers: {a.producer}\n" if a.producer else ""
        docs.append(f"apiVersion: {BV}\nkind: Group\nmetadata:\n  name: {team(t)}\n  title: Team {t}\n{producers}"
                    f"  description: Synthetic team {t}.\nspec:\n  type: team\n  profile:\n    displayName: Team {t}\n"
                    f"    email: {team(t)}@synthetic.example\n  parent: {dept(t % P)}\n  children: []\n")
    write("org.yaml", docs, "Groups: one organization, departments and teams.")
    counts["group"] = len(docs)

    # ---- users ----
    docs = []
    for u in range(U):
        docs.append(f"apiVersion: {BV}\nkind: User\nmetadata:\n  name: {user(u)}\nspec:\n  profile:\n"
                    f"    displayName: User {u}\n    email: {user(u)}@synthetic.example\n"
                    f"  memberOf:\n    - {team(u // a.users_per_team)}\n")
    write("users.yaml", docs, "Users.")
    counts["user"] = U

    # ---- domains, systems ----
    docs = [f"apiVersion: {BV}\nkind: Domain\nmetadata:\n  name: {domain(d)}\n  title: Domain {d}\n"
            f"  description: Synthetic domain {d}.\nspec:\n  owner: group:{dept(d % P)}\n" for d in range(D)]
    write("domains.yaml", docs, "Domains.")
    counts["domain"] = D
    docs = [f"apiVersion: {BV}\nkind: System\nmetadata:\n  name: {system(s)}\n  title: System {s}\n"
            f"  description: Synthetic system {s} of {domain(s % D)}.\nspec:\n  owner: group:{team(s % T)}\n"
            f"  domain: {domain(s % D)}\n" for s in range(S)]
    write("systems.yaml", docs, "Systems.")
    counts["system"] = S

    # ---- resources ----
    docs = [f"apiVersion: {BV}\nkind: Resource\nmetadata:\n  name: {db(s)}\n  description: PostgreSQL database of {system(s)}.\n"
            f"  tags:\n    - postgres\nspec:\n  type: database\n  owner: group:{team(s % T)}\n  system: {system(s)}\n"
            for s in range(S)]
    docs += [f"apiVersion: {BV}\nkind: Resource\nmetadata:\n  name: {topic(d)}\n  description: Kafka topic of {domain(d)}.\n"
             f"  tags:\n    - kafka\nspec:\n  type: kafka-topic\n  owner: group:{dept(d % P)}\n" for d in range(D)]
    write("resources.yaml", docs, "Resources: one database per system, one Kafka topic per domain.")
    counts["resource"] = len(docs)

    # ---- components: attributes ----
    team_of = [i * T // N for i in range(N)]
    team_start = [0] * (T + 1)
    for t in range(T + 1):
        team_start[t] = -(-t * N // T)  # first i with i*T//N >= t
    systems_of = {t: [] for t in range(T)}
    for s in range(S):
        systems_of[s % T].append(s)
    sys_of = []
    for i in range(N):
        t = team_of[i]
        own = systems_of[t]
        sys_of.append(own[(i - team_start[t]) % len(own)] if own else i % S)

    ctype = [weighted(rng, TYPES) for _ in range(N)]
    life = [weighted(rng, LIFECYCLES) for _ in range(N)]
    lang = [rng.choice(LANGS) for _ in range(N)]
    store = [rng.choice(STORES) if rng.random() < 0.6 else None for _ in range(N)]
    words = [rng.sample(WORDS, 5) for _ in range(N)]
    verbs = [rng.choice(VERBS) for _ in range(N)]

    # ---- dependsOn ----
    depends = []
    edges = 0
    base, extra = divmod(E, N)
    for i in range(N):
        k = base + (1 if i < extra else 0)
        chosen = []
        seen = {i}
        # ~10% of all edges go to the system's database (always when the components alone cannot fill k)
        want_db = k > 0 and (rng.random() < min(1.0, 0.1 * k) or k > N - 1)
        if want_db:
            chosen.append(f"resource:{db(sys_of[i])}")
        t = team_of[i]
        lo, hi = team_start[t], team_start[t + 1]
        while len(chosen) < k:
            if hi - lo > 1 and rng.random() < 0.5:
                j = rng.randrange(lo, hi)
            else:
                j = rng.randrange(N)
            if j in seen:
                if len(seen) >= N:  # k > N-1 (+1 db): cannot happen after the check above
                    break
                continue
            seen.add(j)
            chosen.append(f"component:{comp(j)}")
        depends.append(chosen)
        edges += len(chosen)
    assert edges == E, (edges, E)

    # ---- APIs ----
    provides = [[] for _ in range(N)]
    consumes = [[] for _ in range(N)]
    api_docs = []
    kinds = ["openapi", "grpc", "asyncapi"]
    for j in range(A):
        prov = j * N // A
        provides[prov].append(api(j))
        ak = kinds[j % 3]
        title = f"{words[prov][0].capitalize()} {words[prov][1].capitalize()} Api {j}"
        cons = set()
        while len(cons) < min(a.consumers_per_api, N - 1):
            c = rng.randrange(N)
            if c != prov:
                cons.add(c)
        for c in sorted(cons):
            consumes[c].append(api(j))
        api_docs.append(
            f"apiVersion: {BV}\nkind: API\nmetadata:\n  name: {api(j)}\n  title: {title}\n"
            f"  description: {ak} API of {comp(prov)} for {words[prov][0]} and {words[prov][1]}.\n"
            f"spec:\n  type: {ak}\n  lifecycle: {life[prov]}\n  owner: group:{team(team_of[prov])}\n"
            f"  system: {system(sys_of[prov])}\n  definition: |\n" + block(definition(ak, title, j), 4))
    write("apis.yaml", api_docs, "APIs.")
    counts["api"] = A

    # ---- component files, one per team ----
    for t in range(T):
        docs = []
        for i in range(team_start[t], team_start[t + 1]):
            n = comp(i)
            w = words[i]
            tags = [lang[i]] + ([store[i]] if store[i] else [])
            title = f"{w[0].capitalize()} {w[1].capitalize()} {i}"
            desc = f"{verbs[i].capitalize()} {w[0]} {w[1]} and {w[2]} for the {w[3]} {w[4]} flow."
            s = (f"apiVersion: {BV}\nkind: Component\nmetadata:\n  name: {n}\n  title: {title}\n"
                 f"  description: {desc}\n" + ylist("tags", tags, 2)
                 + f"  annotations:\n    backstage.io/source-location: url:https://github.example.com/synthetic/{n}/tree/main/\n"
                 f"    github.com/project-slug: synthetic/{n}\n"
                 f"  links:\n    - url: https://github.example.com/synthetic/{n}\n      title: Repository\n      icon: github\n"
                 f"spec:\n  type: {ctype[i]}\n  lifecycle: {life[i]}\n  owner: group:{team(t)}\n  system: {system(sys_of[i])}\n"
                 + ylist("dependsOn", depends[i], 2) + ylist("providesApis", provides[i], 2)
                 + ylist("consumesApis", consumes[i], 2))
            docs.append(s)
        if docs:
            write(f"components/{team(t)}.yaml", docs, f"Components owned by {team(t)}.")
    counts["component"] = N

    # ---- root Location ----
    loc = (f"apiVersion: {BV}\nkind: Location\nmetadata:\n  name: synthetic\n"
           f"  description: Synthetic benchmark catalog ({N} components, {E} dependsOn edges).\nspec:\n  targets:\n"
           + "".join(f"    - ./{f}\n" for f in files))
    with open(os.path.join(out, "catalog-info.yaml"), "w") as f:
        f.write(f"# Root of the synthetic catalog. Generated by bench/gen_catalog.py (seed {a.seed}).\n---\n{loc}")

    # The component the benchmark requests: the middle one, whose team and system are typical.
    mid = N // 2
    manifest = {
        "generator": "bench/gen_catalog.py",
        "params": {"components": N, "edges": E, "teams": T, "systems": S, "domains": D, "departments": P,
                   "apis": A, "consumers_per_api": a.consumers_per_api, "users_per_team": a.users_per_team,
                   "seed": a.seed},
        "counts": counts,
        "depends_on_edges": edges,
        "files": ["catalog-info.yaml"] + files,
        "sample_component": comp(mid),
        "sample_component_depends_on": len(depends[mid]),
        "sample_team": team(team_of[mid]),
        "sample_system": system(sys_of[mid]),
        "sample_api": api(A // 2) if A else None,
        "search_term": SEARCH_TERM,
        "search_term_components": sum(1 for i in range(N) if SEARCH_TERM in words[i]),
    }
    if a.mesh_components > 0:
        manifest["mesh"] = mesh_world(out, a.seed, N, a.mesh_components, mid, comp, depends)
        manifest["files"].append("mesh-world.json")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out, f)) for f in manifest["files"])
    print(f"wrote {len(manifest['files'])} files ({size / 1e6:.1f} MB) to {out} in {time.monotonic() - t0:.2f} s: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()) + f", {edges} dependsOn edges")


if __name__ == "__main__":
    main()
