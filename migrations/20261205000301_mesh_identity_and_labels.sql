-- Kuma 3.0 readiness (issue 12, section 5) and dataplane labels.
--
-- MeshIdentity resources are kept beside the other resources callers are judged by: in a mesh
-- whose workloads get their identity from a MeshIdentity, traffic permissions are the rules[]
-- form matching SPIFFE IDs, and Bearing must know the identities to generate and judge them.
ALTER TABLE mesh_resources DROP CONSTRAINT mesh_resources_kind_check;
ALTER TABLE mesh_resources ADD CONSTRAINT mesh_resources_kind_check
    CHECK (kind IN ('MeshTrafficPermission', 'TrafficPermission', 'MeshService', 'MeshIdentity'));

-- Which identity system gives the mesh's workloads their certificates: `mesh_mtls` (the Mesh's
-- own mtls backends, Kuma 2.x), `mesh_identity` (MeshIdentity/MeshTrust, Kuma 2.12+ and the only
-- one in 3.0), or null (neither: traffic is plaintext). Bearing writes MeshTrafficPermissions in
-- the from[] form for the first and the rules[] form for the second.
ALTER TABLE mesh_meshes ADD COLUMN identity TEXT CHECK (identity IN ('mesh_mtls', 'mesh_identity'));

-- Each proxy's Dataplane labels (`app`, `k8s.kuma.io/namespace`, `team`, `kuma.io/zone`, ...) as
-- a flat JSON object of strings: for `Dataplane` targetRef selectors and for ownership drift. The
-- poller keeps at most 64, each a label Kuma's own API would accept.
ALTER TABLE mesh_proxies ADD COLUMN labels JSONB NOT NULL DEFAULT '{}';
