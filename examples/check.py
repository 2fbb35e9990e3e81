#!/usr/bin/env python3
"""Consistency checker for the Acme Retail demo catalog (and any Backstage catalog-as-code tree).

    python3 examples/check.py                      # checks examples/catalog-info.yaml
    python3 examples/check.py path/to/catalog-info.yaml --no-minimums --expect-unresolved none

It follows `kind: Location` targets (relative to the file holding the Location; a glob is
allowed in the last path segment only), loads every Backstage entity and every Atlassian
Compass `compass.yml`, and checks that:

  * every document has a known apiVersion/kind, a valid name (^[a-z0-9]+(-[a-z0-9]+)*$,
    at most 63 characters, usable as a Kuma mesh service name) and the spec fields Backstage
    requires for its kind; no entity is defined twice;
  * every reference resolves (owner, system, domain, parent, children, members, memberOf,
    dependsOn, dependencyOf, providesApis, consumesApis, subcomponentOf, subdomainOf), except
    the deliberately unresolved ones given by --expect-unresolved (by default exactly
    `component:default/legacy-erp`), which must be present and unresolved;
  * Group parent/children agree; every team has members; every user belongs to a group;
  * API definitions parse (OpenAPI/AsyncAPI as YAML with `paths`/`channels`, gRPC as proto3);
  * Compass files have the required keys, unique ids, an ownerId that matches a Group's
    `compass.atlassian.com/team-id` annotation and DEPENDS_ON targets that exist;
  * every *.yaml / *.yml under the root directory is reachable from the root Location;
  * the demo's minimum counts are met (unless --no-minimums).

Needs PyYAML (`pip install pyyaml`). Exits 1 on any problem.
"""
import argparse
import glob
import os
import re
import sys
from collections import Counter, defaultdict

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check.py needs PyYAML: pip install pyyaml")

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NS_RE = NAME_RE
KINDS = {"component", "api", "system", "domain", "resource", "group", "user", "location"}
API_VERSIONS = {"backstage.io/v1alpha1", "backstage.io/v1beta1"}
COMPONENT_TYPES = {"service", "website", "library", "pipeline"}
LIFECYCLES = {"production", "experimental", "deprecated"}
API_TYPES = {"openapi", "asyncapi", "grpc", "graphql"}
COMPASS_TYPES = {"SERVICE", "LIBRARY", "APPLICATION", "CAPABILITY", "CLOUD_RESOURCE", "DATA_PIPELINE",
                 "MACHINE_LEARNING_MODEL", "UI_ELEMENT", "WEBSITE", "OTHER"}
COMPASS_LINK_TYPES = {"REPOSITORY", "DOCUMENT", "DASHBOARD", "ON_CALL", "PROJECT", "CHAT_CHANNEL", "OTHER_LINK"}
COMPASS_LIFECYCLES = {"Active", "Pre-release", "Deprecated"}
TEAM_ID_ANNOTATION = "compass.atlassian.com/team-id"

MINIMUMS = {"team": 6, "user": 24, "domain": 3, "system": 8, "component": 40, "api": 12, "resource": 3}

# (kind, field path, default kind of the reference or None if the kind is required, many?)
REF_FIELDS = {
    "component": [("owner", "group", False), ("system", "system", False), ("subcomponentOf", "component", False),
                  ("dependsOn", None, True), ("dependencyOf", None, True),
                  ("providesApis", "api", True), ("consumesApis", "api", True)],
    "api": [("owner", "group", False), ("system", "system", False)],
    "resource": [("owner", "group", False), ("system", "system", False),
                 ("dependsOn", None, True), ("dependencyOf", None, True)],
    "system": [("owner", "group", False), ("domain", "domain", False)],
    "domain": [("owner", "group", False), ("subdomainOf", "domain", False)],
    "group": [("parent", "group", False), ("children", "group", True), ("members", "user", True)],
    "user": [("memberOf", "group", True)],
}
REQUIRED_SPEC = {
    "component": ["type", "lifecycle", "owner"],
    "api": ["type", "lifecycle", "owner", "definition"],
    "resource": ["type", "owner"],
    "system": ["owner"],
    "domain": ["owner"],
    "group": ["type", "children"],
    "user": ["memberOf"],
}


