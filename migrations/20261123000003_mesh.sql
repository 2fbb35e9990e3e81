-- Live mesh state read from Kuma control planes (issue 4). The poller replaces a control
-- plane's current state in one transaction after a complete poll; traffic is a time series.
-- Table privileges for bearing_app come from the default privileges of the previous migration.

CREATE TABLE mesh_control_planes (
    name            TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    last_success_at TIMESTAMPTZ,
    last_error      TEXT,
    last_error_at   TIMESTAMPTZ
);

-- One poller per control plane across replicas: the holder renews before expires_at.
CREATE TABLE mesh_poll_leases (
    control_plane TEXT PRIMARY KEY REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    holder        TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE mesh_meshes (
    control_plane    TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh             TEXT NOT NULL,
    mtls_enabled     BOOLEAN NOT NULL,
    mtls_backend     TEXT,
    mtls_type        TEXT,
    mtls_mode        TEXT,
    policy_counts    JSONB NOT NULL DEFAULT '{}',
    observed_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (control_plane, mesh)
);

CREATE TABLE mesh_proxies (
    control_plane     TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh              TEXT NOT NULL,
    name              TEXT NOT NULL,
    services          TEXT[] NOT NULL,
    gateway           TEXT,
    status            TEXT NOT NULL CHECK (status IN ('online', 'offline', 'partially_degraded')),
    cert_expires_at   TIMESTAMPTZ,
    cert_state        TEXT NOT NULL,
    observed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (control_plane, mesh, name)
);
CREATE INDEX mesh_proxies_services ON mesh_proxies USING GIN (services);

CREATE TABLE mesh_services (
    control_plane      TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh               TEXT NOT NULL,
    service            TEXT NOT NULL,
    status             TEXT NOT NULL,
    total              INTEGER NOT NULL,
    online             INTEGER NOT NULL,
    offline            INTEGER NOT NULL,
    partially_degraded INTEGER NOT NULL,
    observed_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (control_plane, mesh, service)
);

CREATE TABLE mesh_traffic (
    control_plane  TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh           TEXT NOT NULL,
    service        TEXT NOT NULL,
    peer           TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    at             TIMESTAMPTZ NOT NULL,
    requests_per_s DOUBLE PRECISION NOT NULL,
    errors_per_s   DOUBLE PRECISION NOT NULL,
    p99_ms         DOUBLE PRECISION
);
CREATE INDEX mesh_traffic_lookup ON mesh_traffic (control_plane, mesh, service, at DESC);
CREATE INDEX mesh_traffic_at ON mesh_traffic (at);
