#!/usr/bin/env python3
"""Extracts the JSON schemas of the resources Bearing writes from Kuma's OpenAPI spec.

Source: `components.schemas.<Kind>Item` of Kuma's generated spec
`../shared/kuma/openapi/kuma-v2.14.3-openapi.yaml` (kumahq/kuma v2.14.3, commit
0c7aaec033b7dad03c3a9f4d5b56eb6d941bfff9, `docs/generated/openapi.yaml`). Kuma's API server
validates a PUT body against exactly these schemas before anything else
(`pkg/core/resources/model/rest/unmarshaller.go`, the validators built in each type's
`zz_generated.resource.go` from `components.schemas.<Kind>Item`). They contain no `$ref`, so each
is a self-contained JSON Schema (OpenAPI 3.1 = JSON Schema 2020-12).

Regenerate (from the repository root, needs PyYAML):

    python3 crates/kuma/schemas/extract.py ../shared/kuma/openapi/kuma-v2.14.3-openapi.yaml \
        > crates/kuma/schemas/kuma-2.14.3.json
"""

import json
import sys

import yaml

# The resource types Bearing generates, previews and PUTs, plus the MeshIdentity and MeshService
# shapes of Kuma 3.0-ready meshes.
KINDS = [
    "MeshAccessLog",
    "MeshIdentity",
    "MeshMetric",
    "MeshRetry",
    "MeshService",
    "MeshTimeout",
    "MeshTrafficPermission",
]


def has_ref(node):
    if isinstance(node, dict):
        return "$ref" in node or any(has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(has_ref(v) for v in node)
    return False


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: extract.py PATH/TO/kuma-v2.14.3-openapi.yaml > kuma-2.14.3.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    schemas = spec["components"]["schemas"]
    out = {}
    for kind in KINDS:
        schema = schemas[kind + "Item"]
        if has_ref(schema):
            sys.exit(f"{kind}Item has a $ref: the extractor would have to resolve it")
        out[kind] = schema
    document = {
        "source": "kumahq/kuma v2.14.3 (0c7aaec033b7dad03c3a9f4d5b56eb6d941bfff9) "
        "docs/generated/openapi.yaml components.schemas.<Kind>Item",
        "generatedBy": "crates/kuma/schemas/extract.py",
        "schemas": out,
    }
    json.dump(document, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
