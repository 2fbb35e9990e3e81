//! SQL of the mesh state as pages and the API read it: the services with their mTLS, component
//! and current traffic, meshes, proxies, the resources callers are judged by, and traffic
//! history. The poller's writes are in [`write`], the reads of ownership drift in [`ownership`].
//!
//! Like the catalog's, queries are checked at run time (`sqlx::query_as` + `FromRow`): the
//! service queries share their columns and joins as text, which the compile-time macros cannot
//! express, and `server/tests/integration/mesh*` run every function here against PostgreSQL.

use std::collections::BTreeMap;

use bearing_kuma::model::Tags;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

pub mod change;
pub mod ownership;
pub mod write;

/// The channel every write of mesh state notifies on (delivered when the transaction commits),
/// so each server drops the pages it rendered from the older state.
pub const CHANGED_CHANNEL: &str = "bearing_mesh_changed";

/// The channel asking the replica that polls a control plane to read it now rather than at its
/// next interval (a deployment was reported; issue 13): the payload names the component.
pub const REFRESH_CHANNEL: &str = "bearing_mesh_refresh";

/// Columns of a stored service with its mTLS, component and latest inbound traffic.
const SERVICE_COLUMNS: &str = "
    s.control_plane, s.mesh, s.service, s.status, s.total, s.online, s.offline, s.partially_degraded,
    COALESCE(m.mtls_enabled, false) AS mtls_enabled, m.mtls_backend, m.mtls_type, m.mtls_mode, m.identity,
    (SELECT min(p.cert_expires_at) FROM mesh_proxies p
      WHERE p.control_plane = s.control_plane AND p.mesh = s.mesh AND p.services @> ARRAY[s.service]) AS earliest_expiry,
    mesh_component_for(s.mesh, s.service) AS component,
    t.requests_per_s, t.errors_per_s, t.p99_ms,
    COALESCE(c.last_success_at, s.observed_at) AS observed_at, c.last_success_at,
    COALESCE(m.policy_version, '') AS policy_version";

/// Joins for [`SERVICE_COLUMNS`]: the latest inbound sample of each service taken at or after
/// `$1` (the traffic cutoff), so a rate nobody has measured lately reads as unknown rather than
/// current. Every query using it binds the cutoff first.
const SERVICE_JOINS: &str = "
    FROM mesh_services s
    JOIN mesh_control_planes c ON c.name = s.control_plane
    LEFT JOIN mesh_meshes m ON m.control_plane = s.control_plane AND m.mesh = s.mesh
    LEFT JOIN LATERAL (
        SELECT sum(x.requests_per_s) AS requests_per_s, sum(x.errors_per_s) AS errors_per_s, max(x.p99_ms) AS p99_ms
          FROM mesh_traffic x
         WHERE x.control_plane = s.control_plane AND x.mesh = s.mesh AND x.service = s.service
           AND x.direction = 'inbound'
           AND x.at = (SELECT max(y.at) FROM mesh_traffic y
                        WHERE y.control_plane = s.control_plane AND y.mesh = s.mesh AND y.service = s.service
                          AND y.at >= $1)) t ON true";

/// A stored service as read back, with the columns [`SERVICE_COLUMNS`] joins in.
#[derive(Debug, Clone, FromRow)]
pub struct StoredService {
    pub control_plane: String,
    pub mesh: String,
    pub service: String,
    pub status: String,
    pub total: i32,
    pub online: i32,
    pub offline: i32,
    pub partially_degraded: i32,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    /// `mesh_mtls`, `mesh_identity` or none (see [`StoredMesh::identity`]).
    pub identity: Option<String>,
    pub earliest_expiry: Option<OffsetDateTime>,
    pub component: Option<String>,
    pub requests_per_s: Option<f64>,
    pub errors_per_s: Option<f64>,
    pub p99_ms: Option<f64>,
    /// When a poll last read this state: the control plane's last success (a poll that reads
    /// the same state rewrites no row).
    pub observed_at: OffsetDateTime,
    pub last_success_at: Option<OffsetDateTime>,
    /// See [`StoredMesh::policy_version`].
    pub policy_version: String,
}

/// Every stored service, by control plane, mesh and name, with traffic sampled since
/// `traffic_since`.
pub async fn list_services(db: impl PgExecutor<'_>, traffic_since: OffsetDateTime) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!("SELECT {SERVICE_COLUMNS} {SERVICE_JOINS} ORDER BY s.control_plane, s.mesh, s.service");
    sqlx::query_as(&sql).bind(traffic_since).fetch_all(db).await
}

/// The stored services named `service` (in `mesh`, when given), in every control plane, with
/// traffic sampled since `traffic_since`.
pub async fn services_named(
    db: impl PgExecutor<'_>,
    traffic_since: OffsetDateTime,
    service: &str,
    mesh: Option<&str>,
) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!(
        "SELECT {SERVICE_COLUMNS} {SERVICE_JOINS}
          WHERE s.service = $2 AND ($3::text IS NULL OR s.mesh = $3)
          ORDER BY s.control_plane, s.mesh"
    );
    sqlx::query_as(&sql)
        .bind(traffic_since)
        .bind(service)
        .bind(mesh)
        .fetch_all(db)
        .await
}

