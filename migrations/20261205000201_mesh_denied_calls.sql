-- Policy follows the catalog (issue 12): observed edges.
--
-- The calls a destination's traffic permissions refused (403 on the caller's outbound cluster),
-- per caller and destination, beside requests and 5xx, in the time series.
ALTER TABLE mesh_traffic ADD COLUMN denied_per_s DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE mesh_traffic_hourly ADD COLUMN denied_per_s DOUBLE PRECISION NOT NULL DEFAULT 0;

-- Each caller -> destination pair's latest outbound rates and when it last carried requests,
-- kept current by every stats round, so classifying a mesh's edges reads one row per pair
-- instead of a week of samples. `last_seen` is null for a pair whose cluster exists but has
-- never carried a request since Bearing watches it.
CREATE TABLE mesh_observed_edges (
    control_plane  TEXT NOT NULL REFERENCES mesh_control_planes (name) ON DELETE CASCADE,
    mesh           TEXT NOT NULL,
    caller         TEXT NOT NULL,
    callee         TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    requests_per_s DOUBLE PRECISION NOT NULL,
    errors_per_s   DOUBLE PRECISION NOT NULL,
    denied_per_s   DOUBLE PRECISION NOT NULL,
    last_seen      TIMESTAMPTZ,
    PRIMARY KEY (control_plane, mesh, caller, callee)
);
