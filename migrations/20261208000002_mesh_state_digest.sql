-- A digest of the state the last poll stored for each control plane: a poll that reads the
-- same state only records its success instead of rewriting every proxy, service and policy
-- (app/src/mesh/repo/write.rs, replace_state). Cleared when Bearing writes a policy, so the
-- next poll stores what it reads.
ALTER TABLE mesh_control_planes ADD COLUMN state_digest TEXT;
