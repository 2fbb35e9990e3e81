//! SQL of scorecards: the facts the catalog, the mesh and delivery hold about many components
//! (one query each, never one per component), and `scorecard_results`.
//!
//! Queries are checked at run time (`sqlx::query_as` + `FromRow`), like the catalog's and the
//! mesh's; `server/tests/integration/scorecards.rs` runs them against PostgreSQL.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};
use time::{Date, OffsetDateTime};

/// The channel a pass notifies on when it changed a result (delivered when its transaction
/// commits), so each server drops the pages it rendered from the older results.
pub const CHANGED_CHANNEL: &str = "bearing_scorecards_changed";

/// What the catalog says about a component, as cards read it.
#[derive(Debug, Clone, FromRow)]
pub struct ComponentRow {
    pub entity_ref: String,
    pub owner_ref: Option<String>,
    pub description: Option<String>,
    pub entity_type: Option<String>,
    pub lifecycle: Option<String>,
    pub system_ref: Option<String>,
    pub tags: Vec<String>,
    pub labels: Json<BTreeMap<String, String>>,
    pub annotations: Json<BTreeMap<String, String>>,
    /// The `type` of each link that has one.
    pub link_types: Vec<String>,
}

/// Every component of the catalog (orphans left out).
pub async fn components(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ComponentRow>> {
    sqlx::query_as(
        "SELECT ref AS entity_ref, owner_ref, description, type AS entity_type, lifecycle, system_ref,
                tags, labels, annotations,
                ARRAY(SELECT l ->> 'type' FROM jsonb_array_elements(links) l
                       WHERE jsonb_typeof(l) = 'object' AND l ->> 'type' IS NOT NULL) AS link_types
           FROM entities WHERE kind = 'component' AND NOT orphaned ORDER BY ref",
    )
    .fetch_all(db)
    .await
}

/// Whether `component` (reference key) is in the catalog.
pub async fn component_exists(db: impl PgExecutor<'_>, component: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM entities WHERE ref = $1 AND kind = 'component' AND NOT orphaned)")
        .bind(component)
        .fetch_one(db)
        .await
}

/// A component's mesh state over every mesh that carries one of its services.
#[derive(Debug, Clone, FromRow)]
pub struct MeshRow {
    pub component: String,
    /// mTLS is on in every mesh carrying it.
    pub mtls_enabled: bool,
    /// The first of its dataplanes' certificates to expire.
    pub certificates_expire_at: Option<OffsetDateTime>,
}

/// The mesh state of each of `components` that has a service in a mesh.
pub async fn mesh_states(db: impl PgExecutor<'_>, components: &[String]) -> sqlx::Result<Vec<MeshRow>> {
    sqlx::query_as(
        "SELECT c.component, bool_and(COALESCE(m.mtls_enabled, false)) AS mtls_enabled,
                min(p.cert_expires_at) AS certificates_expire_at
           FROM (SELECT s.control_plane, s.mesh, s.service, mesh_component_for(s.mesh, s.service) AS component
                   FROM mesh_services s) c
           LEFT JOIN mesh_meshes m ON m.control_plane = c.control_plane AND m.mesh = c.mesh
           LEFT JOIN mesh_proxies p ON p.control_plane = c.control_plane AND p.mesh = c.mesh
                AND p.services @> ARRAY[c.service]
          WHERE c.component = ANY($1)
          GROUP BY c.component",
    )
    .bind(components)
    .fetch_all(db)
    .await
}

/// The latest deployment (`deployed` or `upgraded`) of each of `components` that has one.
pub async fn last_deployments(
    db: impl PgExecutor<'_>,
    components: &[String],
) -> sqlx::Result<Vec<(String, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT component, max(at) FROM delivery_deployments
          WHERE component = ANY($1) AND action IN ('deployed', 'upgraded')
          GROUP BY component",
    )
    .bind(components)
    .fetch_all(db)
    .await
}

/// A deployment since the window's start, and whether it failed.
#[derive(Debug, Clone, FromRow)]
pub struct DeploymentRow {
    pub component: String,
    pub at: OffsetDateTime,
    pub failed: bool,
}

