-- Policy follows the catalog (issue 12): the calls a destination's traffic permissions refused
-- (403 on the caller's outbound cluster), per caller and destination, beside requests and 5xx.
-- With them an observed edge says whether it is being denied.
ALTER TABLE mesh_traffic ADD COLUMN denied_per_s DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE mesh_traffic_hourly ADD COLUMN denied_per_s DOUBLE PRECISION NOT NULL DEFAULT 0;

-- The edges of a mesh read every caller's outbound samples within a window.
CREATE INDEX mesh_traffic_outbound ON mesh_traffic (control_plane, mesh, at) WHERE direction = 'outbound';
