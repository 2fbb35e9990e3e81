-- Policy follows the catalog (issue 12 §3-4, `--kuma-policy-mode`): the providers whose
-- declared consumers an import changed, so their Bearing policy no longer follows the catalog,
-- and the components it added, whose templated policies are not in the mesh yet. The
-- import writes a row in its own transaction (whatever the mode: the mode belongs to the
-- control plane, which the import does not know); the server's policy worker then clears it
-- (`off`, or the policy in the mesh already matches), leaves it for a lead to apply
-- (`propose`), or applies the policy as the importing identity (`apply`). Applying by hand
-- clears it too.
CREATE TABLE policy_out_of_date (
    component    TEXT NOT NULL,
    -- What the mark is about: `MeshTrafficPermission` (declared consumers changed) or
    -- `templates` (a new component, whose templated policies are not in the mesh yet).
    kind         TEXT NOT NULL,
    since        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- What changed it, e.g. "import of /srv/catalog/web.yaml" (the latest such import).
    cause        TEXT NOT NULL,
    -- The importing identity (Bearing's `CurrentUser`), which `apply` mode acts as.
    importer     JSONB NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    last_attempt TIMESTAMPTZ,
    PRIMARY KEY (component, kind)
);