/// The deployments (`deployed` or `upgraded`) of `components` after `since`, each with whether
/// it failed: an incident for the same component (and environment, when both name one) was
/// detected after it and before the next action there, or that next action was a rollback.
pub async fn deployments_since(
    db: impl PgExecutor<'_>,
    components: &[String],
    since: OffsetDateTime,
) -> sqlx::Result<Vec<DeploymentRow>> {
    sqlx::query_as(
        "WITH d AS (
            SELECT component, environment, action, at,
                   lead(at) OVER w AS next_at, lead(action) OVER w AS next_action
              FROM delivery_deployments
             WHERE component = ANY($1) AND at > $2
            WINDOW w AS (PARTITION BY component, environment ORDER BY at, event_id))
         SELECT component, at,
                (COALESCE(next_action = 'rolledback', false) OR EXISTS (
                    SELECT 1 FROM delivery_incidents i
                     WHERE i.component = d.component
                       AND (i.environment IS NULL OR d.environment IS NULL OR i.environment = d.environment)
                       AND i.detected_at > d.at AND (d.next_at IS NULL OR i.detected_at < d.next_at))) AS failed
           FROM d WHERE action IN ('deployed', 'upgraded')
          ORDER BY component, at",
    )
    .bind(components)
    .bind(since)
    .fetch_all(db)
    .await
}

/// The latest finished run of each of `components`: (component, finished at, succeeded).
pub async fn last_finished_runs(
    db: impl PgExecutor<'_>,
    components: &[String],
) -> sqlx::Result<Vec<(String, OffsetDateTime, bool)>> {
    sqlx::query_as(
        "SELECT DISTINCT ON (component) component, COALESCE(ended_at, last_event_at), status = 'complete'
           FROM delivery_runs
          WHERE component = ANY($1) AND status IN ('complete', 'fail', 'abort', 'lost')
          ORDER BY component, COALESCE(ended_at, last_event_at) DESC, run_id DESC",
    )
    .bind(components)
    .fetch_all(db)
    .await
}

/// Components with any run at all (finished or not): delivery data is connected for them.
pub async fn components_with_runs(db: impl PgExecutor<'_>, components: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT component FROM delivery_runs WHERE component = ANY($1)")
        .bind(components)
        .fetch_all(db)
        .await
}

/// Takes the lock of the scorecard worker for the transaction `db` is in: false when another
/// server holds it (one pass at a time across a deployment).
pub async fn try_lock_pass(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    // An arbitrary constant, the same in every Bearing server: "scorecards".
    const PASS_LOCK: i64 = 0x0b0a_5c04_eca4;
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(PASS_LOCK)
        .fetch_one(db)
        .await
}

/// One result to store.
pub struct NewResult {
    pub component: String,
    pub card: String,
    pub level: Option<i32>,
    pub score: f32,
    /// The checks as JSON text.
    pub checks: String,
}

/// Stores `results` as `day`'s rows; a row whose level, score and checks are unchanged is left
/// alone (its `evaluated_at` too). Returns how many rows were written.
pub async fn upsert_results(
    db: impl PgExecutor<'_>,
    day: Date,
    now: OffsetDateTime,
    results: &[NewResult],
) -> sqlx::Result<u64> {
    let components: Vec<&str> = results.iter().map(|r| r.component.as_str()).collect();
    let cards: Vec<&str> = results.iter().map(|r| r.card.as_str()).collect();
    let levels: Vec<Option<i32>> = results.iter().map(|r| r.level).collect();
    let scores: Vec<f32> = results.iter().map(|r| r.score).collect();
    let checks: Vec<&str> = results.iter().map(|r| r.checks.as_str()).collect();
    let done = sqlx::query(
        "INSERT INTO scorecard_results (component, card, day, level, score, checks, evaluated_at)
         SELECT t.c, t.k, $1, t.l, t.s, t.ch::jsonb, $2
           FROM UNNEST($3::text[], $4::text[], $5::int4[], $6::float4[], $7::text[]) AS t(c, k, l, s, ch)
         ON CONFLICT (component, card, day) DO UPDATE
            SET level = EXCLUDED.level, score = EXCLUDED.score, checks = EXCLUDED.checks,
                evaluated_at = EXCLUDED.evaluated_at
          WHERE (scorecard_results.level, scorecard_results.score, scorecard_results.checks)
                IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.score, EXCLUDED.checks)",
    )
    .bind(day)
    .bind(now)
    .bind(&components)
    .bind(&cards)
    .bind(&levels)
    .bind(&scores)
    .bind(&checks)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes `day`'s rows of (component, card) pairs not in `kept`: components gone from the
