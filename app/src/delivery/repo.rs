//! SQL for delivery events and their projections (runs, deployments, changes, incidents).

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

/// Notified when stored runs, deployments, changes or incidents changed (an ingest that stored
/// something for a component, runs closed as lost), so the scorecard worker re-reads delivery
/// facts.
pub const CHANGED_CHANNEL: &str = "bearing_delivery_changed";

/// Which annotation claims a subject.
#[derive(Clone, Copy, Debug)]
pub enum Claim {
    /// `openlineage.io/job`.
    Job,
    /// `cdevents.dev/service`.
    Service,
}

/// Components claiming any of `values` by the annotation of `claim`, whose value is one name or
/// several separated by commas: `(value, component ref)`.
pub async fn components_by_annotation(
    db: impl PgExecutor<'_>,
    claim: Claim,
    values: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    // The key is a literal so the partial index on components carrying it applies.
    let sql = match claim {
        Claim::Job => CLAIMED.replace("KEY", "openlineage.io/job"),
        Claim::Service => CLAIMED.replace("KEY", "cdevents.dev/service"),
    };
    sqlx::query_as(&sql).bind(values).fetch_all(db).await
}

const CLAIMED: &str = "SELECT btrim(v.value), e.ref FROM entities e,
         unnest(string_to_array(e.annotations ->> 'KEY', ',')) AS v(value)
     WHERE e.kind = 'component' AND e.annotations ? 'KEY' AND NOT e.orphaned AND btrim(v.value) = ANY($1)
     ORDER BY e.ref";

/// Components named any of `names`, in the default namespace first: `(name, ref)`.
///
/// Written so that PostgreSQL looks each name up in the `(kind, name)` btree: given the names,
/// it prefers the trigram search index for `name = ...` (100 ms for a batch's 250 names, seconds
/// under load, against 2 ms), which a range (`>=` and `<=`) rules out; and planned with the names
/// each time (unprepared), because a generic plan of the range scans every entity.
pub async fn components_by_name(db: impl PgExecutor<'_>, names: &[String]) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT e.name, e.ref
           FROM unnest($1::text[]) AS wanted(name)
           JOIN entities e ON e.kind = 'component' AND e.name >= wanted.name AND e.name <= wanted.name
          WHERE NOT e.orphaned
          ORDER BY e.name, e.namespace <> 'default', e.ref",
    )
    .persistent(false)
    .bind(names)
    .fetch_all(db)
    .await
}

/// What says which producers may report a component.
#[derive(Debug, sqlx::FromRow)]
pub struct Binding {
    pub owner: Option<String>,
    /// The component's `bearing.dev/producers` annotation.
    pub component_list: Option<String>,
    /// Its owning team's.
    pub team_list: Option<String>,
    /// Whether a lead bound `producer` to the component or its team in Bearing.
    pub bound_in_bearing: bool,
}

/// The binding facts of `component` for `producer`, `None` when the component is gone.
pub async fn binding(db: impl PgExecutor<'_>, component: &str, producer: &str) -> sqlx::Result<Option<Binding>> {
    sqlx::query_as(
        "SELECT c.owner_ref AS owner,
                c.annotations ->> 'bearing.dev/producers' AS component_list,
                g.annotations ->> 'bearing.dev/producers' AS team_list,
                EXISTS (SELECT 1 FROM delivery_bindings b
                        WHERE b.producer = $2 AND (b.component = c.ref OR b.component = c.owner_ref))
                    AS bound_in_bearing
         FROM entities c LEFT JOIN entities g ON g.ref = c.owner_ref
         WHERE c.ref = $1",
    )
    .bind(component)
    .bind(producer)
    .fetch_optional(db)
    .await
}

/// An event to store.
pub struct NewEvent<'a> {
    pub spec: &'a str,
    pub key: &'a str,
    pub event_type: &'a str,
    pub event_time: OffsetDateTime,
    pub producer: &'a str,
    pub component: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a Value,
}

