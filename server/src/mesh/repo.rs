//! SQL of the mesh state: control planes, the poll lease, the current state and traffic.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use super::service::Snapshot;

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

/// Replaces the stored state of `control_plane` with `snap` and records the success, in one
/// transaction.
pub async fn replace_state(
    pool: &PgPool,
    control_plane: &str,
    snap: &Snapshot,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for table in ["mesh_meshes", "mesh_proxies", "mesh_services"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE control_plane = $1"))
            .bind(control_plane)
            .execute(&mut *tx)
            .await?;
    }
    for m in &snap.meshes {
        sqlx::query(
            "INSERT INTO mesh_meshes (control_plane, mesh, mtls_enabled, mtls_backend, mtls_type, mtls_mode, policy_counts, observed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(control_plane)
        .bind(&m.mesh)
        .bind(m.mtls_enabled)
        .bind(&m.mtls_backend)
        .bind(&m.mtls_type)
        .bind(&m.mtls_mode)
        .bind(&m.policy_counts)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for p in &snap.proxies {
        sqlx::query(
            "INSERT INTO mesh_proxies (control_plane, mesh, name, services, gateway, status, cert_expires_at, cert_state, observed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(control_plane)
        .bind(&p.mesh)
        .bind(&p.name)
        .bind(&p.services)
        .bind(&p.gateway)
        .bind(p.status)
        .bind(p.cert_expires_at)
        .bind(p.cert_state)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for s in &snap.services {
        sqlx::query(
            "INSERT INTO mesh_services (control_plane, mesh, service, status, total, online, offline, partially_degraded, observed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(control_plane)
        .bind(&s.mesh)
        .bind(&s.service)
        .bind(&s.status)
        .bind(s.total)
        .bind(s.online)
        .bind(s.offline)
        .bind(s.partially_degraded)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE mesh_control_planes SET last_success_at = $2 WHERE name = $1")
        .bind(control_plane)
        .bind(now)
        .execute(&mut *tx)
        .await?;
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
    Ok(())
}

/// One traffic sample to store.
#[derive(Debug, Clone)]
pub struct TrafficRow {
    pub mesh: String,
    pub service: String,
    pub peer: String,
    pub direction: &'static str,
    pub requests_per_s: f64,
    pub errors_per_s: f64,
    pub p99_ms: Option<f64>,
}

/// Stores traffic samples taken at `at`.
pub async fn insert_traffic(
    pool: &PgPool,
    control_plane: &str,
    at: OffsetDateTime,
    rows: &[TrafficRow],
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO mesh_traffic (control_plane, mesh, service, peer, direction, at, requests_per_s, errors_per_s, p99_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(control_plane)
        .bind(&r.mesh)
        .bind(&r.service)
        .bind(&r.peer)
        .bind(r.direction)
        .bind(at)
        .bind(r.requests_per_s)
        .bind(r.errors_per_s)
        .bind(r.p99_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Deletes traffic samples older than `before`.
pub async fn prune_traffic(pool: &PgPool, before: OffsetDateTime) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM mesh_traffic WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}

/// A stored service with its mTLS, mapped component and latest inbound traffic.
#[derive(Debug, Clone)]
pub struct ServiceView {
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
    pub earliest_expiry: Option<OffsetDateTime>,
    pub component: Option<String>,
    pub requests_per_s: Option<f64>,
    pub errors_per_s: Option<f64>,
    pub observed_at: OffsetDateTime,
    pub last_success_at: Option<OffsetDateTime>,
}

/// Every stored service. A component maps to a service by annotation `kuma.io/service` (and,
/// when present, `kuma.io/mesh`), else by name.
pub async fn list_services(pool: &PgPool) -> sqlx::Result<Vec<ServiceView>> {
    let rows = sqlx::query(
        "SELECT s.control_plane, s.mesh, s.service, s.status, s.total, s.online, s.offline, s.partially_degraded,
                COALESCE(m.mtls_enabled, false) AS mtls_enabled, m.mtls_backend,
                (SELECT min(p.cert_expires_at) FROM mesh_proxies p
                  WHERE p.control_plane = s.control_plane AND p.mesh = s.mesh AND s.service = ANY (p.services)) AS earliest_expiry,
                (SELECT e.ref FROM entities e
                  WHERE e.kind = 'component'
                    AND (e.annotations ->> 'kuma.io/service' = s.service
                         OR (e.annotations ->> 'kuma.io/service' IS NULL AND e.name = s.service))
                    AND COALESCE(e.annotations ->> 'kuma.io/mesh', s.mesh) = s.mesh
                  ORDER BY (e.annotations ->> 'kuma.io/service' IS NULL), e.ref LIMIT 1) AS component,
                t.requests_per_s, t.errors_per_s,
                s.observed_at, c.last_success_at
           FROM mesh_services s
           JOIN mesh_control_planes c ON c.name = s.control_plane
           LEFT JOIN mesh_meshes m ON m.control_plane = s.control_plane AND m.mesh = s.mesh
           LEFT JOIN LATERAL (
                SELECT sum(requests_per_s) AS requests_per_s, sum(errors_per_s) AS errors_per_s FROM mesh_traffic x
                 WHERE x.control_plane = s.control_plane AND x.mesh = s.mesh AND x.service = s.service
                   AND x.direction = 'inbound'
                   AND x.at = (SELECT max(at) FROM mesh_traffic y
                                WHERE y.control_plane = s.control_plane AND y.mesh = s.mesh AND y.service = s.service
                                  AND y.direction = 'inbound')) t ON true
          ORDER BY s.control_plane, s.mesh, s.service",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ServiceView {
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
                earliest_expiry: r.try_get("earliest_expiry")?,
                component: r.try_get("component")?,
                requests_per_s: r.try_get("requests_per_s")?,
                errors_per_s: r.try_get("errors_per_s")?,
                observed_at: r.try_get("observed_at")?,
                last_success_at: r.try_get("last_success_at")?,
            })
        })
        .collect()
}

/// A control plane's poll record.
#[derive(Debug, Clone)]
pub struct ControlPlaneView {
    pub name: String,
    pub url: String,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
}

/// Every control plane's poll record.
pub async fn list_control_planes(pool: &PgPool) -> sqlx::Result<Vec<ControlPlaneView>> {
    let rows = sqlx::query(
        "SELECT name, url, last_success_at, last_error, last_error_at FROM mesh_control_planes ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ControlPlaneView {
                name: r.try_get("name")?,
                url: r.try_get("url")?,
                last_success_at: r.try_get("last_success_at")?,
                last_error: r.try_get("last_error")?,
                last_error_at: r.try_get("last_error_at")?,
            })
        })
        .collect()
}

/// Stored proxies of a control plane as `(mesh, name, services, status)`.
pub async fn list_proxies(
    pool: &PgPool,
    control_plane: &str,
) -> sqlx::Result<Vec<(String, String, Vec<String>, String, String)>> {
    sqlx::query_as("SELECT mesh, name, services, status, cert_state FROM mesh_proxies WHERE control_plane = $1 ORDER BY mesh, name")
        .bind(control_plane)
        .fetch_all(pool)
        .await
}
