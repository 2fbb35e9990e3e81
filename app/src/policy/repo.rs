//! SQL of the edges: what the catalog declares between components, and what the poller observed
//! between Kuma services. The mesh state itself (services, policies) is read through
//! [`crate::mesh::repo`].

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

/// A component -> component dependency the catalog declares, and how.
#[derive(Debug, Clone, FromRow)]
pub struct DeclaredDependency {
    /// The dependent component's reference key.
    pub from_ref: String,
    /// The component it depends on.
    pub to_ref: String,
    /// `dependsOn`, or `consumesApi <api ref>` where `to_ref` provides that API.
    pub via: String,
}

/// Every component -> component dependency (with `focus`, only those from or to one of those
/// components): `dependsOn` between components, and `consumesApi` joined with the components
/// providing that API. A component consuming its own API is no edge.
pub async fn declared_dependencies(
    db: impl PgExecutor<'_>,
    focus: Option<&[String]>,
) -> sqlx::Result<Vec<DeclaredDependency>> {
    sqlx::query_as(
        "SELECT r.source_ref AS from_ref, r.target_ref AS to_ref, 'dependsOn' AS via
           FROM relations r
          WHERE r.type = 'dependsOn' AND r.source_ref LIKE 'component:%' AND r.target_ref LIKE 'component:%'
            AND ($1::text[] IS NULL OR r.source_ref = ANY ($1) OR r.target_ref = ANY ($1))
         UNION
         SELECT c.source_ref, p.source_ref, 'consumesApi ' || c.target_ref
           FROM relations c
           JOIN relations p ON p.type = 'providesApi' AND p.target_ref = c.target_ref
          WHERE c.type = 'consumesApi' AND c.source_ref LIKE 'component:%' AND p.source_ref LIKE 'component:%'
            AND c.source_ref <> p.source_ref
            AND ($1::text[] IS NULL OR c.source_ref = ANY ($1) OR p.source_ref = ANY ($1))
         ORDER BY 1, 2, 3",
    )
    .bind(focus)
    .fetch_all(db)
    .await
}

/// A caller -> destination pair's latest outbound traffic.
#[derive(Debug, Clone, FromRow)]
pub struct ObservedPair {
    pub caller: String,
    /// The outbound cluster: the destination's `kuma.io/service` for mesh services.
    pub callee: String,
    pub requests_per_s: f64,
    pub errors_per_s: f64,
    pub denied_per_s: f64,
    pub last_seen: OffsetDateTime,
}

/// The pairs of one mesh that carried requests at or after `since` (the observation window);
/// with `focus`, only those from or to one of those services.
pub async fn observed_pairs(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
    since: OffsetDateTime,
    focus: Option<&[String]>,
) -> sqlx::Result<Vec<ObservedPair>> {
    sqlx::query_as(
        "SELECT caller, callee, requests_per_s, errors_per_s, denied_per_s, last_seen
           FROM mesh_observed_edges
          WHERE control_plane = $1 AND mesh = $2 AND last_seen >= $3
            AND ($4::text[] IS NULL OR caller = ANY ($4) OR callee = ANY ($4))
          ORDER BY caller, callee",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(since)
    .bind(focus)
    .fetch_all(db)
    .await
}
