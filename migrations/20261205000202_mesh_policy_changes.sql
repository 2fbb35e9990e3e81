-- Policy follows the catalog (issue 12): every change Bearing makes to a Kuma policy (apply its
-- proposal, adopt an edit made outside Bearing, roll back), with the resource before and after,
-- so a rollback puts back exactly what was there (or deletes what Bearing created). The audit
-- log has the same change; this table is what rollback reads.
CREATE TABLE mesh_policy_changes (
    id            BIGSERIAL PRIMARY KEY,
    control_plane TEXT NOT NULL,
    mesh          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    component     TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('apply', 'adopt', 'rollback')),
    before        JSONB,
    after         JSONB,
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX mesh_policy_changes_policy ON mesh_policy_changes (control_plane, mesh, kind, name, id DESC);