class Checker:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.root_dir = os.path.dirname(self.root)
        self.errors = []
        self.entities = {}  # "kind:ns/name" -> (entity dict, file)
        self.compass = {}  # id -> (doc, file)
        self.files = set()

    def err(self, where, msg):
        self.errors.append(f"{os.path.relpath(where, os.getcwd())}: {msg}")

    # ---- loading ----
    def load(self, path):
        path = os.path.abspath(path)
        if path in self.files:
            return
        self.files.add(path)
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.load_all(f, Loader=Loader) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            self.err(path, f"cannot read: {e}")
            return
        base = os.path.basename(path)
        for i, doc in enumerate(docs, 1):
            where = f"{path} (document {i})"
            if not isinstance(doc, dict):
                self.err(where, "document is not a mapping")
            elif base in ("compass.yml", "compass.yaml") or ("configVersion" in doc and "apiVersion" not in doc):
                self.add_compass(where, doc)
            else:
                self.add_entity(where, path, doc)

    def add_entity(self, where, path, doc):
        if doc.get("apiVersion") not in API_VERSIONS:
            self.err(where, f"unexpected apiVersion {doc.get('apiVersion')!r}")
        kind = str(doc.get("kind", "")).lower()
        md = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        name = md.get("name")
        ns = md.get("namespace", "default")
        if kind not in KINDS:
            self.err(where, f"unknown kind {doc.get('kind')!r}")
            return
        if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 63:
            self.err(where, f"invalid name {name!r} (want ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63 chars)")
            return
        if not NS_RE.match(str(ns)):
            self.err(where, f"invalid namespace {ns!r}")
        key = f"{kind}:{ns}/{name}"
        if key in self.entities:
            self.err(where, f"{key} already defined in {self.entities[key][1]}")
            return
        self.entities[key] = (doc, where)
        for field in REQUIRED_SPEC.get(kind, []):
            if field not in spec:
                self.err(where, f"{key}: spec.{field} is required")
        for field in ("tags",):
            for t in md.get(field) or []:
                if not re.match(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$", str(t)):
                    self.err(where, f"{key}: invalid tag {t!r}")
        for link in md.get("links") or []:
            if not str(link.get("url", "")).startswith(("https://", "http://")):
                self.err(where, f"{key}: link without an http(s) url: {link!r}")
        if kind == "location":
            targets = list(spec.get("targets") or [])
            if spec.get("target"):
                targets.append(spec["target"])
            if not targets:
                self.err(where, f"{key}: Location without targets")
            for t in targets:
                self.follow(where, os.path.dirname(path), t)
        elif kind == "component":
            if spec.get("type") not in COMPONENT_TYPES:
                self.err(where, f"{key}: unexpected component type {spec.get('type')!r}")
            if spec.get("lifecycle") not in LIFECYCLES:
                self.err(where, f"{key}: unexpected lifecycle {spec.get('lifecycle')!r}")
        elif kind == "api":
            self.check_definition(where, key, spec)

    def follow(self, where, base_dir, target):
        if re.match(r"^[a-z]+://", target):
            self.err(where, f"remote target {target!r} is not supported here")
            return
        head, last = os.path.split(target)
        if any(c in head for c in "*?["):
            self.err(where, f"target {target!r}: a glob is allowed in the last path segment only")
            return
        full = os.path.normpath(os.path.join(base_dir, target))
        if any(c in last for c in "*?["):
            matches = sorted(glob.glob(full))
            if not matches:
                self.err(where, f"target {target!r} matches no file")
            for m in matches:
                self.load(m)
        elif not os.path.isfile(full):
            self.err(where, f"target {target!r} does not exist")
        else:
            self.load(full)

    def check_definition(self, where, key, spec):
        d = spec.get("definition")
        t = spec.get("type")
        if t not in API_TYPES:
            self.err(where, f"{key}: unexpected API type {t!r}")
        if not isinstance(d, str) or not d.strip():
            self.err(where, f"{key}: spec.definition must be a non-empty string")
            return
        if t in ("openapi", "asyncapi"):
            try:
                parsed = yaml.load(d, Loader=Loader)
            except yaml.YAMLError as e:
                self.err(where, f"{key}: definition is not valid YAML: {e}")
                return
            want = ("openapi", "paths") if t == "openapi" else ("asyncapi", "channels")
            if not isinstance(parsed, dict) or any(w not in parsed for w in want):
                self.err(where, f"{key}: {t} definition needs top-level {' and '.join(want)}")
            elif not isinstance(parsed.get("info"), dict) or "title" not in parsed["info"] or "version" not in parsed["info"]:
                self.err(where, f"{key}: {t} definition needs info.title and info.version")
        elif t == "grpc":
            if 'syntax = "proto3";' not in d or not re.search(r"\bservice \w+ \{", d):
                self.err(where, f"{key}: gRPC definition should be proto3 with a service")
            if d.count("{") != d.count("}"):
                self.err(where, f"{key}: unbalanced braces in proto definition")

    def add_compass(self, where, doc):
        for k in ("name", "id", "configVersion", "typeId"):
            if k not in doc:
                self.err(where, f"compass: {k} is required")
        cid = doc.get("id", "")
        if not re.match(r"^ari:cloud:compass:[0-9a-f-]{36}:component/[0-9a-f-]{36}/[0-9a-f-]{36}$", str(cid)):
            self.err(where, f"compass: id {cid!r} is not a Compass component ARI")
        if cid in self.compass:
            self.err(where, f"compass: id already used by {self.compass[cid][1]}")
        self.compass[cid] = (doc, where)
        if doc.get("configVersion") != 1:
            self.err(where, "compass: configVersion must be 1")
        if doc.get("typeId") not in COMPASS_TYPES:
            self.err(where, f"compass: unknown typeId {doc.get('typeId')!r}")
        fields = doc.get("fields") or {}
        if "tier" in fields and fields["tier"] not in (1, 2, 3, 4):
            self.err(where, "compass: fields.tier must be 1-4")
        if "lifecycle" in fields and fields["lifecycle"] not in COMPASS_LIFECYCLES:
            self.err(where, f"compass: fields.lifecycle must be one of {sorted(COMPASS_LIFECYCLES)}")
        for link in doc.get("links") or []:
            if link.get("type") not in COMPASS_LINK_TYPES or not str(link.get("url", "")).startswith("https://"):
                self.err(where, f"compass: bad link {link!r}")

    # ---- references ----
    @staticmethod
    def parse_ref(s, default_kind):
        s = str(s).strip()
        if ":" in s:
            kind, rest = s.split(":", 1)
        elif default_kind:
            kind, rest = default_kind, s
        else:
            return None
        ns, name = rest.split("/", 1) if "/" in rest else ("default", rest)
        return f"{kind.lower()}:{ns.lower()}/{name.lower()}"

    def resolve(self):
        unresolved = []
        for key, (doc, where) in self.entities.items():
            kind = key.split(":", 1)[0]
            spec = doc.get("spec") or {}
            for field, default_kind, many in REF_FIELDS.get(kind, []):
                if field not in spec or spec[field] is None:
                    continue
                vals = spec[field]
                if many != isinstance(vals, list):
                    self.err(where, f"{key}: spec.{field} should be {'a list' if many else 'a single reference'}")
                    vals = vals if isinstance(vals, list) else [vals]
                elif not many:
                    vals = [vals]
                if len({str(v).lower() for v in vals}) != len(vals):
                    self.err(where, f"{key}: spec.{field} lists a reference twice")
                for v in vals:
                    ref = self.parse_ref(v, default_kind)
                    if ref is None:
                        self.err(where, f"{key}: spec.{field} reference {v!r} needs a kind (e.g. component:{v})")
                    elif ref not in self.entities:
                        unresolved.append((ref, key, field, where))
        # Group hierarchy consistency.
        for key, (doc, where) in self.entities.items():
            if not key.startswith("group:"):
                continue
            spec = doc.get("spec") or {}
            for child in spec.get("children") or []:
                cref = self.parse_ref(child, "group")
                if cref in self.entities:
                    cparent = (self.entities[cref][0].get("spec") or {}).get("parent")
                    if cparent is None or self.parse_ref(cparent, "group") != key:
                        self.err(where, f"{key}: child {cref} has spec.parent {cparent!r}")
            parent = spec.get("parent")
            if parent:
                pref = self.parse_ref(parent, "group")
                if pref in self.entities:
                    kids = [self.parse_ref(c, "group") for c in (self.entities[pref][0]["spec"].get("children") or [])]
                    if key not in kids:
                        self.err(where, f"{key}: parent {pref} does not list it in spec.children")
        return unresolved

    def check_membership(self):
        members = Counter()
        for key, (doc, where) in self.entities.items():
            if key.startswith("user:"):
                groups = (doc.get("spec") or {}).get("memberOf") or []
                if not groups:
                    self.err(where, f"{key}: belongs to no group")
                for g in groups:
                    members[self.parse_ref(g, "group")] += 1
                profile = (doc.get("spec") or {}).get("profile") or {}
                if not profile.get("displayName") or "@" not in str(profile.get("email", "")):
                    self.err(where, f"{key}: spec.profile needs displayName and email")
            elif key.startswith("group:"):
                profile = (doc.get("spec") or {}).get("profile") or {}
                if not profile.get("displayName") or "@" not in str(profile.get("email", "")):
                    self.err(where, f"{key}: spec.profile needs displayName and email")
        for key, (doc, where) in self.entities.items():
            if key.startswith("group:") and (doc.get("spec") or {}).get("type") == "team" and not members[key]:
                self.err(where, f"{key}: team has no members")

    def check_compass_refs(self):
        team_ids = {}
        for key, (doc, _) in self.entities.items():
            tid = ((doc.get("metadata") or {}).get("annotations") or {}).get(TEAM_ID_ANNOTATION)
            if key.startswith("group:") and tid:
                team_ids[tid] = key
        for cid, (doc, where) in self.compass.items():
            owner = doc.get("ownerId")
            if owner and owner not in team_ids:
                self.err(where, f"compass: ownerId {owner!r} matches no Group annotation {TEAM_ID_ANNOTATION}")
            rels = doc.get("relationships") or {}
            for target in rels.get("DEPENDS_ON") or []:
                if target not in self.compass:
                    self.err(where, f"compass: DEPENDS_ON {target!r} is not a known Compass component")
                if target == cid:
                    self.err(where, "compass: depends on itself")
        return team_ids

    def check_reachable(self):
        for dirpath, _, names in os.walk(self.root_dir):
            for n in names:
                p = os.path.join(dirpath, n)
                if n.endswith((".yaml", ".yml")) and os.path.abspath(p) not in self.files:
                    self.err(p, "not reachable from the root Location")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", default=os.path.join(here, "catalog-info.yaml"))
    ap.add_argument("--expect-unresolved", action="append", default=None, metavar="REF",
                    help="a reference that must stay unresolved (repeatable; 'none' for none). "
                         "Default: component:default/legacy-erp")
    ap.add_argument("--no-minimums", action="store_true", help="skip the demo's minimum entity counts")
    ap.add_argument("--no-reachability", action="store_true", help="don't require every YAML file to be a target")
    args = ap.parse_args()
    expected = args.expect_unresolved if args.expect_unresolved is not None else ["component:default/legacy-erp"]
    expected = {Checker.parse_ref(r, None) for r in expected if r != "none"}

    c = Checker(args.root)
    c.load(c.root)
    unresolved = c.resolve()
    c.check_membership()
    team_ids = c.check_compass_refs()
    if not args.no_reachability:
        c.check_reachable()

    seen_expected = set()
    for ref, src, field, where in unresolved:
        if ref in expected:
            seen_expected.add(ref)
        else:
            c.err(where, f"{src}: spec.{field} -> {ref} does not resolve")
    for ref in sorted(expected - seen_expected):
        c.errors.append(f"expected {ref} to be referenced and unresolved, but it is not")

    counts = Counter(k.split(":", 1)[0] for k in c.entities)
    teams = sum(1 for k, (d, _) in c.entities.items() if k.startswith("group:") and (d.get("spec") or {}).get("type") == "team")
    counts["team"] = teams
    if not args.no_minimums:
        for what, n in MINIMUMS.items():
            if counts[what] < n:
                c.errors.append(f"only {counts[what]} {what}(s); the demo needs at least {n}")

    comps = [d for k, (d, _) in c.entities.items() if k.startswith("component:")]
    by_type = Counter(d["spec"].get("type") for d in comps)
    by_life = Counter(d["spec"].get("lifecycle") for d in comps)
    edges = sum(len((d.get("spec") or {}).get("dependsOn") or []) for d, _ in c.entities.values())
    print(f"files: {len(c.files)}; entities: {len(c.entities)} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); compass components: {len(c.compass)}")
    print(f"component types: {dict(by_type)}; lifecycles: {dict(by_life)}; dependsOn edges: {edges}")
    print(f"compass teams mapped: {', '.join(f'{v}' for v in team_ids.values()) or 'none'}; "
          f"unresolved as expected: {', '.join(sorted(seen_expected)) or 'none'}")
    if c.errors:
        print(f"\n{len(c.errors)} problem(s):", file=sys.stderr)
        for e in c.errors:
            print(f"  {e}", file=sys.stderr)
        sys.exit(1)
    print("OK: every reference resolves, names are valid" + ("" if args.no_minimums else ", minimums met"))


if __name__ == "__main__":
    main()
