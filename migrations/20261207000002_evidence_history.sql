-- Evidence for auditors (issue 14): populations "as of" the end of a period need the history of
-- what is otherwise kept only as the current state.

-- Every version of an entity's audited facts, with the time it held. Kept by a trigger on
-- `entities`, so no writer can forget it; a version closes when a tracked field changes or the
-- entity is deleted. The catalog's own tables stay current-state only.
CREATE TABLE entity_history (
    id         BIGSERIAL PRIMARY KEY,
    entity_id  UUID NOT NULL,
    ref        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    type       TEXT,
    owner_ref  TEXT,
    lifecycle  TEXT,
    tier       TEXT,
    source     TEXT,
    orphaned   BOOLEAN NOT NULL,
    etag       TEXT NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to   TIMESTAMPTZ,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX entity_history_entity ON entity_history (entity_id, valid_from);
CREATE INDEX entity_history_open ON entity_history (entity_id) WHERE valid_to IS NULL;
CREATE INDEX entity_history_ref ON entity_history (ref, valid_from);

-- The tier a catalog file gives: Backstage `spec.tier` or label `tier`, Compass's annotation.
CREATE FUNCTION entity_tier(body JSONB, labels JSONB, annotations JSONB) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(body #>> '{spec,tier}', annotations ->> 'compass.atlassian.com/tier', labels ->> 'tier')
$$;

CREATE FUNCTION entity_history_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.ref = OLD.ref AND NEW.kind = OLD.kind
       AND NEW.type IS NOT DISTINCT FROM OLD.type
       AND NEW.owner_ref IS NOT DISTINCT FROM OLD.owner_ref
       AND NEW.lifecycle IS NOT DISTINCT FROM OLD.lifecycle
       AND NEW.source_id IS NOT DISTINCT FROM OLD.source_id
       AND NEW.orphaned = OLD.orphaned
       AND NEW.etag = OLD.etag THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE entity_history SET valid_to = now() WHERE entity_id = OLD.id AND valid_to IS NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO entity_history
               (entity_id, ref, kind, type, owner_ref, lifecycle, tier, source, orphaned, etag, valid_from)
        VALUES (NEW.id, NEW.ref, NEW.kind, NEW.type, NEW.owner_ref, NEW.lifecycle,
                entity_tier(NEW.body, NEW.labels, NEW.annotations),
                (SELECT location FROM sources WHERE id = NEW.source_id), NEW.orphaned, NEW.etag, now());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER entity_history_track AFTER INSERT OR UPDATE OR DELETE ON entities
    FOR EACH ROW EXECUTE FUNCTION entity_history_track();

-- What exists already holds since it was created.
INSERT INTO entity_history
       (entity_id, ref, kind, type, owner_ref, lifecycle, tier, source, orphaned, etag, valid_from)
SELECT e.id, e.ref, e.kind, e.type, e.owner_ref, e.lifecycle, entity_tier(e.body, e.labels, e.annotations),
       s.location, e.orphaned, e.etag, e.created_at
  FROM entities e LEFT JOIN sources s ON s.id = e.source_id;

-- Each day's mesh state, written once a day by the replica that polls the control plane: which
-- services had mTLS and how, and each edge's permission and class. The live tables hold only
-- the latest poll.
CREATE TABLE mesh_daily_services (
    day                  DATE NOT NULL,
    control_plane        TEXT NOT NULL,
    mesh                 TEXT NOT NULL,
    service              TEXT NOT NULL,
    component            TEXT,
    mtls_enabled         BOOLEAN NOT NULL,
    mtls_mode            TEXT,
    mtls_backend         TEXT,
    earliest_cert_expiry TIMESTAMPTZ,
    PRIMARY KEY (day, control_plane, mesh, service)
);

CREATE TABLE mesh_daily_edges (
    day            DATE NOT NULL,
    control_plane  TEXT NOT NULL,
    mesh           TEXT NOT NULL,
    caller         TEXT NOT NULL,
    callee         TEXT NOT NULL,
    caller_component TEXT,
    callee_component TEXT,
    declared       BOOLEAN NOT NULL,
    observed       BOOLEAN NOT NULL,
    allowed        BOOLEAN NOT NULL,
    enforced       BOOLEAN NOT NULL,
    policy         TEXT,
    class          TEXT NOT NULL,
    PRIMARY KEY (day, control_plane, mesh, caller, callee)
);
