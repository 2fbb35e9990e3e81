//! SQL for access reviews, their entries and service snapshots, and role overrides.

use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::auth::repo::{TokenRow, UserRow};

/// A review with its progress. `entries` and the counts cover the entries the reader may see.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReviewRow {
    pub id: i64,
    pub scope: String,
    pub status: String,
    pub due_on: Date,
    pub opened_by: String,
    pub opened_at: OffsetDateTime,
    pub closed_by: Option<String>,
    pub closed_at: Option<OffsetDateTime>,
    pub entries: i64,
    pub decided: i64,
    pub revoked: i64,
    pub unassigned: i64,
}

/// Which entries a reader sees: every one (`teams: None`: admins, auditors, the evidence
/// export), or those of the teams they lead and those about themselves.
#[derive(Clone, Copy, Debug)]
pub struct Visible<'a> {
    pub teams: Option<&'a [String]>,
    pub subject: &'a str,
}

impl Visible<'_> {
    /// Every entry.
    pub const ALL: Visible<'static> = Visible {
        teams: None,
        subject: "",
    };
}

const REVIEW_COLUMNS: &str = "r.id, r.scope, r.status, r.due_on, r.opened_by, r.opened_at, r.closed_by, r.closed_at,
    count(e.id) AS entries, count(e.decision) AS decided,
    count(e.id) FILTER (WHERE e.decision = 'revoke') AS revoked,
    count(e.id) FILTER (WHERE e.reviewer = 'unassigned') AS unassigned";

const VISIBLE_JOIN: &str = "FROM access_reviews r
    LEFT JOIN access_review_entries e ON e.review_id = r.id
     AND ($1::text[] IS NULL OR e.team = ANY ($1) OR e.subject = $2)";

/// Reviews, newest first; for a lead, only those with entries they see.
pub async fn list_reviews(db: impl PgExecutor<'_>, visible: Visible<'_>) -> sqlx::Result<Vec<ReviewRow>> {
    sqlx::query_as(&format!(
        "SELECT {REVIEW_COLUMNS} {VISIBLE_JOIN} GROUP BY r.id
         HAVING $1::text[] IS NULL OR count(e.id) > 0 ORDER BY r.id DESC LIMIT 500"
    ))
    .bind(visible.teams)
    .bind(visible.subject)
    .fetch_all(db)
    .await
}

/// One review.
pub async fn find_review(db: impl PgExecutor<'_>, id: i64, visible: Visible<'_>) -> sqlx::Result<Option<ReviewRow>> {
    sqlx::query_as(&format!(
        "SELECT {REVIEW_COLUMNS} {VISIBLE_JOIN} WHERE r.id = $3 GROUP BY r.id"
    ))
    .bind(visible.teams)
    .bind(visible.subject)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Reviews opened or closed in `[from, to)`, oldest first.
pub async fn reviews_in_period(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<ReviewRow>> {
    sqlx::query_as(&format!(
        "SELECT {REVIEW_COLUMNS} {VISIBLE_JOIN}
         WHERE (r.opened_at >= $3 AND r.opened_at < $4) OR (r.closed_at >= $3 AND r.closed_at < $4)
         GROUP BY r.id ORDER BY r.id"
    ))
    .bind(None::<Vec<String>>)
    .bind("")
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// One entry as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub subject_label: String,
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub role: String,
    pub team: String,
    pub granted_via: String,
    pub last_seen_at: Option<OffsetDateTime>,
    pub reviewer: String,
    pub decision: Option<String>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
}

const ENTRY_COLUMNS: &str = "id, kind, subject, subject_label, user_id, token_id, role, team, granted_via,
    last_seen_at, reviewer, decision, note, decided_by, decided_at";

/// An entry to add when a review opens.
pub struct NewEntry {
    pub kind: &'static str,
    pub subject: String,
    pub subject_label: String,
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub role: String,
    pub team: String,
    pub granted_via: String,
    pub last_seen_at: Option<OffsetDateTime>,
    pub reviewer: &'static str,
}

/// Creates a review; returns its id.
pub async fn insert_review(db: impl PgExecutor<'_>, scope: &str, due_on: Date, opened_by: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO access_reviews (scope, due_on, opened_by) VALUES ($1, $2, $3) RETURNING id")
        .bind(scope)
        .bind(due_on)
        .bind(opened_by)
        .fetch_one(db)
        .await
}

/// Adds an entry.
pub async fn insert_entry(db: impl PgExecutor<'_>, review_id: i64, e: &NewEntry) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO access_review_entries
           (review_id, kind, subject, subject_label, user_id, token_id, role, team, granted_via, last_seen_at, reviewer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(review_id)
    .bind(e.kind)
    .bind(&e.subject)
    .bind(&e.subject_label)
    .bind(e.user_id)
    .bind(e.token_id)
    .bind(&e.role)
    .bind(&e.team)
    .bind(&e.granted_via)
    .bind(e.last_seen_at)
    .bind(e.reviewer)
    .execute(db)
    .await?;
    Ok(())
}

/// The entries of a review the reader sees, in id order.
pub async fn entries_of(db: impl PgExecutor<'_>, review_id: i64, visible: Visible<'_>) -> sqlx::Result<Vec<EntryRow>> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM access_review_entries
         WHERE review_id = $3 AND ($1::text[] IS NULL OR team = ANY ($1) OR subject = $2) ORDER BY id"
    ))
    .bind(visible.teams)
    .bind(visible.subject)
    .bind(review_id)
    .fetch_all(db)
    .await
}

