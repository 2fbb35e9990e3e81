//! The evidence queries. Each is a constant so that `_meta/populations.json` can show the
//! auditor the exact SQL that produced a file; `$1` is the period's start, `$2` its end.
//! Everything streams (`fetch`): a population is never held in memory whole. A query that needs
//! only the end still takes the start (`$1::timestamptz IS NOT NULL`), so that every file's
//! parameters in `_meta/populations.json` read alike.

use futures::stream::BoxStream;
use sqlx::{FromRow, PgConnection, PgExecutor};
use time::OffsetDateTime;

/// A stream of rows borrowed from the export's connection.
pub type Rows<'c, R> = BoxStream<'c, sqlx::Result<R>>;

/// Opens the snapshot every file of one export is read from.
pub async fn begin_snapshot(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(conn)
        .await
        .map(drop)
}

/// Ends the snapshot (nothing was written in it).
pub async fn end_snapshot(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("ROLLBACK").execute(conn).await.map(drop)
}

/// Every entity as it was just before the end of the period, from `entity_history`.
pub const ENTITIES: &str = "
SELECT h.ref, h.kind, h.type, h.owner_ref,
       COALESCE((SELECT max(p.valid_to) FROM entity_history p
                  WHERE p.entity_id = h.entity_id AND p.valid_to <= h.valid_from
                    AND p.owner_ref IS DISTINCT FROM h.owner_ref),
                (SELECT min(f.valid_from) FROM entity_history f WHERE f.entity_id = h.entity_id)) AS owner_since,
       h.lifecycle, h.tier, h.source, h.orphaned,
       (SELECT min(f.valid_from) FROM entity_history f WHERE f.entity_id = h.entity_id) AS first_seen,
       h.valid_from AS last_changed
  FROM entity_history h
 WHERE h.valid_from < $2 AND (h.valid_to IS NULL OR h.valid_to >= $2) AND $1::timestamptz IS NOT NULL
 ORDER BY h.ref";

#[derive(Debug, FromRow)]
pub struct EntityRow {
    pub r#ref: String,
    pub kind: String,
    pub r#type: Option<String>,
    pub owner_ref: Option<String>,
    pub owner_since: Option<OffsetDateTime>,
    pub lifecycle: Option<String>,
    pub tier: Option<String>,
    pub source: Option<String>,
    pub orphaned: bool,
    pub first_seen: Option<OffsetDateTime>,
    pub last_changed: OffsetDateTime,
}

/// Every sign-in up to the end of the period, by person, oldest first: the roles each one
/// carried (`after.roles`, `after.lead_of`, `after.groups`) are the role history. Revokes decided
/// in access reviews come in the same stream, under the person they revoked (`target`): they take
/// a role at once, before any sign-in.
pub const LOGINS: &str = "
SELECT CASE WHEN action = 'auth.login' THEN actor ELSE COALESCE(target, '') END AS actor, at, action, after
  FROM audit_log
 WHERE at < $2 AND $1::timestamptz IS NOT NULL
   AND (action = 'auth.login' OR (action = 'access_review.decide' AND after ->> 'decision' = 'revoke'))
 ORDER BY 1, seq";

#[derive(Debug, FromRow)]
pub struct LoginRow {
    pub actor: String,
    pub at: OffsetDateTime,
    /// `auth.login` or `access_review.decide`.
    pub action: String,
    pub after: Option<serde_json::Value>,
}

/// The people Bearing knows, for their issuer, subject and email.
pub const USERS: &str = "SELECT id, issuer, subject, email, last_login_at FROM users";

#[derive(Debug, FromRow)]
pub struct UserRow {
    pub id: uuid::Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub last_login_at: OffsetDateTime,
}

/// Every change of a mapping rule, oldest first: replayed backwards over the rules stored now,
/// they give the rules at the end of the period.
pub const MAPPING_CHANGES: &str = "
SELECT at, actor, before, after FROM audit_log WHERE action = 'role_mapping.change' ORDER BY seq";

