-- Identity and accountability: users, sessions, role mappings, API tokens, ownership edits
-- (overrides and transfers) and the tamper-evident audit log.

-- The role the running server acts as (`SET ROLE bearing_app` on every pooled connection). It
-- may read and write the catalog and identity tables but only read and append to the audit
-- log: whoever owns the tables (the migration user) is not the role requests run as.
-- Roles are per cluster, and several databases may be migrated at once (tests): a concurrent
-- creation is not an error.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bearing_app') THEN
        BEGIN
            CREATE ROLE bearing_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END $$;
-- The user that runs migrations may act as the server's role.
GRANT bearing_app TO CURRENT_USER;

-- A person who signed in through the identity provider, known by (issuer, subject).
CREATE TABLE users (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer               TEXT NOT NULL,
    subject              TEXT NOT NULL,
    email                TEXT,
    name                 TEXT,
    -- The identity provider's groups at the last login; roles are derived from them.
    groups               TEXT[] NOT NULL DEFAULT '{}',
    -- The catalog User with the same email (`user:default/jane`), if any.
    catalog_ref          TEXT,
    first_login_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Sessions that logged in before this instant are ended ("end all sessions").
    sessions_valid_after TIMESTAMPTZ,
    UNIQUE (issuer, subject)
);

CREATE INDEX users_email ON users (lower(email));

-- tower-sessions' PostgreSQL store layout (id, data, expiry_date).
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expiry ON sessions (expiry_date);

-- Identity-provider group -> role. `lead` roles name the catalog Group (team) they lead.
-- Besides these rows, the convention `<team>-leads` makes a lead of Group `<team>`.
CREATE TABLE role_mappings (
    idp_group  TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'lead', 'auditor', 'admin')),
    team       TEXT NOT NULL DEFAULT '',
    CHECK ((role = 'lead') = (team <> '')),
    PRIMARY KEY (idp_group, role, team)
);

INSERT INTO role_mappings (idp_group, role) VALUES ('auditors', 'auditor'), ('admins', 'admin');

-- Tokens for machines. Only a SHA-256 of the token is kept: it cannot be shown again.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    -- The first characters of the token, so an admin can tell tokens apart.
    prefix       TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'lead', 'auditor', 'admin')),
    team         TEXT,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    revoked_by   TEXT,
    CHECK ((role = 'lead') = (team IS NOT NULL))
);

-- A field of an entity edited in Bearing while the entity comes from a catalog-as-code file.
-- `value` is what Bearing shows; `source_value` what the file says (NULL: the file has none).
CREATE TABLE entity_overrides (
    entity_id    UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    field        TEXT NOT NULL CHECK (field IN ('owner', 'lifecycle', 'description', 'links')),
    value        JSONB NOT NULL,
    source_value JSONB,
    edited_by    TEXT NOT NULL,
    edited_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, field)
);

-- A request to move an entity to another team, accepted or rejected by the receiving lead.
CREATE TABLE transfers (
    id           BIGSERIAL PRIMARY KEY,
    entity_id    UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    entity_ref   TEXT NOT NULL,
    from_team    TEXT,
    to_team      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by   TEXT,
    decided_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX transfers_one_pending ON transfers (entity_id) WHERE status = 'pending';
CREATE INDEX transfers_to_team ON transfers (to_team, status);
CREATE INDEX transfers_from_team ON transfers (from_team, status);

-- The audit log. Each row's `hash` is SHA-256(prev_hash || canonical JSON of the row), see
-- crates/audit. Rows are never changed: see the grants and triggers below.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    before      JSONB,
    after       JSONB,
    reason      TEXT,
    request_id  TEXT,
    client_addr TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);
CREATE INDEX audit_log_target ON audit_log (target);

-- Signed snapshots of the chain head (Ed25519), so a rewritten tail is detectable too.
CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    head_hash BYTEA NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    key_id    TEXT NOT NULL,
    signature BYTEA NOT NULL
);

-- The chain head, one row. Appending locks it, which orders concurrent appends.
CREATE TABLE audit_head (
    id   BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- What the server's role may do.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bearing_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO bearing_app;
REVOKE ALL ON audit_log, audit_checkpoints FROM bearing_app, PUBLIC;
GRANT SELECT, INSERT ON audit_log, audit_checkpoints TO bearing_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bearing_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO bearing_app;