/// Locks one entry of a review for a decision; with the review's status.
pub async fn lock_entry(
    db: &mut PgConnection,
    review_id: i64,
    entry_id: i64,
) -> sqlx::Result<Option<(EntryRow, String)>> {
    let entry: Option<EntryRow> = sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM access_review_entries WHERE review_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(review_id)
    .bind(entry_id)
    .fetch_optional(&mut *db)
    .await?;
    let Some(entry) = entry else { return Ok(None) };
    // FOR SHARE: a close (FOR UPDATE on the review) waits for this decision, and vice versa.
    let status: String = sqlx::query_scalar("SELECT status FROM access_reviews WHERE id = $1 FOR SHARE")
        .bind(review_id)
        .fetch_one(&mut *db)
        .await?;
    Ok(Some((entry, status)))
}

/// Records a decision; returns the entry after it.
pub async fn set_decision(
    db: impl PgExecutor<'_>,
    entry_id: i64,
    decision: &str,
    note: Option<&str>,
    by: &str,
) -> sqlx::Result<EntryRow> {
    sqlx::query_as(&format!(
        "UPDATE access_review_entries SET decision = $2, note = $3, decided_by = $4, decided_at = now()
         WHERE id = $1 RETURNING {ENTRY_COLUMNS}"
    ))
    .bind(entry_id)
    .bind(decision)
    .bind(note)
    .bind(by)
    .fetch_one(db)
    .await
}

/// Locks a review for closing; its status.
pub async fn lock_review(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT status FROM access_reviews WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// What closing a review stores.
pub struct Closing<'a> {
    pub closed_by: &'a str,
    pub closed_at: OffsetDateTime,
    pub attestation: &'a str,
    pub entries_jsonl: &'a str,
    pub signature: &'a [u8],
    pub key_fingerprint: &'a str,
}

/// Closes a review with its signed attestation.
pub async fn close_review(db: impl PgExecutor<'_>, id: i64, c: &Closing<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE access_reviews SET status = 'closed', closed_by = $2, closed_at = $3, attestation = $4,
           entries_jsonl = $5, signature = $6, key_fingerprint = $7
         WHERE id = $1",
    )
    .bind(id)
    .bind(c.closed_by)
    .bind(c.closed_at)
    .bind(c.attestation)
    .bind(c.entries_jsonl)
    .bind(c.signature)
    .bind(c.key_fingerprint)
    .execute(db)
    .await?;
    Ok(())
}

/// The signed documents of a closed review.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SignedRow {
    pub attestation: String,
    pub entries_jsonl: String,
    pub signature: Vec<u8>,
    pub key_fingerprint: String,
}

