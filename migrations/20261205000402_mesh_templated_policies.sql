-- Policy templates (issue 12 §4): the poller keeps the mesh's MeshTimeouts, MeshRetries,
-- MeshAccessLogs and MeshMetrics as served, so Bearing's templated policies can be compared
-- with their proposals (applied, differs, edited outside Bearing).
ALTER TABLE mesh_resources DROP CONSTRAINT mesh_resources_kind_check;
ALTER TABLE mesh_resources ADD CONSTRAINT mesh_resources_kind_check
    CHECK (kind IN ('MeshTrafficPermission', 'TrafficPermission', 'MeshService', 'MeshIdentity',
                    'MeshTimeout', 'MeshRetry', 'MeshAccessLog', 'MeshMetric'));
