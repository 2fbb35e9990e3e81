-- DORA metrics (issue 13 §5): what `app/src/delivery/dora_repo.rs` asks of the projections,
-- answered from indexes so that a report stays fast with a million stored events.

-- A deployment's neighbours (the event just before and just after it) of the same component
-- and environment, and the deployments of a period within a scope.
CREATE INDEX delivery_deployments_component_environment
    ON delivery_deployments (component, environment, at, event_id);

-- The incidents of a component and environment detected in a window (a deployment's failures),
-- or still open at a time (rework).
CREATE INDEX delivery_incidents_component_environment
    ON delivery_incidents (component, environment, detected_at);
