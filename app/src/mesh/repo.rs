//! SQL of the mesh state: control planes, the poll lease, the current state, the resources
//! callers are judged by, and traffic. The poller writes through here; pages and the API read.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

/// A mesh row.
#[derive(Debug, Clone)]
pub struct MeshRow {
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    /// `{policy type: count}`.
    pub policy_counts: serde_json::Value,
}

/// A proxy row.
#[derive(Debug, Clone)]
pub struct ProxyRow {
    pub mesh: String,
    pub name: String,
    pub services: Vec<String>,
    pub gateway: Option<String>,
    pub status: &'static str,
    pub cert_expires_at: Option<OffsetDateTime>,
    pub cert_state: &'static str,
}

/// A service row: Kuma's status of one service and its proxy counts.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub mesh: String,
    pub service: String,
    pub status: String,
    pub total: i32,
    pub online: i32,
    pub offline: i32,
    pub partially_degraded: i32,
}

/// A Kuma resource kept as served (MeshTrafficPermission, TrafficPermission, MeshService).
#[derive(Debug, Clone)]
pub struct ResourceRow {
    pub mesh: String,
    pub kind: &'static str,
    pub name: String,
    /// The resource as JSON text.
    pub body: String,
}

/// The current state of one control plane, ready to replace what is stored.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub meshes: Vec<MeshRow>,
    pub proxies: Vec<ProxyRow>,
    pub services: Vec<ServiceRow>,
    pub resources: Vec<ResourceRow>,
}

/// The channel every write of mesh state notifies on (delivered when the transaction commits),
/// so each server drops the pages it rendered from the older state.
pub const CHANGED_CHANNEL: &str = "bearing_mesh_changed";

/// Tells every listening server that the mesh state changed.
async fn notify_changed(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<()> {
    crate::cache::notify(db, CHANGED_CHANNEL).await
}

/// Registers a control plane (or updates its URL).
pub async fn upsert_control_plane(pool: &PgPool, name: &str, url: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mesh_control_planes (name, url) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url",
    )
    .bind(name)
    .bind(url)
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes or renews the poll lease of `control_plane` for `holder` until `ttl` from now. True when
/// `holder` holds it: it held it already, or nobody did, or the last holder's lease expired.
pub async fn acquire_lease(
    pool: &PgPool,
    control_plane: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "INSERT INTO mesh_poll_leases (control_plane, holder, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (control_plane) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE mesh_poll_leases.holder = EXCLUDED.holder OR mesh_poll_leases.expires_at < now()
         RETURNING holder",
    )
    .bind(control_plane)
    .bind(holder)
    .bind(ttl.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}

/// Who holds the lease of `control_plane` now, if anyone.
pub async fn lease_holder(pool: &PgPool, control_plane: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT holder FROM mesh_poll_leases WHERE control_plane = $1 AND expires_at > now()")
        .bind(control_plane)
        .fetch_optional(pool)
        .await
}

/// Replaces the stored state of `control_plane` with `snap` and records the success, in one
/// transaction. Rows go in as arrays (`UNNEST`): one statement per table, whatever the size.
pub async fn replace_state(
    pool: &PgPool,
    control_plane: &str,
    snap: &Snapshot,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for table in ["mesh_meshes", "mesh_proxies", "mesh_services", "mesh_resources"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE control_plane = $1"))
            .bind(control_plane)
            .execute(&mut *tx)
            .await?;
    }
    let m = &snap.meshes;
    sqlx::query(
        "INSERT INTO mesh_meshes (control_plane, mesh, mtls_enabled, mtls_backend, mtls_type, mtls_mode, policy_counts, observed_at)
         SELECT $1, * , $8 FROM UNNEST($2::text[], $3::bool[], $4::text[], $5::text[], $6::text[], $7::jsonb[])",
    )
    .bind(control_plane)
    .bind(m.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_enabled).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_backend.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_type.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_mode.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.policy_counts.clone()).collect::<Vec<_>>())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let p = &snap.proxies;
    // A proxy's services are a list of their own; arrays of arrays must be rectangular in
    // PostgreSQL, so they travel as JSON arrays.
    sqlx::query(
        "INSERT INTO mesh_proxies (control_plane, mesh, name, services, gateway, status, cert_expires_at, cert_state, observed_at)
         SELECT $1, u.mesh, u.name, ARRAY(SELECT jsonb_array_elements_text(u.services)), u.gateway, u.status,
                u.cert_expires_at, u.cert_state, $9
           FROM UNNEST($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])
                AS u(mesh, name, services, gateway, status, cert_expires_at, cert_state)",
    )
    .bind(control_plane)
    .bind(p.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| serde_json::json!(r.services)).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.gateway.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.cert_expires_at).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.cert_state).collect::<Vec<_>>())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let s = &snap.services;
    sqlx::query(
        "INSERT INTO mesh_services (control_plane, mesh, service, status, total, online, offline, partially_degraded, observed_at)
         SELECT $1, *, $9 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::int4[], $6::int4[], $7::int4[], $8::int4[])",
    )
    .bind(control_plane)
    .bind(s.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.service.clone()).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.status.clone()).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.total).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.online).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.offline).collect::<Vec<_>>())
    .bind(s.iter().map(|r| r.partially_degraded).collect::<Vec<_>>())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let r = &snap.resources;
    sqlx::query(
        "INSERT INTO mesh_resources (control_plane, mesh, kind, name, body)
         SELECT $1, u.mesh, u.kind, u.name, u.body::jsonb FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS u(mesh, kind, name, body)",
    )
    .bind(control_plane)
    .bind(r.iter().map(|x| x.mesh.clone()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.kind).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.body.clone()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE mesh_control_planes SET last_success_at = $2 WHERE name = $1")
        .bind(control_plane)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    notify_changed(&mut *tx).await?;
    tx.commit().await
}