#[derive(Debug, FromRow)]
pub struct MappingChangeRow {
    pub at: OffsetDateTime,
    pub actor: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// API tokens made before the end of the period.
pub const TOKENS: &str = "
SELECT id::text AS id, name, prefix, role, team, created_by, created_at, expires_at, last_used_at, revoked_at,
       revoked_by
  FROM api_tokens
 WHERE created_at < $2 AND (revoked_at IS NULL OR revoked_at >= $1)
 ORDER BY created_at, id";

#[derive(Debug, FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub team: Option<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

/// Transfers open at some time in the period, with the approver's last sign-in before deciding
/// (the roles they held at that moment).
pub const TRANSFERS: &str = "
SELECT t.id, t.entity_ref, t.from_team, t.to_team, t.reason, t.requested_by, t.created_at,
       CASE WHEN t.decided_at < $2 THEN t.status ELSE 'pending' END AS status,
       CASE WHEN t.decided_at < $2 THEN t.decided_by END AS decided_by,
       CASE WHEN t.decided_at < $2 THEN t.decided_at END AS decided_at,
       (SELECT a.after FROM audit_log a
         WHERE a.action = 'auth.login' AND a.actor = t.decided_by AND a.at <= t.decided_at AND t.decided_at < $2
         ORDER BY a.seq DESC LIMIT 1) AS approver_login
  FROM transfers t
 WHERE t.created_at < $2 AND (t.decided_at IS NULL OR t.decided_at >= $1)
 ORDER BY t.id";

#[derive(Debug, FromRow)]
pub struct TransferRow {
    pub id: i64,
    pub entity_ref: String,
    pub from_team: Option<String>,
    pub to_team: String,
    pub reason: String,
    pub requested_by: String,
    pub created_at: OffsetDateTime,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub approver_login: Option<serde_json::Value>,
}

/// Audit rows of the period with these actions, in chain order.
pub const CHANGES: &str = "
SELECT seq, at, actor, action, target, before, after, reason FROM audit_log
 WHERE at >= $1 AND at < $2 AND action = ANY($3) ORDER BY seq";

#[derive(Debug, FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

/// Policies Bearing wrote to a control plane in the period.
pub const POLICY_CHANGES: &str = "
SELECT id, at, actor, action, control_plane, mesh, kind, name, component, before, after, reason
  FROM mesh_policy_changes WHERE at >= $1 AND at < $2 ORDER BY id";

#[derive(Debug, FromRow)]
pub struct PolicyChangeRow {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub control_plane: String,
    pub mesh: String,
    pub kind: String,
    pub name: String,
    pub component: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: String,
}

/// The days of the period whose snapshot counts: a day counts when it starts before the end.
const DAYS: &str = "day >= ($1 AT TIME ZONE 'UTC')::date AND (day::timestamp AT TIME ZONE 'UTC') < $2";

/// Each service's mTLS state over the period: one row per run of days in one state.
pub fn mtls_state_sql() -> String {
    format!(
        "SELECT control_plane, mesh, service, component, mtls_enabled, mtls_mode, mtls_backend,
                min(day) AS first_day, max(day) AS last_day, count(*) AS days,
                min(earliest_cert_expiry) AS earliest_cert_expiry
           FROM mesh_daily_services WHERE {DAYS}
          GROUP BY control_plane, mesh, service, component, mtls_enabled, mtls_mode, mtls_backend
          ORDER BY control_plane, mesh, service, first_day"
    )
}

#[derive(Debug, FromRow)]
pub struct MtlsRow {
    pub control_plane: String,
    pub mesh: String,
    pub service: String,
    pub component: Option<String>,
    pub mtls_enabled: bool,
    pub mtls_mode: Option<String>,
    pub mtls_backend: Option<String>,
    pub first_day: time::Date,
    pub last_day: time::Date,
    pub days: i64,
    pub earliest_cert_expiry: Option<OffsetDateTime>,
}

/// Who could call whom over the period, and by which policy.
pub fn permitted_edges_sql() -> String {
    format!(
        "SELECT control_plane, mesh, caller, callee, caller_component, callee_component, enforced, policy,
                min(day) AS first_day, max(day) AS last_day, count(*) AS days
           FROM mesh_daily_edges WHERE allowed AND {DAYS}
          GROUP BY control_plane, mesh, caller, callee, caller_component, callee_component, enforced, policy
          ORDER BY control_plane, mesh, caller, callee, first_day"
    )
}

#[derive(Debug, FromRow)]
pub struct PermittedRow {
    pub control_plane: String,
    pub mesh: String,
    pub caller: String,
    pub callee: String,
    pub caller_component: Option<String>,
    pub callee_component: Option<String>,
    pub enforced: bool,
    pub policy: Option<String>,
    pub first_day: time::Date,
    pub last_day: time::Date,
    pub days: i64,
}

/// Edges in a drift class (anything but `healthy`) over the period.
pub fn drift_sql() -> String {
    format!(
        "SELECT control_plane, mesh, caller, callee, caller_component, callee_component, class,
                min(day) AS first_day, max(day) AS last_day, count(*) AS days
           FROM mesh_daily_edges WHERE class <> 'healthy' AND {DAYS}
          GROUP BY control_plane, mesh, caller, callee, caller_component, callee_component, class
          ORDER BY control_plane, mesh, caller, callee, first_day"
    )
}

#[derive(Debug, FromRow)]
pub struct DriftRow {
    pub control_plane: String,
    pub mesh: String,
    pub caller: String,
    pub callee: String,
    pub caller_component: Option<String>,
    pub callee_component: Option<String>,
    pub class: String,
    pub first_day: time::Date,
    pub last_day: time::Date,
    pub days: i64,
}

/// Deployments reported in the period, with the producer identity that reported each.
pub const DEPLOYMENTS: &str = "
SELECT event_id, at, component, subject, action, environment, artifact, chain_id, producer
  FROM delivery_deployments WHERE at >= $1 AND at < $2 ORDER BY at, event_id";

#[derive(Debug, FromRow)]
pub struct DeploymentRow {
    pub event_id: i64,
    pub at: OffsetDateTime,
    pub component: Option<String>,
    pub subject: String,
    pub action: String,
    pub environment: Option<String>,
    pub artifact: Option<String>,
    pub chain_id: Option<String>,
    pub producer: String,
}

/// The audit rows of the period: from the first row at or after the start to the last row before
/// the end, by seq (the chain's order), so the file is one unbroken stretch of the chain.
pub const AUDIT_ROWS: &str = "
SELECT seq, at, actor, actor_kind, action, target, before, after, reason, request_id, client_addr, prev_hash, hash
  FROM audit_log WHERE seq BETWEEN $1 AND $2 ORDER BY seq";

/// The first and last seq of the period's audit rows; `None` when it has none.
pub async fn audit_span(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Option<(i64, i64)>> {
    let span: (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT min(seq) FROM audit_log WHERE at >= $1), (SELECT max(seq) FROM audit_log WHERE at < $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?;
    Ok(match span {
        (Some(first), Some(last)) if first <= last => Some((first, last)),
        _ => None,
    })
}

/// The newest audit row before `to`: the chain head the populations are taken at.
pub async fn head_before(db: impl PgExecutor<'_>, to: OffsetDateTime) -> sqlx::Result<Option<(i64, Vec<u8>)>> {
    sqlx::query_as("SELECT seq, hash FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log WHERE at < $1)")
        .bind(to)
        .fetch_optional(db)
        .await
}

/// The checkpoints signed for rows `first..=last`.
pub async fn checkpoints_within(
    db: impl PgExecutor<'_>,
    first: i64,
    last: i64,
) -> sqlx::Result<Vec<bearing_audit::Checkpoint>> {
    let all = crate::audit::repo::checkpoints_after(db, first - 1).await?;
    Ok(all.into_iter().filter(|c| c.seq <= last).collect())
}

/// The latest exports, newest first, for the `/evidence` page.
pub async fn recent_exports(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> sqlx::Result<Vec<(i64, OffsetDateTime, String, Option<serde_json::Value>)>> {
    sqlx::query_as(
        "SELECT seq, at, actor, after FROM audit_log WHERE action = 'evidence.export' ORDER BY seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}