/// The attestation of review `id`, if it is closed.
pub async fn signed_of(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<SignedRow>> {
    sqlx::query_as(
        "SELECT attestation, entries_jsonl, signature, key_fingerprint FROM access_reviews
         WHERE id = $1 AND status = 'closed'",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A service and who could change it, as snapshotted.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ServiceRow {
    pub control_plane: String,
    pub mesh: String,
    pub service: String,
    pub component: Option<String>,
    pub owner: Option<String>,
    pub leads: Vec<String>,
}

/// Every Kuma service with the component claiming it and that component's owner (no leads).
pub async fn mesh_service_owners(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ServiceRow>> {
    sqlx::query_as(
        "SELECT s.control_plane, s.mesh, s.service, c.component, e.owner_ref AS owner, '{}'::text[] AS leads
           FROM mesh_services s
           CROSS JOIN LATERAL (SELECT mesh_component_for(s.mesh, s.service) AS component) c
           LEFT JOIN entities e ON e.ref = c.component
          ORDER BY s.control_plane, s.mesh, s.service",
    )
    .fetch_all(db)
    .await
}

/// Adds a service row to a review.
pub async fn insert_service(db: impl PgExecutor<'_>, review_id: i64, s: &ServiceRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO access_review_services (review_id, control_plane, mesh, service, component, owner, leads)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(review_id)
    .bind(&s.control_plane)
    .bind(&s.mesh)
    .bind(&s.service)
    .bind(&s.component)
    .bind(&s.owner)
    .bind(&s.leads)
    .execute(db)
    .await?;
    Ok(())
}

/// The services of a review the reader sees (`teams`: owned by those teams).
pub async fn services_of(
    db: impl PgExecutor<'_>,
    review_id: i64,
    teams: Option<&[String]>,
) -> sqlx::Result<Vec<ServiceRow>> {
    sqlx::query_as(
        "SELECT control_plane, mesh, service, component, owner, leads FROM access_review_services
         WHERE review_id = $1 AND ($2::text[] IS NULL OR owner = ANY ($2))
         ORDER BY control_plane, mesh, service",
    )
    .bind(review_id)
    .bind(teams)
    .fetch_all(db)
    .await
}

/// Every person who has signed in (no limit: a review covers everyone).
pub async fn all_users(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(
        "SELECT id, issuer, subject, email, name, groups, catalog_ref, last_login_at, sessions_valid_after
           FROM users ORDER BY issuer, subject",
    )
    .fetch_all(db)
    .await
}

/// Every token that still works: not revoked, not expired.
pub async fn live_tokens(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "SELECT id, name, prefix, role, team, scopes, created_by, created_at, expires_at, last_used_at,
                revoked_at, revoked_by
           FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
          ORDER BY name, id",
    )
    .fetch_all(db)
    .await
}

/// Takes `role` (and for leads `team`) from a person; `None` if an override is already in force.
pub async fn insert_override(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    role: &str,
    team: &str,
    reason: &str,
    entry_id: Option<i64>,
    by: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO role_overrides (user_id, role, team, reason, review_entry_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, role, team) WHERE lifted_at IS NULL DO NOTHING RETURNING id",
    )
    .bind(user_id)
    .bind(role)
    .bind(team)
    .bind(reason)
    .bind(entry_id)
    .bind(by)
    .fetch_optional(db)
    .await
}

/// An override with the person it names.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OverrideRow {
    pub id: i64,
    pub issuer: String,
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: String,
    pub team: String,
    pub reason: String,
    pub review_entry_id: Option<i64>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

const OVERRIDE_COLUMNS: &str = "o.id, u.issuer, u.subject, u.name, u.email, o.role, o.team, o.reason,
    o.review_entry_id, o.created_by, o.created_at";

/// Overrides in force, newest first.
pub async fn active_overrides(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<OverrideRow>> {
    sqlx::query_as(&format!(
        "SELECT {OVERRIDE_COLUMNS} FROM role_overrides o JOIN users u ON u.id = o.user_id
         WHERE o.lifted_at IS NULL ORDER BY o.id DESC"
    ))
    .fetch_all(db)
    .await
}

/// Lifts an override in force; returns it, or `None` if unknown or already lifted.
pub async fn lift_override(db: impl PgExecutor<'_>, id: i64, by: &str) -> sqlx::Result<Option<OverrideRow>> {
    sqlx::query_as(&format!(
        "UPDATE role_overrides o SET lifted_at = now(), lifted_by = $2 FROM users u
         WHERE o.id = $1 AND o.lifted_at IS NULL AND u.id = o.user_id RETURNING {OVERRIDE_COLUMNS}"
    ))
    .bind(id)
    .bind(by)
    .fetch_optional(db)
    .await
}
