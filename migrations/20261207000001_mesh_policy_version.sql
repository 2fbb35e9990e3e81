-- What a mesh's policy set (its permissions, MeshServices, services and gateways) was computed
-- from, as a digest the poller writes with each poll and a policy write replaces. Servers keep
-- the parsed set while it is unchanged, instead of reloading it after every poll (issue 12).
ALTER TABLE mesh_meshes ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';