/// Stores an event; `None` when one with the same key is already stored (a retry).
pub async fn insert_event(db: &mut PgConnection, e: &NewEvent<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO delivery_events (spec, idempotency_key, event_type, event_time, producer, component, subject, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(e.spec)
    .bind(e.key)
    .bind(e.event_type)
    .bind(e.event_time)
    .bind(e.producer)
    .bind(e.component)
    .bind(e.subject)
    .bind(e.body)
    .fetch_optional(db)
    .await
}

/// A run as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunRow {
    pub run_id: String,
    pub job_namespace: String,
    pub job_name: String,
    pub component: Option<String>,
    pub status: String,
    pub started_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub first_event_at: OffsetDateTime,
    pub last_event_at: OffsetDateTime,
    pub producer: String,
    pub parent_run_id: Option<String>,
    pub error_message: Option<String>,
    pub error_stack: Option<String>,
    pub nominal_time: Option<OffsetDateTime>,
    pub job_dependencies: Value,
}

const RUN_COLUMNS: &str = "run_id, job_namespace, job_name, component, status, started_at, ended_at, \
     first_event_at, last_event_at, producer, parent_run_id, error_message, error_stack, nominal_time, job_dependencies";

/// The stored runs among `run_ids`, with every one of those ids locked until the transaction
/// ends, stored or not: a transaction-scoped advisory lock per id, taken in id order (the order
/// every ingest takes them in, so two never wait on each other crosswise). Two requests
/// reporting the same new run thus merge one after the other instead of the later overwriting
/// the earlier's state.
pub async fn runs_for_update(
    db: &mut PgConnection,
    run_ids: &[String],
) -> sqlx::Result<std::collections::HashMap<String, RunRow>> {
    if run_ids.is_empty() {
        return Ok(Default::default());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('bearing.delivery_run:' || id, 0))
           FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) ids",
    )
    .bind(run_ids)
    .execute(&mut *db)
    .await?;
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM delivery_runs WHERE run_id = ANY($1) ORDER BY run_id FOR UPDATE"
    ))
    .bind(run_ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.run_id.clone(), r)).collect())
}

/// Writes `run` (inserted or replaced whole: the caller merged it with the stored one).
pub async fn save_run(db: &mut PgConnection, run: &RunRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_runs (run_id, job_namespace, job_name, component, status, started_at, ended_at,
             first_event_at, last_event_at, producer, parent_run_id, error_message, error_stack, nominal_time,
             job_dependencies)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (run_id) DO UPDATE SET status = $5, started_at = $6, ended_at = $7, first_event_at = $8,
             last_event_at = $9, parent_run_id = $11, error_message = $12, error_stack = $13, nominal_time = $14,
             job_dependencies = $15",
    )
    .bind(&run.run_id)
    .bind(&run.job_namespace)
    .bind(&run.job_name)
    .bind(&run.component)
    .bind(&run.status)
    .bind(run.started_at)
    .bind(run.ended_at)
    .bind(run.first_event_at)
    .bind(run.last_event_at)
    .bind(&run.producer)
    .bind(&run.parent_run_id)
    .bind(&run.error_message)
    .bind(&run.error_stack)
    .bind(run.nominal_time)
    .bind(&run.job_dependencies)
    .execute(db)
    .await?;
    Ok(())
}

/// A deployment event's projection.
pub struct NewDeployment<'a> {
    pub event_id: i64,
    pub component: Option<&'a str>,
    pub subject: &'a str,
    pub action: &'a str,
    pub environment: Option<&'a str>,
    pub artifact: Option<&'a str>,
    pub chain_id: Option<&'a str>,
    pub at: OffsetDateTime,
    pub producer: &'a str,
}

pub async fn insert_deployment(db: &mut PgConnection, d: &NewDeployment<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_deployments (event_id, component, subject, action, environment, artifact, chain_id, at, producer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(d.event_id)
    .bind(d.component)
    .bind(d.subject)
    .bind(d.action)
    .bind(d.environment)
    .bind(d.artifact)
    .bind(d.chain_id)
    .bind(d.at)
    .bind(d.producer)
    .execute(db)
    .await?;
    Ok(())
}

/// A merged change's projection.
pub struct NewChange<'a> {
    pub event_id: i64,
    pub component: Option<&'a str>,
    pub subject: &'a str,
    pub repository: Option<&'a str>,
    pub chain_id: Option<&'a str>,
    pub merged_at: OffsetDateTime,
    pub producer: &'a str,
}

