-- Access reviews (issue 14 §3): an admin opens a review of who holds which role; each entry goes
-- to a reviewer who is never its subject, who keeps or revokes it; closing signs an attestation
-- over the entries. Rows name people and tokens by value (and id, without foreign keys): a
-- review is evidence and must outlive the user or token it names.

CREATE TABLE access_reviews (
    id              BIGSERIAL PRIMARY KEY,
    -- `all`, or the reference key of the one team whose roles are reviewed.
    scope           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    due_on          DATE NOT NULL,
    opened_by       TEXT NOT NULL,
    opened_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_by       TEXT,
    closed_at       TIMESTAMPTZ,
    -- The signed attestation, exactly the bytes signed (canonical JSON), and the canonical JSON
    -- lines of the entries it hashes, as they were when the review closed.
    attestation     TEXT,
    entries_jsonl   TEXT,
    -- Ed25519 over `attestation` with the audit signing key (64 bytes).
    signature       BYTEA,
    key_fingerprint TEXT,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_by IS NOT NULL
        AND attestation IS NOT NULL AND entries_jsonl IS NOT NULL AND signature IS NOT NULL))
);
CREATE INDEX access_reviews_opened ON access_reviews (opened_at);
CREATE INDEX access_reviews_closed ON access_reviews (closed_at);

-- One grant under review: a person's role (per led team for leads) or an API token.
CREATE TABLE access_review_entries (
    id            BIGSERIAL PRIMARY KEY,
    review_id     BIGINT NOT NULL REFERENCES access_reviews (id),
    kind          TEXT NOT NULL CHECK (kind IN ('person', 'token')),
    -- `user:<issuer>#<subject>` or `token:<name>`, as the audit log names them.
    subject       TEXT NOT NULL,
    -- Name and email, or the token's name: for people reading the review.
    subject_label TEXT NOT NULL,
    user_id       UUID,
    token_id      UUID,
    role          TEXT NOT NULL,
    -- The led team for leads and team tokens; '' otherwise.
    team          TEXT NOT NULL DEFAULT '',
    -- How the role was granted (IdP group and mapping rule, bootstrap admin, token creator).
    granted_via   TEXT NOT NULL,
    last_seen_at  TIMESTAMPTZ,
    -- Who decides: `team_leads` (any lead of `team`), `admins`, or `unassigned` (nobody but the
    -- subject could have).
    reviewer      TEXT NOT NULL CHECK (reviewer IN ('team_leads', 'admins', 'unassigned')),
    decision      TEXT CHECK (decision IN ('keep', 'revoke')),
    note          TEXT,
    decided_by    TEXT,
    decided_at    TIMESTAMPTZ,
    CHECK ((kind = 'person') = (user_id IS NOT NULL)),
    CHECK ((kind = 'token') = (token_id IS NOT NULL)),
    CHECK ((decision IS NULL) = (decided_by IS NULL AND decided_at IS NULL AND note IS NULL))
);
CREATE INDEX access_review_entries_review ON access_review_entries (review_id, id);

-- The mesh part of a review: for each Kuma service, who could change its policies and
-- ownership when the review opened (leads of the owning team; admins may change every service).
CREATE TABLE access_review_services (
    review_id     BIGINT NOT NULL REFERENCES access_reviews (id),
    control_plane TEXT NOT NULL,
    mesh          TEXT NOT NULL,
    service       TEXT NOT NULL,
    component     TEXT,
    owner         TEXT,
    -- The leads of `owner`: people (`user:...`) and lead tokens (`token:...`), with labels.
    leads         TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (review_id, control_plane, mesh, service)
);

-- A role taken from one person although their identity-provider groups still grant it: a
-- revoke in an access review, or an admin. Consulted wherever roles are derived, so the
-- person's next request lacks the role. Lifted (not deleted) by an admin.
CREATE TABLE role_overrides (
    id              BIGSERIAL PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('lead', 'auditor', 'admin')),
    -- The led team for `lead`; '' otherwise.
    team            TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    review_entry_id BIGINT REFERENCES access_review_entries (id),
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    lifted_by       TEXT,
    lifted_at       TIMESTAMPTZ,
    CHECK ((role = 'lead') = (team <> '')),
    CHECK ((lifted_at IS NULL) = (lifted_by IS NULL))
);
CREATE UNIQUE INDEX role_overrides_active ON role_overrides (user_id, role, team) WHERE lifted_at IS NULL;