/// Records a failed poll; the stored state is left as it was.
pub async fn record_error(pool: &PgPool, control_plane: &str, error: &str, now: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE mesh_control_planes SET last_error = $2, last_error_at = $3 WHERE name = $1")
        .bind(control_plane)
        .bind(error)
        .bind(now)
        .execute(pool)
        .await?;
    notify_changed(pool).await
}

/// One traffic sample to store.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRow {
    pub mesh: String,
    pub service: String,
    /// The upstream cluster for outbound rows; empty for inbound.
    pub peer: String,
    pub direction: &'static str,
    pub requests_per_s: f64,
    pub errors_per_s: f64,
    pub p99_ms: Option<f64>,
}

/// Stores traffic samples taken at `at`, in one statement.
pub async fn insert_traffic(
    pool: &PgPool,
    control_plane: &str,
    at: OffsetDateTime,
    rows: &[TrafficRow],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mesh_traffic (control_plane, mesh, service, peer, direction, at, requests_per_s, errors_per_s, p99_ms)
         SELECT $1, u.mesh, u.service, u.peer, u.direction, $2, u.rps, u.eps, u.p99
           FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[])
                AS u(mesh, service, peer, direction, rps, eps, p99)",
    )
    .bind(control_plane)
    .bind(at)
    .bind(rows.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.service.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.peer.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.direction).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.requests_per_s).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.errors_per_s).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.p99_ms).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    notify_changed(pool).await
}

/// Folds raw samples older than `raw_before` into hourly averages, deletes them, and deletes
/// hourly rows older than `hourly_before`; one transaction. Returns the raw rows folded.
pub async fn downsample_traffic(
    pool: &PgPool,
    raw_before: OffsetDateTime,
    hourly_before: OffsetDateTime,
) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let folded: i64 = sqlx::query_scalar(
        "WITH old AS (DELETE FROM mesh_traffic WHERE at < $1 RETURNING *),
              hours AS (
                INSERT INTO mesh_traffic_hourly AS h
                       (control_plane, mesh, service, peer, direction, hour, requests_per_s, errors_per_s, p99_ms, samples)
                SELECT control_plane, mesh, service, peer, direction, date_trunc('hour', at),
                       avg(requests_per_s), avg(errors_per_s), max(p99_ms), count(*)
                  FROM old GROUP BY 1, 2, 3, 4, 5, 6
                ON CONFLICT (control_plane, mesh, service, peer, direction, hour) DO UPDATE SET
                   requests_per_s = (h.requests_per_s * h.samples + EXCLUDED.requests_per_s * EXCLUDED.samples)
                                    / (h.samples + EXCLUDED.samples),
                   errors_per_s = (h.errors_per_s * h.samples + EXCLUDED.errors_per_s * EXCLUDED.samples)
                                  / (h.samples + EXCLUDED.samples),
                   p99_ms = GREATEST(h.p99_ms, EXCLUDED.p99_ms),
                   samples = h.samples + EXCLUDED.samples
                RETURNING 1)
         SELECT count(*) FROM old",
    )
    .bind(raw_before)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM mesh_traffic_hourly WHERE hour < $1")
        .bind(hourly_before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(folded as u64)
}

/// Columns of a stored service with its mTLS, component and latest inbound traffic.
const SERVICE_COLUMNS: &str = "
    s.control_plane, s.mesh, s.service, s.status, s.total, s.online, s.offline, s.partially_degraded,
    COALESCE(m.mtls_enabled, false) AS mtls_enabled, m.mtls_backend, m.mtls_type, m.mtls_mode,
    (SELECT min(p.cert_expires_at) FROM mesh_proxies p
      WHERE p.control_plane = s.control_plane AND p.mesh = s.mesh AND s.service = ANY (p.services)) AS earliest_expiry,
    mesh_component_for(s.mesh, s.service) AS component,
    t.requests_per_s, t.errors_per_s, t.p99_ms,
    s.observed_at, c.last_success_at";

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