pub async fn insert_change(db: &mut PgConnection, c: &NewChange<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_changes (event_id, component, subject, repository, chain_id, merged_at, producer)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.event_id)
    .bind(c.component)
    .bind(c.subject)
    .bind(c.repository)
    .bind(c.chain_id)
    .bind(c.merged_at)
    .bind(c.producer)
    .execute(db)
    .await?;
    Ok(())
}

/// An incident event's projection: detected and resolved events of one incident meet in one
/// row, whichever comes first.
pub struct IncidentUpdate<'a> {
    pub incident_id: &'a str,
    pub component: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub artifact: Option<&'a str>,
    pub description: Option<&'a str>,
    pub detected_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub producer: &'a str,
}

pub async fn upsert_incident(db: &mut PgConnection, i: &IncidentUpdate<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_incidents (incident_id, component, environment, artifact, description, detected_at,
             resolved_at, producer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (incident_id) DO UPDATE SET
             component = coalesce(delivery_incidents.component, EXCLUDED.component),
             environment = coalesce(delivery_incidents.environment, EXCLUDED.environment),
             artifact = coalesce(delivery_incidents.artifact, EXCLUDED.artifact),
             description = coalesce(EXCLUDED.description, delivery_incidents.description),
             detected_at = least(delivery_incidents.detected_at, EXCLUDED.detected_at),
             resolved_at = greatest(delivery_incidents.resolved_at, EXCLUDED.resolved_at)",
    )
    .bind(i.incident_id)
    .bind(i.component)
    .bind(i.environment)
    .bind(i.artifact)
    .bind(i.description)
    .bind(i.detected_at)
    .bind(i.resolved_at)
    .bind(i.producer)
    .execute(db)
    .await?;
    Ok(())
}

/// Filters of a run listing.
#[derive(Debug, Default)]
pub struct RunFilter<'a> {
    pub component: Option<&'a str>,
    pub job: Option<(&'a str, &'a str)>,
    pub status: Option<&'a str>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Keyset: runs strictly after this `(first_event_at, run_id)` in newest-first order.
    pub after: Option<(OffsetDateTime, String)>,
    pub parent: Option<&'a str>,
    /// Runs of components this team owns.
    pub owner: Option<&'a str>,
}

/// Runs matching `f`, newest first, at most `limit`.
pub async fn list_runs(db: impl PgExecutor<'_>, f: &RunFilter<'_>, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    let (after_at, after_id) = match &f.after {
        Some((at, id)) => (Some(*at), Some(id.as_str())),
        None => (None, None),
    };
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM delivery_runs
         WHERE ($1::text IS NULL OR component = $1)
           AND ($2::text IS NULL OR (job_namespace = $2 AND job_name = $3))
           AND ($4::text IS NULL OR status = $4)
           AND ($5::timestamptz IS NULL OR first_event_at >= $5)
           AND ($6::timestamptz IS NULL OR first_event_at < $6)
           AND ($7::timestamptz IS NULL OR (first_event_at, run_id) < ($7, $8))
           AND ($9::text IS NULL OR parent_run_id = $9)
           AND ($11::text IS NULL OR component IN (SELECT ref FROM entities WHERE owner_ref = $11))
         ORDER BY first_event_at DESC, run_id DESC
         LIMIT $10"
    ))
    .bind(f.component)
    .bind(f.job.map(|j| j.0))
    .bind(f.job.map(|j| j.1))
    .bind(f.status)
    .bind(f.from)
    .bind(f.to)
    .bind(after_at)
    .bind(after_id)
    .bind(f.parent)
    .bind(limit)
    .bind(f.owner)
    .fetch_all(db)
    .await
}

/// The run `run_id`.
pub async fn run(db: impl PgExecutor<'_>, run_id: &str) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!("SELECT {RUN_COLUMNS} FROM delivery_runs WHERE run_id = $1"))
        .bind(run_id)
        .fetch_optional(db)
        .await
}

/// The latest run of each of `components`.
pub async fn latest_runs_of_components(db: impl PgExecutor<'_>, components: &[String]) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT DISTINCT ON (component) {RUN_COLUMNS} FROM delivery_runs
         WHERE component = ANY($1) ORDER BY component, first_event_at DESC, run_id DESC"
    ))
    .bind(components)
    .fetch_all(db)
    .await
}