/// catalog, cards removed or no longer selecting them. Returns how many.
pub async fn delete_others(db: impl PgExecutor<'_>, day: Date, kept: &[NewResult]) -> sqlx::Result<u64> {
    let components: Vec<&str> = kept.iter().map(|r| r.component.as_str()).collect();
    let cards: Vec<&str> = kept.iter().map(|r| r.card.as_str()).collect();
    let done = sqlx::query(
        "DELETE FROM scorecard_results r
          WHERE r.day = $1
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[]) AS t(c, k)
                             WHERE t.c = r.component AND t.k = r.card)",
    )
    .bind(day)
    .bind(&components)
    .bind(&cards)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes history older than `before`.
pub async fn delete_before(db: impl PgExecutor<'_>, before: Date) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM scorecard_results WHERE day < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// The latest day with results.
pub async fn latest_day(db: impl PgExecutor<'_>) -> sqlx::Result<Option<Date>> {
    sqlx::query_scalar("SELECT max(day) FROM scorecard_results")
        .fetch_one(db)
        .await
}

/// A stored result, with what the roll-ups filter and show by.
#[derive(Debug, Clone, FromRow)]
pub struct ResultRow {
    pub component: String,
    pub card: String,
    pub level: Option<i32>,
    pub score: f32,
    pub checks: Json<Vec<bearing_scorecards::CheckResult>>,
    pub evaluated_at: OffsetDateTime,
    pub title: Option<String>,
    pub owner_ref: Option<String>,
    pub system_ref: Option<String>,
}

const RESULT_COLUMNS: &str = "r.component, r.card, r.level, r.score, r.checks, r.evaluated_at, \
     e.title, e.owner_ref, e.system_ref";

/// `day`'s results of components still in the catalog (one row per component and card).
pub async fn results_of_day(db: impl PgExecutor<'_>, day: Date) -> sqlx::Result<Vec<ResultRow>> {
    sqlx::query_as(&format!(
        "SELECT {RESULT_COLUMNS} FROM scorecard_results r
           JOIN entities e ON e.ref = r.component AND e.kind = 'component' AND NOT e.orphaned
          WHERE r.day = $1 ORDER BY r.card, r.component"
    ))
    .bind(day)
    .fetch_all(db)
    .await
}

/// The latest results of `component`, one per card (its latest day).
pub async fn latest_of_component(db: impl PgExecutor<'_>, component: &str) -> sqlx::Result<Vec<(Date, ResultRow)>> {
    let rows: Vec<(Date, ResultRow)> = sqlx::query_as::<_, DatedRow>(&format!(
        "SELECT r.day, {RESULT_COLUMNS} FROM scorecard_results r
           JOIN entities e ON e.ref = r.component
          WHERE r.component = $1
            AND r.day = (SELECT max(day) FROM scorecard_results WHERE component = $1)
          ORDER BY r.card"
    ))
    .bind(component)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|d| (d.day, d.row))
    .collect();
    Ok(rows)
}

#[derive(FromRow)]
struct DatedRow {
    day: Date,
    #[sqlx(flatten)]
    row: ResultRow,
}

/// `component`'s history since `since`: (card, day, level, score), oldest first.
pub async fn history(
    db: impl PgExecutor<'_>,
    component: &str,
    since: Date,
) -> sqlx::Result<Vec<(String, Date, Option<i32>, f32)>> {
    sqlx::query_as(
        "SELECT card, day, level, score FROM scorecard_results
          WHERE component = $1 AND day >= $2 ORDER BY card, day",
    )
    .bind(component)
    .bind(since)
    .fetch_all(db)
    .await
}
