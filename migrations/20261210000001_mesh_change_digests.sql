-- Digests of the state the last poll stored, split by what they affect (shared by every mesh
-- page, or one Kuma service's own), so that a poll tells the servers which components changed
-- and they drop only the pages showing those (app/src/mesh/repo/change.rs). NULL before the
-- first poll after this migration: that poll is told as a change of everything.
ALTER TABLE mesh_control_planes ADD COLUMN change_digests JSONB;
