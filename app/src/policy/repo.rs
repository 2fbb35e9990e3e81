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
///
/// With a focus, each way in is its own branch so that every one is an index lookup
/// (`relations_source`, `relations_target`): an `OR` across both ends would scan the table,
/// and an entity page asks this for its graph on every render.
pub async fn declared_dependencies(
    db: impl PgExecutor<'_>,
    focus: Option<&[String]>,
) -> sqlx::Result<Vec<DeclaredDependency>> {
    const COMPONENTS: &str = "r.source_ref LIKE 'component:%' AND r.target_ref LIKE 'component:%'";
    const API_PAIRS: &str = "c.type = 'consumesApi' AND p.type = 'providesApi'
        AND c.source_ref LIKE 'component:%' AND p.source_ref LIKE 'component:%' AND c.source_ref <> p.source_ref";
    let sql = match focus {
        None => format!(
            "SELECT r.source_ref AS from_ref, r.target_ref AS to_ref, 'dependsOn' AS via
               FROM relations r WHERE r.type = 'dependsOn' AND {COMPONENTS}
             UNION
             SELECT c.source_ref, p.source_ref, 'consumesApi ' || c.target_ref
               FROM relations c JOIN relations p ON p.target_ref = c.target_ref WHERE {API_PAIRS}
             ORDER BY 1, 2, 3"
        ),
        Some(_) => format!(
            "SELECT r.source_ref AS from_ref, r.target_ref AS to_ref, 'dependsOn' AS via
               FROM relations r WHERE r.type = 'dependsOn' AND r.source_ref = ANY ($1) AND {COMPONENTS}
             UNION
             SELECT r.source_ref, r.target_ref, 'dependsOn'
               FROM relations r WHERE r.type = 'dependsOn' AND r.target_ref = ANY ($1) AND {COMPONENTS}
             UNION
             SELECT c.source_ref, p.source_ref, 'consumesApi ' || c.target_ref
               FROM relations c JOIN relations p ON p.target_ref = c.target_ref
              WHERE c.source_ref = ANY ($1) AND {API_PAIRS}
             UNION
             SELECT c.source_ref, p.source_ref, 'consumesApi ' || c.target_ref
               FROM relations p JOIN relations c ON c.target_ref = p.target_ref
              WHERE p.source_ref = ANY ($1) AND {API_PAIRS}
             ORDER BY 1, 2, 3"
        ),
    };
    let query = sqlx::query_as(&sql);
    match focus {
        Some(focus) => query.bind(focus).fetch_all(db).await,
        None => query.fetch_all(db).await,
    }
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

/// Key of one Kuma policy: control plane, mesh, kind, name.
pub type PolicyKey<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A change Bearing made to a policy, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct StoredChange {
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub actor: String,
    pub reason: String,
    pub at: OffsetDateTime,
}

/// Most changes of one policy read back (history and rollback).
pub const MAX_CHANGES: i64 = 200;

/// Bearing's changes to one policy, newest first.
pub async fn changes(db: impl PgExecutor<'_>, key: PolicyKey<'_>) -> sqlx::Result<Vec<StoredChange>> {
    let (control_plane, mesh, kind, name) = key;
    sqlx::query_as(
        "SELECT action, before, after, actor, reason, at FROM mesh_policy_changes
          WHERE control_plane = $1 AND mesh = $2 AND kind = $3 AND name = $4
          ORDER BY id DESC LIMIT $5",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(kind)
    .bind(name)
    .bind(MAX_CHANGES)
    .fetch_all(db)
    .await
}

/// A change to record.
pub struct NewChange<'a> {
    pub key: PolicyKey<'a>,
    pub component: &'a str,
    pub action: &'a str,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
    pub actor: &'a str,
    pub reason: &'a str,
}

/// Records a change (in the transaction that also writes its audit row).
pub async fn insert_change(db: impl PgExecutor<'_>, change: &NewChange<'_>) -> sqlx::Result<()> {
    let (control_plane, mesh, kind, name) = change.key;
    sqlx::query(
        "INSERT INTO mesh_policy_changes (control_plane, mesh, kind, name, component, action, before, after, actor, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(control_plane)
    .bind(mesh)
    .bind(kind)
    .bind(name)
    .bind(change.component)
    .bind(change.action)
    .bind(change.before)
    .bind(change.after)
    .bind(change.actor)
    .bind(change.reason)
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the stored copy of a policy what was just written (or removes it), so pages show the
/// change before the next poll reads it back from the control plane, and gives the mesh a new
/// policy version so that every server reparses its policy set. The control plane's state
/// digest is cleared: the stored state is no longer what a poll read, so the next poll writes
/// what it reads even if the control plane did not change.
pub async fn store_written(
    db: impl PgExecutor<'_>,
    key: PolicyKey<'_>,
    resource: Option<&serde_json::Value>,
) -> sqlx::Result<()> {
    let (control_plane, mesh, kind, name) = key;
    match resource {
        Some(body) => sqlx::query(
            "WITH written AS (
                 INSERT INTO mesh_resources (control_plane, mesh, kind, name, body) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (control_plane, mesh, kind, name) DO UPDATE SET body = EXCLUDED.body)
             , versioned AS (
                 UPDATE mesh_meshes SET policy_version = gen_random_uuid()::text
                  WHERE control_plane = $1 AND mesh = $2)
             UPDATE mesh_control_planes SET state_digest = NULL, bearing_writes = bearing_writes + 1 WHERE name = $1",
        )
        .bind(control_plane)
        .bind(mesh)
        .bind(kind)
        .bind(name)
        .bind(body)
        .execute(db)
        .await
        .map(drop),
        None => sqlx::query(
            "WITH removed AS (
                     DELETE FROM mesh_resources WHERE control_plane = $1 AND mesh = $2 AND kind = $3 AND name = $4)
                 , versioned AS (
                     UPDATE mesh_meshes SET policy_version = gen_random_uuid()::text
                      WHERE control_plane = $1 AND mesh = $2)
                 UPDATE mesh_control_planes SET state_digest = NULL, bearing_writes = bearing_writes + 1 WHERE name = $1",
        )
        .bind(control_plane)
        .bind(mesh)
        .bind(kind)
        .bind(name)
        .execute(db)
        .await
        .map(drop),
    }
}

/// The owner of a component (reference key), if it exists and has one: `None` when there is no
/// such component, `Some(None)` when it has no owner.
pub async fn component_owner(db: impl PgExecutor<'_>, component: &str) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar("SELECT owner_ref FROM entities WHERE ref = $1 AND kind = 'component'")
        .bind(component)
        .fetch_optional(db)
        .await
}

/// A provider whose policy an import left out of date (`policy_out_of_date`).
#[derive(Debug, Clone, FromRow)]
pub struct OutOfDateRow {
    pub component: String,
    pub kind: String,
    pub since: OffsetDateTime,
    pub cause: String,
    /// The importing identity, as `CurrentUser` JSON.
    pub importer: serde_json::Value,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Marks the `kind` policies of `components` out of date. A component already marked keeps its
/// `since` and takes the newest cause and importer, with its failed attempts forgotten: the
/// situation they failed in has changed.
pub async fn mark_out_of_date(
    db: impl PgExecutor<'_>,
    components: &[String],
    kind: &str,
    cause: &str,
    importer: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO policy_out_of_date (component, kind, cause, importer)
         SELECT c, $2, $3, $4 FROM unnest($1::text[]) AS c
         ON CONFLICT (component, kind) DO UPDATE
            SET cause = EXCLUDED.cause, importer = EXCLUDED.importer,
                attempts = 0, last_error = NULL, last_attempt = NULL",
    )
    .bind(components)
    .bind(kind)
    .bind(cause)
    .bind(importer)
    .execute(db)
    .await
    .map(drop)
}

const OUT_OF_DATE_COLUMNS: &str = "component, kind, since, cause, importer, attempts, last_error";

/// The mark on one component's `kind` policy, if any.
pub async fn out_of_date(db: impl PgExecutor<'_>, component: &str, kind: &str) -> sqlx::Result<Option<OutOfDateRow>> {
    sqlx::query_as(&format!(
        "SELECT {OUT_OF_DATE_COLUMNS} FROM policy_out_of_date WHERE component = $1 AND kind = $2"
    ))
    .bind(component)
    .bind(kind)
    .fetch_optional(db)
    .await
}

/// Up to `limit` marks of `kind` due for a look, oldest first. A mark whose last attempt failed
/// waits `retry` doubled per failure (at most 64 times) before the next.
pub async fn due_out_of_date(
    db: impl PgExecutor<'_>,
    kind: &str,
    retry: std::time::Duration,
    limit: i64,
) -> sqlx::Result<Vec<OutOfDateRow>> {
    sqlx::query_as(&format!(
        "SELECT {OUT_OF_DATE_COLUMNS} FROM policy_out_of_date
          WHERE kind = $1
            AND (last_attempt IS NULL
                 OR last_attempt < now() - make_interval(secs => $2 * power(2, LEAST(attempts, 6))))
          ORDER BY since, component LIMIT $3"
    ))
    .bind(kind)
    .bind(retry.as_secs_f64())
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Removes the mark (the policy follows the catalog again, or Bearing does not manage it).
pub async fn clear_out_of_date(db: impl PgExecutor<'_>, component: &str, kind: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM policy_out_of_date WHERE component = $1 AND kind = $2")
        .bind(component)
        .bind(kind)
        .execute(db)
        .await
        .map(drop)
}

/// Records a failed attempt to re-apply the policy.
pub async fn failed_attempt(db: impl PgExecutor<'_>, component: &str, kind: &str, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE policy_out_of_date SET attempts = attempts + 1, last_error = $3, last_attempt = now()
          WHERE component = $1 AND kind = $2",
    )
    .bind(component)
    .bind(kind)
    .bind(error)
    .execute(db)
    .await
    .map(drop)
}

/// Whether a component of that reference exists (a mark outlives the component it names).
pub async fn component_exists(db: impl PgExecutor<'_>, component: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM entities WHERE ref = $1 AND kind = 'component' AND NOT orphaned)")
        .bind(component)
        .fetch_one(db)
        .await
}

/// Takes the lock of the policy worker for the transaction `db` is in: false when another
/// server holds it (one pass at a time across a deployment).
pub async fn try_lock_follow(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    // An arbitrary constant, the same in every Bearing server: "policy follow".
    const FOLLOW_LOCK: i64 = 0x0b0a_7001_f011;
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(FOLLOW_LOCK)
        .fetch_one(db)
        .await
}

/// What templates select components by.
#[derive(Debug, Clone, FromRow)]
pub struct ComponentMeta {
    pub entity_type: Option<String>,
    pub lifecycle: Option<String>,
    pub tags: Vec<String>,
    pub system_ref: Option<String>,
    #[sqlx(json)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[sqlx(json)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// The template-selecting metadata of a component (reference key), if it exists.
pub async fn component_meta(db: impl PgExecutor<'_>, component: &str) -> sqlx::Result<Option<ComponentMeta>> {
    sqlx::query_as(
        "SELECT type AS entity_type, lifecycle, tags, system_ref, labels, annotations
           FROM entities WHERE ref = $1 AND kind = 'component'",
    )
    .bind(component)
    .fetch_optional(db)
    .await
}

/// Removes every mark of `kind`.
pub async fn clear_all_out_of_date(db: impl PgExecutor<'_>, kind: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM policy_out_of_date WHERE kind = $1")
        .bind(kind)
        .execute(db)
        .await
        .map(drop)
}

/// Notes that the worker looked at a mark it keeps (waiting for the mesh, or for a lead), so it
/// is due again only after the retry delay.
pub async fn looked_at(db: impl PgExecutor<'_>, component: &str, kind: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE policy_out_of_date SET last_attempt = now() WHERE component = $1 AND kind = $2")
        .bind(component)
        .bind(kind)
        .execute(db)
        .await
        .map(drop)
}
