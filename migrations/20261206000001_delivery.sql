-- Pipelines and deployments report to the catalog (issue 13): OpenLineage run events and
-- CDEvents, each sent by a verified producer and bound to what that producer may report.
--
-- Events are append-only rows (the serving role may insert and, for retention, delete them,
-- never update them); runs, deployments, changes and incidents are projections of them, kept
-- in the same transaction as the event that moved them.

-- Producer tokens: a new role, scoped to catalog teams or components (reference keys).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('viewer', 'lead', 'auditor', 'admin', 'producer'));
ALTER TABLE api_tokens ADD COLUMN scopes TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_producer_scoped
    CHECK ((role = 'producer') = (cardinality(scopes) > 0));

CREATE TABLE delivery_events (
    id              BIGSERIAL PRIMARY KEY,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- `openlineage` or `cdevents`.
    spec            TEXT NOT NULL CHECK (spec IN ('openlineage', 'cdevents')),
    -- OpenLineage: runId, eventType and eventTime; CloudEvents: source and id. A second event
    -- with the same key is a retry and is ignored.
    idempotency_key TEXT NOT NULL UNIQUE,
    -- `START`, `COMPLETE`, ... or the CDEvent type (`dev.cdevents.service.deployed.0.2.0`).
    event_type      TEXT NOT NULL,
    event_time      TIMESTAMPTZ NOT NULL,
    -- Who sent it: `token:<name>` or `client:<client id>`.
    producer        TEXT NOT NULL,
    -- The component it reports on (reference key), NULL when nothing in the catalog maps it.
    component       TEXT,
    -- What the producer named: `<job namespace>/<job name>` or the CDEvent subject's id.
    subject         TEXT NOT NULL,
    body            JSONB NOT NULL
);
CREATE INDEX delivery_events_component ON delivery_events (component, event_time DESC);
CREATE INDEX delivery_events_unmapped ON delivery_events (producer, subject) WHERE component IS NULL;
CREATE INDEX delivery_events_received ON delivery_events (received_at);
REVOKE UPDATE ON delivery_events FROM bearing_app;

CREATE TABLE delivery_runs (
    -- OpenLineage runId, or `cdevents:<source>#<subject id>` for pipeline and task runs.
    run_id           TEXT PRIMARY KEY,
    job_namespace    TEXT NOT NULL,
    job_name         TEXT NOT NULL,
    component        TEXT,
    -- Only moves forward: queued < started < running < a terminal state.
    status           TEXT NOT NULL
        CHECK (status IN ('queued', 'started', 'running', 'complete', 'fail', 'abort', 'lost', 'other')),
    started_at       TIMESTAMPTZ,
    ended_at         TIMESTAMPTZ,
    -- The first event's time: what lists sort by (a run's START may never arrive).
    first_event_at   TIMESTAMPTZ NOT NULL,
    last_event_at    TIMESTAMPTZ NOT NULL,
    producer         TEXT NOT NULL,
    parent_run_id    TEXT,
    error_message    TEXT,
    error_stack      TEXT,
    nominal_time     TIMESTAMPTZ,
    -- `[{"namespace": .., "name": ..}]`: the jobs this run depends on (OpenLineage
    -- `jobDependencies`), besides the component's declared dependencies.
    job_dependencies JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX delivery_runs_component ON delivery_runs (component, first_event_at DESC, run_id DESC);
CREATE INDEX delivery_runs_job ON delivery_runs (job_namespace, job_name, first_event_at DESC, run_id DESC);
CREATE INDEX delivery_runs_recent ON delivery_runs (first_event_at DESC, run_id DESC);
CREATE INDEX delivery_runs_parent ON delivery_runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX delivery_runs_open ON delivery_runs (last_event_at)
    WHERE status IN ('queued', 'started', 'running');

CREATE TABLE delivery_deployments (
    event_id     BIGINT PRIMARY KEY,
    component    TEXT,
    subject      TEXT NOT NULL,
    -- `deployed`, `upgraded`, `rolledback` or `removed`.
    action       TEXT NOT NULL CHECK (action IN ('deployed', 'upgraded', 'rolledback', 'removed')),
    environment  TEXT,
    artifact     TEXT,
    -- CDEvents `context.chainId`: the merged change that led here shares it.
    chain_id     TEXT,
    at           TIMESTAMPTZ NOT NULL,
    producer     TEXT NOT NULL
);
CREATE INDEX delivery_deployments_component ON delivery_deployments (component, at DESC);
CREATE INDEX delivery_deployments_at ON delivery_deployments (at DESC);

CREATE TABLE delivery_changes (
    event_id     BIGINT PRIMARY KEY,
    component    TEXT,
    subject      TEXT NOT NULL,
    repository   TEXT,
    -- CDEvents `context.chainId`, which links the change to the deployment carrying it (a
    -- `change.merged` names no commit or artifact in CDEvents 0.4/0.5).
    chain_id     TEXT,
    merged_at    TIMESTAMPTZ NOT NULL,
    producer     TEXT NOT NULL
);
CREATE INDEX delivery_changes_component ON delivery_changes (component, merged_at DESC);
CREATE INDEX delivery_changes_chain ON delivery_changes (chain_id) WHERE chain_id IS NOT NULL;
CREATE INDEX delivery_deployments_chain ON delivery_deployments (chain_id) WHERE chain_id IS NOT NULL;

CREATE TABLE delivery_incidents (
    -- `<source>#<subject id>`: detected and resolved events of one incident share it.
    incident_id  TEXT PRIMARY KEY,
    component    TEXT,
    environment  TEXT,
    artifact     TEXT,
    description  TEXT,
    detected_at  TIMESTAMPTZ,
    resolved_at  TIMESTAMPTZ,
    producer     TEXT NOT NULL
);
CREATE INDEX delivery_incidents_component ON delivery_incidents (component, detected_at DESC);

-- Producers a lead allowed to report a component, besides its `bearing.dev/producers`
-- annotation (which the catalog file owns).
CREATE TABLE delivery_bindings (
    component  TEXT NOT NULL,
    producer   TEXT NOT NULL,
    set_by     TEXT NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, producer)
);

-- Events name jobs and services; components claim them by annotation (a comma-separated list),
-- else by name. Few components carry the annotations: the mapping reads those.
CREATE INDEX entities_openlineage_job ON entities (ref)
    WHERE kind = 'component' AND annotations ? 'openlineage.io/job';
CREATE INDEX entities_cdevents_service ON entities (ref)
    WHERE kind = 'component' AND annotations ? 'cdevents.dev/service';
