-- How many times Bearing itself wrote a policy of each control plane (app/src/policy/repo.rs,
-- store_written). A poll notes it before reading the control plane and stores what it read only
-- if it has not moved meanwhile: a poll that read before Bearing's write and stored after it
-- would bring back the state Bearing just changed (a rolled-back policy shown as applied) until
-- the next poll.
ALTER TABLE mesh_control_planes ADD COLUMN bearing_writes BIGINT NOT NULL DEFAULT 0;