/// The stored services claimed by the components `owner` owns, with traffic sampled since
/// `traffic_since`.
pub async fn services_of_owner(
    db: impl PgExecutor<'_>,
    traffic_since: OffsetDateTime,
    owner: &str,
) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!(
        "SELECT {SERVICE_COLUMNS} {SERVICE_JOINS}
          WHERE mesh_component_for(s.mesh, s.service) IN
                (SELECT ref FROM entities WHERE kind = 'component' AND owner_ref = $2)
          ORDER BY s.control_plane, s.mesh, s.service"
    );
    sqlx::query_as(&sql).bind(traffic_since).bind(owner).fetch_all(db).await
}

/// A control plane's poll record.
#[derive(Debug, Clone, FromRow)]
pub struct ControlPlaneRow {
    pub name: String,
    pub url: String,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
}

/// Every control plane's poll record.
pub async fn list_control_planes(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ControlPlaneRow>> {
    sqlx::query_as(
        "SELECT name, url, last_success_at, last_error, last_error_at FROM mesh_control_planes ORDER BY name",
    )
    .fetch_all(db)
    .await
}

/// A stored mesh as read back.
#[derive(Debug, Clone, FromRow)]
pub struct StoredMesh {
    pub control_plane: String,
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    /// `mesh_mtls`, `mesh_identity` or none: which identity system (and so which
    /// MeshTrafficPermission form, `from[]` or `rules[]`) the mesh uses.
    pub identity: Option<String>,
    pub policy_counts: serde_json::Value,
    /// When the poll that stored it read the control plane.
    pub observed_at: OffsetDateTime,
    /// A digest of what the mesh's policy set is computed from: equal while it is unchanged.
    pub policy_version: String,
}

/// Every stored mesh.
pub async fn list_meshes(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<StoredMesh>> {
    sqlx::query_as(
        "SELECT control_plane, mesh, mtls_enabled, mtls_backend, mtls_type, mtls_mode, identity, policy_counts,
                observed_at, policy_version
           FROM mesh_meshes ORDER BY control_plane, mesh",
    )
    .fetch_all(db)
    .await
}

/// A proxy: as one poll read it (the rows of a [`write::Snapshot`]) and as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ProxyRow {
    pub mesh: String,
    pub name: String,
    pub services: Vec<String>,
    pub gateway: Option<String>,
    pub status: String,
    pub cert_expires_at: Option<OffsetDateTime>,
    pub cert_state: String,
    /// The Dataplane's labels, bounded by the poller.
    #[sqlx(json)]
    pub labels: Tags,
}

const PROXY_COLUMNS: &str = "mesh, name, services, gateway, status, cert_expires_at, cert_state, labels";

/// Every stored proxy of a control plane.
pub async fn list_proxies(db: impl PgExecutor<'_>, control_plane: &str) -> sqlx::Result<Vec<ProxyRow>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies WHERE control_plane = $1 ORDER BY mesh, name"
    ))
    .bind(control_plane)
    .fetch_all(db)
    .await
}

/// The proxies of one service.
pub async fn proxies_of(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
    service: &str,
) -> sqlx::Result<Vec<ProxyRow>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies
          WHERE control_plane = $1 AND mesh = $2 AND services @> ARRAY[$3::text] ORDER BY name"
    ))
    .bind(control_plane)
    .bind(mesh)
    .bind(service)
    .fetch_all(db)
    .await
}

/// One proxy's labels, with the services it serves.
#[derive(Debug, Clone, FromRow)]
pub struct ProxyLabels {
    pub name: String,
    pub services: Vec<String>,
    #[sqlx(json)]
    pub labels: Tags,
}

/// The labels of each proxy of one service, by proxy name: the provider's dataplane labels for
/// `Dataplane` selectors, and the `team` label for ownership drift.
pub async fn labels_of_service(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
    service: &str,
) -> sqlx::Result<Vec<Tags>> {
    let rows: Vec<ProxyLabels> = sqlx::query_as(
        "SELECT name, services, labels FROM mesh_proxies
          WHERE control_plane = $1 AND mesh = $2 AND services @> ARRAY[$3::text] ORDER BY name",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(service)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.labels).collect())
}

/// The labels of every proxy of a mesh, by service (a proxy serving several services is listed
/// under each; a proxy serving none is left out), proxies by name: the other dataplanes a
/// `Dataplane` selector must not match.
pub async fn labels_of_mesh(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
) -> sqlx::Result<BTreeMap<String, Vec<Tags>>> {
    let rows: Vec<ProxyLabels> = sqlx::query_as(
        "SELECT name, services, labels FROM mesh_proxies WHERE control_plane = $1 AND mesh = $2 ORDER BY name",
    )
    .bind(control_plane)
    .bind(mesh)
    .fetch_all(db)
    .await?;
    let mut out: BTreeMap<String, Vec<Tags>> = BTreeMap::new();
    for row in rows {
        for service in &row.services {
            out.entry(service.clone()).or_default().push(row.labels.clone());
        }
    }
    Ok(out)
}

/// The `limit` certificates of a control plane's meshes that expire soonest (expired first).
pub async fn expiring_certificates(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    limit: i64,
) -> sqlx::Result<Vec<ProxyRow>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies
          WHERE control_plane = $1 AND cert_expires_at IS NOT NULL
          ORDER BY cert_expires_at, mesh, name LIMIT $2"
    ))
    .bind(control_plane)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The stored resources of one kind in one mesh, as Kuma served them.
