//! The poller's writes: control planes, the poll lease, each poll's state and its traffic
//! samples. Every write of mesh state notifies [`CHANGED_CHANNEL`](super::CHANGED_CHANNEL)
//! in the same transaction, naming the components it touched ([`super::change`]), so each
//! server drops the pages it rendered from their older state.
//!
//! Single statements take any executor; writes of several statements take anything that can
//! begin a transaction (`impl Acquire`: the pool, a connection, or a transaction, where they
//! become a savepoint) and are all or nothing.

use std::collections::{BTreeSet, HashMap};

use sqlx::{Acquire, PgConnection, PgExecutor, Postgres};
use time::OffsetDateTime;

use super::change::{self, Digests};
use super::ProxyRow;

/// A mesh as one poll read it.
#[derive(Debug, Clone)]
pub struct MeshRow {
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    /// `mesh_mtls`, `mesh_identity` or none.
    pub identity: Option<&'static str>,
    /// `{policy type: count}`.
    pub policy_counts: serde_json::Value,
}

/// A service as one poll read it: Kuma's status of it and its proxy counts.
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

/// A Kuma resource kept as served (MeshTrafficPermission, TrafficPermission, MeshService,
/// MeshIdentity).
#[derive(Debug, Clone)]
pub struct ResourceRow {
    pub mesh: String,
    pub kind: &'static str,
    pub name: String,
    /// The resource as JSON text.
    pub body: String,
}

/// The current state of one control plane, ready to replace what is stored. Its rows carry no
/// control plane: [`replace_state`] is told which one they belong to.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub meshes: Vec<MeshRow>,
    pub proxies: Vec<ProxyRow>,
    pub services: Vec<ServiceRow>,
    pub resources: Vec<ResourceRow>,
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
    /// Calls refused by the destination's traffic permissions (403s); outbound rows only.
    pub denied_per_s: f64,
    pub p99_ms: Option<f64>,
}

/// Registers a control plane (or updates its URL).
pub async fn upsert_control_plane(db: impl PgExecutor<'_>, name: &str, url: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mesh_control_planes (name, url) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url",
    )
    .bind(name)
    .bind(url)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes or renews the poll lease of `control_plane` for `holder` until `ttl` from now. True when
