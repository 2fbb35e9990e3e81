//! SQL of ownership drift, each a single query over the whole catalog and mesh (a catalog may
//! hold 100,000 components): the dataplanes whose team label may disagree with their
//! component's owner, and the service and website components no Kuma service with proxies maps
//! to. A component maps as on its mesh card: to the services named by its `kuma.io/service`
//! annotation (else its name), in the mesh its `kuma.io/mesh` annotation names (else any).

use sqlx::{FromRow, PgExecutor};

/// A dataplane carrying the team label, with the component its service maps to.
#[derive(Debug, Clone, FromRow)]
pub struct LabelledDataplane {
    pub component: String,
    pub owner: String,
    pub control_plane: String,
    pub mesh: String,
    /// One Kuma service of the component the dataplane serves.
    pub service: String,
    pub dataplane: String,
    /// The team label's value.
    pub label: String,
}

/// The dataplanes whose label `key` may name another team than the owner of the service or
/// website component their service maps to, by component, control plane, mesh and dataplane.
/// A label equal to the owner's reference or name agrees and is left out here, so a mesh that
/// agrees with the catalog sends nothing back; the rest is judged by
/// [`bearing_policy::edges::ownership_drift`]. A dataplane serving two services of one
/// component is listed twice. `owner`, `control_plane` and `mesh` narrow when given.
pub async fn labelled_dataplanes(
    db: impl PgExecutor<'_>,
    key: &str,
    owner: Option<&str>,
    control_plane: Option<&str>,
    mesh: Option<&str>,
) -> sqlx::Result<Vec<LabelledDataplane>> {
    sqlx::query_as(
        "SELECT e.ref AS component, e.owner_ref AS owner, p.control_plane, p.mesh, p.service, p.name AS dataplane, p.label
           FROM (SELECT x.control_plane, x.mesh, x.name, s.service, x.labels ->> $1 AS label
                   FROM mesh_proxies x CROSS JOIN LATERAL unnest(x.services) AS s(service)
                  WHERE x.labels ->> $1 IS NOT NULL
                    AND ($3::text IS NULL OR x.control_plane = $3)
                    AND ($4::text IS NULL OR x.mesh = $4)) p
           JOIN entities e
             ON COALESCE(e.annotations ->> 'kuma.io/service', e.name) = p.service
            AND COALESCE(e.annotations ->> 'kuma.io/mesh', p.mesh) = p.mesh
          WHERE e.kind = 'component' AND e.type IN ('service', 'website') AND NOT e.orphaned
            AND e.owner_ref IS NOT NULL AND ($2::text IS NULL OR e.owner_ref = $2)
            AND p.label <> e.owner_ref AND p.label <> regexp_replace(e.owner_ref, '^.*[/:]', '')
          ORDER BY e.ref, p.control_plane, p.mesh, p.name",
    )
    .bind(key)
    .bind(owner)
    .bind(control_plane)
    .bind(mesh)
    .fetch_all(db)
    .await
}

/// A component without a Kuma identity, and how many match in all.
#[derive(Debug, Clone, FromRow)]
pub struct Unmeshed {
    pub component: String,
    pub owner: Option<String>,
    /// Matching components in all, also those past the limit.
    pub total: i64,
}

/// The first `limit` service and website components (by reference) that no stored Kuma service
/// with at least one proxy maps to, in any control plane. `owner` narrows to a team's; `mesh`
/// to those that could be in it (no `kuma.io/mesh` annotation, or that mesh).
pub async fn components_without_identity(
    db: impl PgExecutor<'_>,
    owner: Option<&str>,
    mesh: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Unmeshed>> {
    sqlx::query_as(
        "SELECT e.ref AS component, e.owner_ref AS owner, count(*) OVER () AS total
           FROM entities e
          WHERE e.kind = 'component' AND e.type IN ('service', 'website') AND NOT e.orphaned
            AND ($1::text IS NULL OR e.owner_ref = $1)
            AND ($2::text IS NULL OR COALESCE(e.annotations ->> 'kuma.io/mesh', $2) = $2)
            AND NOT EXISTS (SELECT 1 FROM mesh_services s
                             WHERE s.service = COALESCE(e.annotations ->> 'kuma.io/service', e.name)
                               AND s.mesh = COALESCE(e.annotations ->> 'kuma.io/mesh', s.mesh)
                               AND s.total > 0)
          ORDER BY e.ref
          LIMIT $3",
    )
    .bind(owner)
    .bind(mesh)
    .bind(limit)
    .fetch_all(db)
    .await
}