/// The latest run of the job `namespace/name`.
pub async fn latest_run_of_job(db: impl PgExecutor<'_>, namespace: &str, name: &str) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM delivery_runs WHERE job_namespace = $1 AND job_name = $2
         ORDER BY first_event_at DESC, run_id DESC LIMIT 1"
    ))
    .bind(namespace)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// A stored deployment.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeploymentRow {
    pub component: Option<String>,
    pub subject: String,
    pub action: String,
    pub environment: Option<String>,
    pub artifact: Option<String>,
    pub at: OffsetDateTime,
    pub producer: String,
}

/// Deployments, newest first.
pub async fn list_deployments(
    db: impl PgExecutor<'_>,
    component: Option<&str>,
    environment: Option<&str>,
    owner: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<DeploymentRow>> {
    sqlx::query_as(
        "SELECT component, subject, action, environment, artifact, at, producer FROM delivery_deployments
         WHERE ($1::text IS NULL OR component = $1) AND ($2::text IS NULL OR environment = $2)
           AND ($4::text IS NULL OR component IN (SELECT ref FROM entities WHERE owner_ref = $4))
         ORDER BY at DESC, event_id DESC LIMIT $3",
    )
    .bind(component)
    .bind(environment)
    .bind(limit)
    .bind(owner)
    .fetch_all(db)
    .await
}

/// Marks runs that sent nothing since `before` as lost; returns how many.
pub async fn close_lost_runs(db: impl PgExecutor<'_>, before: OffsetDateTime) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE delivery_runs SET status = 'lost'
         WHERE status IN ('queued', 'started', 'running') AND last_event_at < $1",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Events no component claims, grouped by spec, producer and subject, latest first.
pub async fn unmapped(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String, i64, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT spec, producer, subject, count(*), max(received_at) FROM delivery_events
         WHERE component IS NULL GROUP BY spec, producer, subject ORDER BY max(received_at) DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Asks the mesh poller to read the control plane now, when the transaction commits.
pub async fn request_mesh_refresh(db: &mut PgConnection, component: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::mesh::repo::REFRESH_CHANNEL)
        .bind(component)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes events received before `before` (the projections stay); returns how many.
pub async fn delete_events_before(db: impl PgExecutor<'_>, before: OffsetDateTime) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM delivery_events WHERE received_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Declared `dependsOn` targets of `component` (components and resources), with their owners.
pub async fn declared_upstream(
    db: impl PgExecutor<'_>,
    component: &str,
) -> sqlx::Result<Vec<(String, Option<String>)>> {
    sqlx::query_as(
        "SELECT DISTINCT t.ref, t.owner_ref FROM relations r JOIN entities t ON t.ref = r.target_ref
         WHERE r.source_ref = $1 AND r.type = 'dependsOn'
         ORDER BY t.ref",
    )
    .bind(component)
    .fetch_all(db)
    .await
}

/// A component's owner and the `bearing.dev/producers` annotations of it and its team; `None`
/// when there is no such component.
pub async fn producer_lists(
    db: impl PgExecutor<'_>,
    component: &str,
) -> sqlx::Result<Option<(Option<String>, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "SELECT c.owner_ref, c.annotations ->> 'bearing.dev/producers', g.annotations ->> 'bearing.dev/producers'
         FROM entities c LEFT JOIN entities g ON g.ref = c.owner_ref
         WHERE c.ref = $1 AND c.kind = 'component'",
    )
    .bind(component)
    .fetch_optional(db)
    .await
}

/// Producers bound in Bearing to `component` or to `team`: `(bound to, producer, set by, set at)`.
pub async fn bindings(
    db: impl PgExecutor<'_>,
    component: &str,
    team: Option<&str>,
) -> sqlx::Result<Vec<(String, String, String, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT component, producer, set_by, set_at FROM delivery_bindings
         WHERE component = $1 OR component = $2 ORDER BY producer, component",
    )
    .bind(component)
    .bind(team)
    .fetch_all(db)
    .await
}

/// Binds `producer` to `component`; `false` if it already was.
pub async fn insert_binding(db: &mut PgConnection, component: &str, producer: &str, by: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO delivery_bindings (component, producer, set_by) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(component)
    .bind(producer)
    .bind(by)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Unbinds `producer` from `component`; `false` if it was not bound.
pub async fn delete_binding(db: &mut PgConnection, component: &str, producer: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM delivery_bindings WHERE component = $1 AND producer = $2")
        .bind(component)
        .bind(producer)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