/// `holder` holds it: it held it already, or nobody did, or the last holder's lease expired.
pub async fn acquire_lease(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> sqlx::Result<bool> {
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO mesh_poll_leases (control_plane, holder, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (control_plane) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE mesh_poll_leases.holder = EXCLUDED.holder OR mesh_poll_leases.expires_at < now()
         RETURNING holder",
    )
    .bind(control_plane)
    .bind(holder)
    .bind(ttl.as_secs_f64())
    .fetch_optional(db)
    .await?;
    Ok(held.is_some())
}

/// Who holds the lease of `control_plane` now, if anyone.
pub async fn lease_holder(db: impl PgExecutor<'_>, control_plane: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT holder FROM mesh_poll_leases WHERE control_plane = $1 AND expires_at > now()")
        .bind(control_plane)
        .fetch_optional(db)
        .await
}

/// Replaces the stored state of `control_plane` with `snap` and records the success, all or
/// nothing: in a transaction of its own, or a savepoint when `db` is already one. Rows go in as
/// arrays (`UNNEST`): one statement per table, whatever the size.
pub async fn replace_state(
    db: impl Acquire<'_, Database = Postgres>,
    control_plane: &str,
    snap: &Snapshot,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    replace_state_read_after(db, control_plane, snap, now, None)
        .await
        .map(drop)
}

/// How many policy writes Bearing has made to `control_plane` ([`crate::policy::repo::store_written`]);
/// a poll notes it before it reads the control plane.
pub async fn bearing_writes(db: impl PgExecutor<'_>, control_plane: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT bearing_writes FROM mesh_control_planes WHERE name = $1")
        .bind(control_plane)
        .fetch_optional(db)
        .await
        .map(Option::unwrap_or_default)
}

/// [`replace_state`] for a poll that began reading when Bearing had made `writes_before_read`
/// policy writes ([`bearing_writes`]): if Bearing wrote a policy since, what the poll read may
/// predate that write, and storing it would bring back the state Bearing just replaced (a policy
/// rolled back shown as applied until the next poll). Such a poll stores nothing and returns
/// `false`; the next one reads after the write.
pub async fn replace_state_read_after(
    db: impl Acquire<'_, Database = Postgres>,
    control_plane: &str,
    snap: &Snapshot,
    now: OffsetDateTime,
    writes_before_read: Option<i64>,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    // Most polls read exactly what the previous one stored: record the success and write
    // nothing else (rewriting thousands of proxies, services and policies each poll cost every
    // page rendered meanwhile), and tell no server to drop its pages.
    let digest = state_digest(snap);
    let (stored, writes, stored_changes): (Option<String>, i64, Option<sqlx::types::Json<Digests>>) = sqlx::query_as(
        "SELECT state_digest, bearing_writes, change_digests FROM mesh_control_planes WHERE name = $1 FOR UPDATE",
    )
    .bind(control_plane)
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or_default();
    if writes_before_read.is_some_and(|before| before != writes) {
        tx.rollback().await?;
        return Ok(false);
    }
    if stored.as_deref() == Some(digest.as_str()) {
        sqlx::query("UPDATE mesh_control_planes SET last_success_at = $2 WHERE name = $1")
            .bind(control_plane)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        return tx.commit().await.map(|()| true);
    }
    for table in ["mesh_meshes", "mesh_proxies", "mesh_services", "mesh_resources"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE control_plane = $1"))
            .bind(control_plane)
            .execute(&mut *tx)
            .await?;
    }
    insert_meshes(&mut tx, control_plane, &snap.meshes, &policy_versions(snap), now).await?;
    insert_proxies(&mut tx, control_plane, &snap.proxies, now).await?;
    insert_services(&mut tx, control_plane, &snap.services, now).await?;
    insert_resources(&mut tx, control_plane, &snap.resources).await?;
    let changes = Digests::of(snap);
    let changed = changes.changed_since(stored_changes.as_ref().map(|d| &d.0));
    sqlx::query(
        "UPDATE mesh_control_planes SET last_success_at = $2, state_digest = $3, change_digests = $4 WHERE name = $1",
    )
    .bind(control_plane)
    .bind(now)
    .bind(&digest)
    .bind(sqlx::types::Json(&changes))
    .execute(&mut *tx)
    .await?;
    change::notify(&mut tx, changed.as_ref()).await?;
    tx.commit().await.map(|()| true)
}

/// A digest of everything `snap` stores, whatever order the control plane listed it in: equal
/// digests, equal stored state.
fn state_digest(snap: &Snapshot) -> String {
    use sha2::{Digest, Sha256};
    fn sorted<T: std::fmt::Debug>(rows: &[T]) -> Vec<String> {
        let mut lines: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
        lines.sort_unstable();
        lines
    }
    let mut h = Sha256::new();
    for (table, lines) in [
        ("meshes", sorted(&snap.meshes)),
        ("proxies", sorted(&snap.proxies)),
        ("services", sorted(&snap.services)),
        ("resources", sorted(&snap.resources)),
    ] {
        h.update(table.as_bytes());
        for line in lines {
            h.update(line.len().to_le_bytes());
            h.update(line.as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Each mesh's [`StoredMesh::policy_version`](super::StoredMesh::policy_version): a digest of
/// what its policy set is read from (the stored resources but MeshServices' proxy counts, the
/// services and the gateway proxies),
/// so that servers reparse a set only when a poll brought something new, not after every poll.
fn policy_versions(snap: &Snapshot) -> HashMap<&str, String> {
    use sha2::{Digest, Sha256};
    fn feed<'a>(hashers: &mut HashMap<&'a str, Sha256>, mesh: &'a str, parts: &[&str]) {
        let h = hashers.entry(mesh).or_default();
        for part in parts {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    let mut hashers: HashMap<&str, Sha256> = HashMap::new();
    let mut resources: Vec<&ResourceRow> = snap.resources.iter().collect();
    resources.sort_by(|a, b| (&a.mesh, a.kind, &a.name).cmp(&(&b.mesh, b.kind, &b.name)));
    for r in resources {
        // A MeshService's proxy counts move with every proxy going on or offline; nothing in a
        // policy set reads them, so they do not make it a new set.
        let split = change::split_mesh_service(r);
        let body = split.as_ref().map_or(r.body.as_str(), |parts| parts.rest.as_str());
        feed(&mut hashers, &r.mesh, &["resource", r.kind, &r.name, body]);
    }
    let mut services: Vec<&ServiceRow> = snap.services.iter().collect();
    services.sort_by(|a, b| (&a.mesh, &a.service).cmp(&(&b.mesh, &b.service)));
    for s in services {
        feed(&mut hashers, &s.mesh, &["service", &s.service]);
    }
    let mut gateways: Vec<&ProxyRow> = snap.proxies.iter().filter(|p| p.gateway.is_some()).collect();
    gateways.sort_by(|a, b| (&a.mesh, &a.name).cmp(&(&b.mesh, &b.name)));
    for p in gateways {
        feed(
            &mut hashers,
            &p.mesh,
            &["gateway", &p.name, p.gateway.as_deref().unwrap_or_default()],
        );
        for service in &p.services {
            feed(&mut hashers, &p.mesh, &[service]);
        }
    }
    hashers
        .into_iter()
        .map(|(mesh, h)| (mesh, h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()))
        .collect()
}

async fn insert_meshes(
    db: &mut PgConnection,
    control_plane: &str,
    m: &[MeshRow],
    versions: &HashMap<&str, String>,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mesh_meshes
                (control_plane, mesh, mtls_enabled, mtls_backend, mtls_type, mtls_mode, identity, policy_counts,
                 policy_version, observed_at)
         SELECT $1, *, $10
           FROM UNNEST($2::text[], $3::bool[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[])",
    )
    .bind(control_plane)
    .bind(m.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_enabled).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_backend.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_type.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.mtls_mode.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.identity).collect::<Vec<_>>())
    .bind(m.iter().map(|r| r.policy_counts.clone()).collect::<Vec<_>>())
    .bind(m.iter().map(|r| versions.get(r.mesh.as_str()).cloned().unwrap_or_default()).collect::<Vec<_>>())
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

async fn insert_proxies(
    db: &mut PgConnection,
    control_plane: &str,
    p: &[ProxyRow],
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    // A proxy's services are a list of their own; arrays of arrays must be rectangular in
    // PostgreSQL, so they travel as JSON arrays.
    sqlx::query(
        "INSERT INTO mesh_proxies
                (control_plane, mesh, name, services, gateway, status, cert_expires_at, cert_state, labels, observed_at)
         SELECT $1, u.mesh, u.name, ARRAY(SELECT jsonb_array_elements_text(u.services)), u.gateway, u.status,
                u.cert_expires_at, u.cert_state, u.labels, $10
           FROM UNNEST($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                       $9::jsonb[])
                AS u(mesh, name, services, gateway, status, cert_expires_at, cert_state, labels)",
    )
    .bind(control_plane)
    .bind(p.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| serde_json::json!(r.services)).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.gateway.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.status.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.cert_expires_at).collect::<Vec<_>>())
    .bind(p.iter().map(|r| r.cert_state.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|r| serde_json::json!(r.labels)).collect::<Vec<_>>())
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

async fn insert_services(
    db: &mut PgConnection,
    control_plane: &str,
    s: &[ServiceRow],
    now: OffsetDateTime,
) -> sqlx::Result<()> {
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
    .execute(db)
    .await
    .map(|_| ())
}

async fn insert_resources(db: &mut PgConnection, control_plane: &str, r: &[ResourceRow]) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mesh_resources (control_plane, mesh, kind, name, body)
         SELECT $1, u.mesh, u.kind, u.name, u.body::jsonb FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS u(mesh, kind, name, body)",
    )
    .bind(control_plane)
    .bind(r.iter().map(|x| x.mesh.clone()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.kind).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.body.clone()).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(|_| ())
}

/// Records a failed poll; the stored state is left as it was.
pub async fn record_error(
    db: impl Acquire<'_, Database = Postgres>,
    control_plane: &str,
    error: &str,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE mesh_control_planes SET last_error = $2, last_error_at = $3 WHERE name = $1")
        .bind(control_plane)
        .bind(error)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // Every mesh page tells how fresh what it shows is.
    change::notify(&mut tx, None).await?;
    tx.commit().await
}

/// Stores traffic samples taken at `at`, in one statement.
pub async fn insert_traffic(
    db: impl Acquire<'_, Database = Postgres>,
    control_plane: &str,
    at: OffsetDateTime,
    rows: &[TrafficRow],
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO mesh_traffic
                (control_plane, mesh, service, peer, direction, at, requests_per_s, errors_per_s, denied_per_s, p99_ms)
         SELECT $1, u.mesh, u.service, u.peer, u.direction, $2, u.rps, u.eps, u.dps, u.p99
           FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[],
                       $10::float8[])
                AS u(mesh, service, peer, direction, rps, eps, p99, dps)",
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
    .bind(rows.iter().map(|r| r.denied_per_s).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    upsert_observed_edges(&mut *tx, control_plane, at, rows).await?;
    // A sample shows on its service's pages, and an outbound one on its destination's too.
    let services: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| [&r.service, &r.peer])
        .filter(|name| !name.is_empty())
        .cloned()
        .collect();
    change::notify(&mut tx, Some(&services)).await?;
    tx.commit().await
}

/// Keeps `mesh_observed_edges` current with the outbound rows of one stats round: the latest
/// rates of each caller -> destination pair, and `last_seen` moved only by a sample that carried
/// requests.
async fn upsert_observed_edges(
    db: impl PgExecutor<'_>,
    control_plane: &str,
    at: OffsetDateTime,
    rows: &[TrafficRow],
) -> sqlx::Result<()> {
    let outbound: Vec<&TrafficRow> = rows.iter().filter(|r| r.direction == "outbound").collect();
    if outbound.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO mesh_observed_edges AS e
                (control_plane, mesh, caller, callee, at, requests_per_s, errors_per_s, denied_per_s, last_seen)
         SELECT $1, u.mesh, u.caller, u.callee, $2, u.rps, u.eps, u.dps, CASE WHEN u.rps > 0 THEN $2 END
           FROM UNNEST($3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[])
                AS u(mesh, caller, callee, rps, eps, dps)
         ON CONFLICT (control_plane, mesh, caller, callee) DO UPDATE SET
            at = EXCLUDED.at, requests_per_s = EXCLUDED.requests_per_s, errors_per_s = EXCLUDED.errors_per_s,
            denied_per_s = EXCLUDED.denied_per_s, last_seen = COALESCE(EXCLUDED.last_seen, e.last_seen)
          WHERE e.at <= EXCLUDED.at",
    )
    .bind(control_plane)
    .bind(at)
    .bind(outbound.iter().map(|r| r.mesh.clone()).collect::<Vec<_>>())
    .bind(outbound.iter().map(|r| r.service.clone()).collect::<Vec<_>>())
    .bind(outbound.iter().map(|r| r.peer.clone()).collect::<Vec<_>>())
    .bind(outbound.iter().map(|r| r.requests_per_s).collect::<Vec<_>>())
    .bind(outbound.iter().map(|r| r.errors_per_s).collect::<Vec<_>>())
    .bind(outbound.iter().map(|r| r.denied_per_s).collect::<Vec<_>>())
    .execute(db)
    .await?;
    Ok(())
}

