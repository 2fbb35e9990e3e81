#!/usr/bin/env python3
"""Appends N valid audit rows to a Bearing database, for the evidence benchmark (issue 14).

Writes PostgreSQL COPY text to stdout: rows that continue the chain from the head given on the
command line (`SEQ HASH_HEX AT_EPOCH_MICROS`), each hashed exactly as Bearing hashes (SHA-256 of
the previous hash and the RFC 8785 form of the row's body), so that the exported log verifies
with audit/verify_chain.py. The last line on stderr is the new head `SEQ HASH_HEX`.

The mix is what a busy portal records: 70% entity edits, 20% sign-ins of 500 people (with the
roles they carried), 10% imports; one row every 5 ms after the current head.

    python3 bench/audit-fill.py 1000000 SEQ HASH AT_MICROS | psql ... -c "COPY audit_log (...) FROM STDIN"
"""
import hashlib
import json
import sys
from datetime import datetime, timezone


def jcs(value):
    # Bodies here hold only ASCII strings, integers, lists and objects: for those, sorted keys
    # and no whitespace are exactly RFC 8785.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(micros):
    t = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (micros % 1_000_000)


def copy_text(value):
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def main():
    n, seq, prev_hex, at = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    prev = bytes.fromhex(prev_hex)
    out = sys.stdout
    for i in range(n):
        seq += 1
        at += 5_000
        kind = i % 10
        body = {"seq": seq, "at": timestamp(at)}
        if kind < 7:
            comp = "component:default/comp-%05d" % (i % 10_000)
            body.update(actor="user:http://idp.bench#lead-%03d" % (i % 50), actor_kind="user", action="entity.update",
                        target=comp, before={"lifecycle": "experimental"}, after={"lifecycle": "production"},
                        reason="bench edit %d" % i)
        elif kind < 9:
            person = i % 500
            body.update(actor="user:http://idp.bench#person-%03d" % person, actor_kind="user", action="auth.login",
                        target="user:http://idp.bench#person-%03d" % person,
                        after={"email": "person-%03d@bench.example" % person, "email_verified": True,
                               "groups": ["team-%02d-leads" % (person % 40)] if person < 40 else ["engineers"],
                               "lead_of": ["group:default/team-%02d" % (person % 40)] if person < 40 else [],
                               "roles": ["lead", "viewer"] if person < 40 else ["viewer"],
                               "name": "Person %d" % person, "catalog_ref": None})
        else:
            body.update(actor="system:import", actor_kind="system", action="catalog.import",
                        target="bench/catalog-%d.yaml" % (i % 100),
                        after={"added": [], "updated": ["component:default/comp-%05d" % (i % 10_000)], "orphaned": [],
                               "unchanged": 0, "overrides_cleared": [], "override_conflicts": []})
        # JSON null fields are left out of the body, as Bearing leaves them out.
        if body.get("after") is not None:
            body["after"] = {k: v for k, v in body["after"].items() if v is not None} or None
        canonical = jcs({k: v for k, v in body.items() if v is not None})
        digest = hashlib.sha256(prev + canonical.encode("utf-8")).digest()
        row = [
            str(seq), body["at"], body["actor"], body["actor_kind"], body["action"], body.get("target"),
            jcs(body["before"]) if body.get("before") is not None else None,
            jcs(body["after"]) if body.get("after") is not None else None,
            body.get("reason"), None, None, "\\\\x" + prev.hex(), "\\\\x" + digest.hex(),
        ]
        out.write("\t".join(r if r is not None and r.startswith("\\\\x") else copy_text(r) for r in row) + "\n")
        prev = digest
    print("%d %s" % (seq, prev.hex()), file=sys.stderr)


if __name__ == "__main__":
    main()