/// A stored service as read back.
#[derive(Debug, Clone)]
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
    pub earliest_expiry: Option<OffsetDateTime>,
    pub component: Option<String>,
    pub requests_per_s: Option<f64>,
    pub errors_per_s: Option<f64>,
    pub p99_ms: Option<f64>,
    pub observed_at: OffsetDateTime,
    pub last_success_at: Option<OffsetDateTime>,
}

fn stored_service(r: &sqlx::postgres::PgRow) -> sqlx::Result<StoredService> {
    Ok(StoredService {
        control_plane: r.try_get("control_plane")?,
        mesh: r.try_get("mesh")?,
        service: r.try_get("service")?,
        status: r.try_get("status")?,
        total: r.try_get("total")?,
        online: r.try_get("online")?,
        offline: r.try_get("offline")?,
        partially_degraded: r.try_get("partially_degraded")?,
        mtls_enabled: r.try_get("mtls_enabled")?,
        mtls_backend: r.try_get("mtls_backend")?,
        mtls_type: r.try_get("mtls_type")?,
        mtls_mode: r.try_get("mtls_mode")?,
        earliest_expiry: r.try_get("earliest_expiry")?,
        component: r.try_get("component")?,
        requests_per_s: r.try_get("requests_per_s")?,
        errors_per_s: r.try_get("errors_per_s")?,
        p99_ms: r.try_get("p99_ms")?,
        observed_at: r.try_get("observed_at")?,
        last_success_at: r.try_get("last_success_at")?,
    })
}

/// Every stored service, by control plane, mesh and name, with traffic sampled since
/// `traffic_since`.
pub async fn list_services(pool: &PgPool, traffic_since: OffsetDateTime) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!("SELECT {SERVICE_COLUMNS} {SERVICE_JOINS} ORDER BY s.control_plane, s.mesh, s.service");
    sqlx::query(&sql)
        .bind(traffic_since)
        .fetch_all(pool)
        .await?
        .iter()
        .map(stored_service)
        .collect()
}

/// The stored services named `service` (in `mesh`, when given), in every control plane, with
/// traffic sampled since `traffic_since`.
pub async fn services_named(
    pool: &PgPool,
    traffic_since: OffsetDateTime,
    service: &str,
    mesh: Option<&str>,
) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!(
        "SELECT {SERVICE_COLUMNS} {SERVICE_JOINS}
          WHERE s.service = $2 AND ($3::text IS NULL OR s.mesh = $3)
          ORDER BY s.control_plane, s.mesh"
    );
    sqlx::query(&sql)
        .bind(traffic_since)
        .bind(service)
        .bind(mesh)
        .fetch_all(pool)
        .await?
        .iter()
        .map(stored_service)
        .collect()
}

/// The stored services claimed by the components `owner` owns, with traffic sampled since
/// `traffic_since`.
pub async fn services_of_owner(
    pool: &PgPool,
    traffic_since: OffsetDateTime,
    owner: &str,
) -> sqlx::Result<Vec<StoredService>> {
    let sql = format!(
        "SELECT {SERVICE_COLUMNS} {SERVICE_JOINS}
          WHERE mesh_component_for(s.mesh, s.service) IN
                (SELECT ref FROM entities WHERE kind = 'component' AND owner_ref = $2)
          ORDER BY s.control_plane, s.mesh, s.service"
    );
    sqlx::query(&sql)
        .bind(traffic_since)
        .bind(owner)
        .fetch_all(pool)
        .await?
        .iter()
        .map(stored_service)
        .collect()
}

/// A control plane's poll record.
#[derive(Debug, Clone)]
pub struct ControlPlaneRow {
    pub name: String,
    pub url: String,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
}

/// Every control plane's poll record.
pub async fn list_control_planes(pool: &PgPool) -> sqlx::Result<Vec<ControlPlaneRow>> {
    let rows = sqlx::query(
        "SELECT name, url, last_success_at, last_error, last_error_at FROM mesh_control_planes ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ControlPlaneRow {
                name: r.try_get("name")?,
                url: r.try_get("url")?,
                last_success_at: r.try_get("last_success_at")?,
                last_error: r.try_get("last_error")?,
                last_error_at: r.try_get("last_error_at")?,
            })
        })
        .collect()
}

/// A stored mesh as read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMesh {
    pub control_plane: String,
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    pub policy_counts: serde_json::Value,
}