/// Folds raw samples older than `raw_before` into hourly averages, deletes them, and deletes
/// hourly rows older than `hourly_before`, all or nothing (a transaction of its own, or a
/// savepoint). Returns the raw rows folded.
pub async fn downsample_traffic(
    db: impl Acquire<'_, Database = Postgres>,
    raw_before: OffsetDateTime,
    hourly_before: OffsetDateTime,
) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let folded: i64 = sqlx::query_scalar(
        "WITH old AS (DELETE FROM mesh_traffic WHERE at < $1 RETURNING *),
              hours AS (
                INSERT INTO mesh_traffic_hourly AS h
                       (control_plane, mesh, service, peer, direction, hour, requests_per_s, errors_per_s, denied_per_s,
                        p99_ms, samples)
                SELECT control_plane, mesh, service, peer, direction, date_trunc('hour', at),
                       avg(requests_per_s), avg(errors_per_s), avg(denied_per_s), max(p99_ms), count(*)
                  FROM old GROUP BY 1, 2, 3, 4, 5, 6
                ON CONFLICT (control_plane, mesh, service, peer, direction, hour) DO UPDATE SET
                   requests_per_s = (h.requests_per_s * h.samples + EXCLUDED.requests_per_s * EXCLUDED.samples)
                                    / (h.samples + EXCLUDED.samples),
                   errors_per_s = (h.errors_per_s * h.samples + EXCLUDED.errors_per_s * EXCLUDED.samples)
                                  / (h.samples + EXCLUDED.samples),
                   denied_per_s = (h.denied_per_s * h.samples + EXCLUDED.denied_per_s * EXCLUDED.samples)
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
    // A pair nobody has called, nor measured, for as long as the history is kept.
    sqlx::query("DELETE FROM mesh_observed_edges WHERE COALESCE(last_seen, at) < $1")
        .bind(hourly_before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(folded as u64)
}
