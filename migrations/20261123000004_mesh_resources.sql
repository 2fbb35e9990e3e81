-- Mesh state, second part (issue 4): the resources callers are judged by, traffic rollups for
-- data older than the raw retention, and the one rule that maps a Kuma service to a component.

-- MeshTrafficPermissions, legacy TrafficPermissions and MeshServices as Kuma served them; the
-- component page evaluates who may call a service from these (bearing_kuma::permissions).
-- Replaced with the rest of a control plane's state after each complete poll.
CREATE TABLE mesh_resources (
    control_plane TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('MeshTrafficPermission', 'TrafficPermission', 'MeshService')),
    name          TEXT NOT NULL,
    body          JSONB NOT NULL,
    PRIMARY KEY (control_plane, mesh, kind, name)
);

-- Hourly averages of traffic samples older than the raw retention (7 days by default).
CREATE TABLE mesh_traffic_hourly (
    control_plane  TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh           TEXT NOT NULL,
    service        TEXT NOT NULL,
    peer           TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    hour           TIMESTAMPTZ NOT NULL,
    requests_per_s DOUBLE PRECISION NOT NULL,
    errors_per_s   DOUBLE PRECISION NOT NULL,
    p99_ms         DOUBLE PRECISION,
    samples        INTEGER NOT NULL,
    PRIMARY KEY (control_plane, mesh, service, peer, direction, hour)
);

-- Which component claims a Kuma service: the component annotated `kuma.io/service: <service>`
-- (and, if it names one, `kuma.io/mesh: <mesh>`), else the unannotated component of that name.
-- Ties go to the smallest reference, so every page and API agrees.
CREATE INDEX entities_kuma_service ON entities ((annotations ->> 'kuma.io/service')) WHERE kind = 'component';

CREATE FUNCTION mesh_component_for(p_mesh TEXT, p_service TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT e.ref FROM entities e
          WHERE e.kind = 'component' AND e.annotations ->> 'kuma.io/service' = p_service
            AND COALESCE(e.annotations ->> 'kuma.io/mesh', p_mesh) = p_mesh
          ORDER BY e.ref LIMIT 1),
        (SELECT e.ref FROM entities e
          WHERE e.kind = 'component' AND e.name = p_service
            AND e.annotations ->> 'kuma.io/service' IS NULL
            AND COALESCE(e.annotations ->> 'kuma.io/mesh', p_mesh) = p_mesh
          ORDER BY e.ref LIMIT 1))
$$;