/// Every stored mesh.
pub async fn list_meshes(pool: &PgPool) -> sqlx::Result<Vec<StoredMesh>> {
    sqlx::query_as(
        "SELECT control_plane, mesh, mtls_enabled, mtls_backend, mtls_type, mtls_mode, policy_counts
           FROM mesh_meshes ORDER BY control_plane, mesh",
    )
    .fetch_all(pool)
    .await
}

/// A stored proxy as read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredProxy {
    pub mesh: String,
    pub name: String,
    pub services: Vec<String>,
    pub gateway: Option<String>,
    pub status: String,
    pub cert_expires_at: Option<OffsetDateTime>,
    pub cert_state: String,
}

const PROXY_COLUMNS: &str = "mesh, name, services, gateway, status, cert_expires_at, cert_state";

/// Every stored proxy of a control plane.
pub async fn list_proxies(pool: &PgPool, control_plane: &str) -> sqlx::Result<Vec<StoredProxy>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies WHERE control_plane = $1 ORDER BY mesh, name"
    ))
    .bind(control_plane)
    .fetch_all(pool)
    .await
}

/// The proxies of one service.
pub async fn proxies_of(
    pool: &PgPool,
    control_plane: &str,
    mesh: &str,
    service: &str,
) -> sqlx::Result<Vec<StoredProxy>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies
          WHERE control_plane = $1 AND mesh = $2 AND $3 = ANY (services) ORDER BY name"
    ))
    .bind(control_plane)
    .bind(mesh)
    .bind(service)
    .fetch_all(pool)
    .await
}

/// The `limit` certificates of a control plane's meshes that expire soonest (expired first).
pub async fn expiring_certificates(pool: &PgPool, control_plane: &str, limit: i64) -> sqlx::Result<Vec<StoredProxy>> {
    sqlx::query_as(&format!(
        "SELECT {PROXY_COLUMNS} FROM mesh_proxies
          WHERE control_plane = $1 AND cert_expires_at IS NOT NULL
          ORDER BY cert_expires_at, mesh, name LIMIT $2"
    ))
    .bind(control_plane)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The stored resources of one kind in one mesh, as Kuma served them.
pub async fn resources(
    pool: &PgPool,
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
    .fetch_all(pool)
    .await
}

/// The services of one mesh with the component claiming each and whether it runs as a gateway:
/// the candidates for "who may call".
pub async fn mesh_service_names(
    pool: &PgPool,
    control_plane: &str,
    mesh: &str,
) -> sqlx::Result<Vec<(String, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "SELECT s.service, mesh_component_for(s.mesh, s.service),
                (SELECT p.gateway FROM mesh_proxies p
                  WHERE p.control_plane = s.control_plane AND p.mesh = s.mesh AND s.service = ANY (p.services)
                    AND p.gateway IS NOT NULL LIMIT 1)
           FROM mesh_services s WHERE s.control_plane = $1 AND s.mesh = $2 ORDER BY s.service",
    )
    .bind(control_plane)
    .bind(mesh)
    .fetch_all(pool)
    .await
}

/// Inbound traffic of one service since `since`, averaged over buckets of `bucket_s` seconds.
pub async fn traffic_history(
    pool: &PgPool,
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
    .fetch_all(pool)
    .await
}

/// Service and website components no stored Kuma service with at least one proxy maps to.
pub async fn components_not_in_mesh(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT e.ref FROM entities e
          WHERE e.kind = 'component' AND e.type IN ('service', 'website') AND NOT e.orphaned
            AND NOT EXISTS (SELECT 1 FROM mesh_services s
                             WHERE s.service = COALESCE(e.annotations ->> 'kuma.io/service', e.name)
                               AND s.mesh = COALESCE(e.annotations ->> 'kuma.io/mesh', s.mesh)
                               AND s.total > 0)
          ORDER BY e.ref",
    )
    .fetch_all(pool)
    .await
}

/// A component's mapping: its `kuma.io/service` (else its name) and `kuma.io/mesh`, and whether
/// any control plane is registered. None when the component does not exist.
pub async fn component_mapping(
    pool: &PgPool,
    entity_ref: &str,
) -> sqlx::Result<Option<(String, Option<String>, bool)>> {
    sqlx::query_as(
        "SELECT COALESCE(annotations ->> 'kuma.io/service', name), annotations ->> 'kuma.io/mesh',
                EXISTS (SELECT 1 FROM mesh_control_planes)
           FROM entities WHERE ref = $1 AND kind = 'component'",
    )
    .bind(entity_ref)
    .fetch_optional(pool)
    .await
}

/// The components `owner` owns, by reference.
pub async fn components_of_owner(pool: &PgPool, owner: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT ref FROM entities WHERE kind = 'component' AND owner_ref = $1 ORDER BY ref")
        .bind(owner)
        .fetch_all(pool)
        .await
}