pub async fn resources(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
    kind: &str,
) -> sqlx::Result<Vec<serde_json::Value>> {
    sqlx::query_scalar(
        "SELECT body FROM mesh_resources WHERE control_plane = $1 AND mesh = $2 AND kind = $3 ORDER BY name",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(kind)
    .fetch_all(db)
    .await
}

/// One stored resource of one mesh by kind and name, as Kuma served it.
pub async fn resource(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
    kind: &str,
    name: &str,
) -> sqlx::Result<Option<serde_json::Value>> {
    sqlx::query_scalar(
        "SELECT body FROM mesh_resources WHERE control_plane = $1 AND mesh = $2 AND kind = $3 AND name = $4",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(kind)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// The services of one mesh with the component claiming each and whether it runs as a gateway:
/// the candidates for "who may call".
pub async fn mesh_service_names(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    mesh: &str,
) -> sqlx::Result<Vec<(String, Option<String>, Option<String>)>> {
    sqlx::query_as(
        // Gateways in one pass over the mesh's proxies (a subquery per service read every proxy
        // once per service: seconds in a mesh of thousands).
        "WITH gateways AS (
             SELECT DISTINCT ON (service) service, p.gateway
               FROM mesh_proxies p, unnest(p.services) AS service
              WHERE p.control_plane = $1 AND p.mesh = $2 AND p.gateway IS NOT NULL
              ORDER BY service, p.name)
         SELECT s.service, mesh_component_for(s.mesh, s.service), g.gateway
           FROM mesh_services s LEFT JOIN gateways g ON g.service = s.service
          WHERE s.control_plane = $1 AND s.mesh = $2 ORDER BY s.service",
    )
    .bind(control_plane)
    .bind(mesh)
    .fetch_all(db)
    .await
}

/// Inbound traffic of one service since `since`, averaged over buckets of `bucket_s` seconds.
pub async fn traffic_history(
    db: impl PgExecutor<'_>,
    key: (&str, &str, &str),
    since: OffsetDateTime,
    bucket_s: i64,
) -> sqlx::Result<Vec<(OffsetDateTime, f64, f64)>> {
    let (control_plane, mesh, service) = key;
    sqlx::query_as(
        "SELECT bucket, avg(rps)::float8, avg(eps)::float8 FROM (
            SELECT date_bin(make_interval(secs => $5), at, TIMESTAMPTZ 'epoch') AS bucket, at,
                   sum(requests_per_s) AS rps, sum(errors_per_s) AS eps
              FROM mesh_traffic
             WHERE control_plane = $1 AND mesh = $2 AND service = $3 AND direction = 'inbound' AND at >= $4
             GROUP BY 1, 2) samples
          GROUP BY bucket ORDER BY bucket",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(service)
    .bind(since)
    .bind(bucket_s as f64)
    .fetch_all(db)
    .await
}

/// A component's mapping: its `kuma.io/service` (else its name) and `kuma.io/mesh`, and whether
/// any control plane is registered. None when the component does not exist.
pub async fn component_mapping(
    db: impl PgExecutor<'_>,
    entity_ref: &str,
) -> sqlx::Result<Option<(String, Option<String>, bool)>> {
    sqlx::query_as(
        "SELECT COALESCE(annotations ->> 'kuma.io/service', name), annotations ->> 'kuma.io/mesh',
                EXISTS (SELECT 1 FROM mesh_control_planes)
           FROM entities WHERE ref = $1 AND kind = 'component'",
    )
    .bind(entity_ref)
    .fetch_optional(db)
    .await
}

/// The components `owner` owns, by reference.
pub async fn components_of_owner(db: impl PgExecutor<'_>, owner: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT ref FROM entities WHERE kind = 'component' AND owner_ref = $1 ORDER BY ref")
        .bind(owner)
        .fetch_all(db)
        .await
}

/// The mesh status of each of `components` that is in a mesh (its `kuma.io/service`, else its
/// name; the worst status when several meshes carry it): `online`, `partially_degraded`,
/// `offline`, ... by component reference.
pub async fn component_statuses(
    db: impl PgExecutor<'_>,
    components: &[String],
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (e.ref) e.ref, s.status
           FROM entities e
           JOIN mesh_services s ON s.service = COALESCE(e.annotations ->> 'kuma.io/service', e.name)
                AND (e.annotations ->> 'kuma.io/mesh' IS NULL OR s.mesh = e.annotations ->> 'kuma.io/mesh')
          WHERE e.ref = ANY($1)
          ORDER BY e.ref, CASE s.status WHEN 'offline' THEN 0 WHEN 'partially_degraded' THEN 1 ELSE 2 END",
    )
    .bind(components)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}
