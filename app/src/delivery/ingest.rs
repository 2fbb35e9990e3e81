//! Delivery events in: checked against the producer's binding, stored once, projected.
//!
//! The HTTP handlers parse and validate the body with `bearing_delivery` (off the async
//! workers) and hand the results here, one per event. This service owns the rest:
//!
//! 1. the caller must be a producer ([`crate::auth::Role::Producer`]);
//! 2. each event's subject is mapped to a component ([`super::map`]); an event for a component
//!    its producer is not bound to is refused (403) and audited, at most once per producer and
//!    component every [`REFUSAL_AUDIT_INTERVAL`], with the number refused since;
//! 3. the rest are stored in one transaction, each key once (a retry is a `duplicate`), and
//!    their runs, deployments, changes and incidents projected in the same transaction. A run
//!    only moves forward (`bearing_delivery::RunState::can_follow`): a late START never
//!    overwrites a FAIL.
//! 4. A stored deployment asks the mesh poller to read the control plane now
//!    ([`crate::mesh::repo::REFRESH_CHANNEL`]), so the component's mesh card, edges and policy
//!    preview follow it within seconds. Policies are not re-applied on a deployment: the
//!    producer that reported it has no right to write them; the policy worker and leads do.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bearing_delivery::{
    DeliveryEvent, DeploymentAction, ErrorKind, EventError, IdempotencyKey, IncidentState, Origin, RunEvent, RunKind,
    RunState,
};
use serde_json::json;
use sqlx::PgConnection;

use super::map::{self, Subject};
use super::repo;
use super::{EventOutcome, IngestReport};
use crate::audit::service::{record_alone, Event};
use crate::auth::guard::Caller;
use crate::auth::{CurrentUser, Role};
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// How often a refused producer/component pair is written to the audit log (the refusals in
/// between are counted into the next entry).
pub const REFUSAL_AUDIT_INTERVAL: Duration = Duration::from_secs(600);

/// Pairs remembered for [`REFUSAL_AUDIT_INTERVAL`]; when full, the memory starts over (a flood
/// of distinct pairs then audits more, never less).
const MAX_REMEMBERED_REFUSALS: usize = 10_000;

/// When each producer/component pair was last audited, and how many refusals since.
#[derive(Debug, Default)]
pub struct RefusalLog(Mutex<HashMap<(String, String), (Instant, u64)>>);

impl RefusalLog {
    /// `Some(refused since the last entry)` when this refusal should be audited now.
    fn due(&self, producer: &str, component: &str) -> Option<u64> {
        let Ok(mut seen) = self.0.lock() else {
            return Some(0);
        };
        if seen.len() >= MAX_REMEMBERED_REFUSALS {
            seen.clear();
        }
        let now = Instant::now();
        let entry = seen
            .entry((producer.to_owned(), component.to_owned()))
            .or_insert((now - REFUSAL_AUDIT_INTERVAL * 2, 0));
        if now.duration_since(entry.0) >= REFUSAL_AUDIT_INTERVAL {
            let since = entry.1;
            *entry = (now, 0);
            Some(since)
        } else {
            entry.1 += 1;
            None
        }
    }
}

/// The producer calling, or why not.
pub fn require_producer(caller: &Caller) -> Result<&CurrentUser, AppError> {
    let user = caller.require_user()?;
    if user.has(Role::Producer) && !user.scopes.is_empty() {
        Ok(user)
    } else {
        Err(AppError::forbidden(
            "reporting runs and deployments needs a producer token (bearing token create --role producer --scope TEAM) \
             or a client-credentials client listed in --producer-clients",
        ))
    }
}

/// Stores and projects `events` (the parse result of each event of one request, in order).
pub async fn ingest(
    ctx: &ServerCtx,
    caller: &Caller,
    events: Vec<Result<DeliveryEvent, EventError>>,
) -> Result<IngestReport, AppError> {
    let producer = require_producer(caller)?;
    let identity = producer.actor();
    let subjects: Vec<Subject> = events.iter().filter_map(|e| e.as_ref().ok()).map(subject_of).collect();
    let components = map::components(&ctx.pool, &subjects).await?;

    // Bindings, once per component of the request.
    let mut refusals: HashMap<String, Option<String>> = HashMap::new();
    for component in components.values() {
        if !refusals.contains_key(component) {
            let why = map::refusal(&ctx.pool, producer, component).await?;
            refusals.insert(component.clone(), why);
        }
    }

    let mut outcomes = Vec::with_capacity(events.len());
    let mut refused_pairs: Vec<(String, String)> = Vec::new();
    let mut changed_components = false;
    let mut tx = ctx.pool.begin().await?;
    // The runs this request reports on, read and locked once (in one order, so that two
    // requests never wait on each other crosswise) and written back once each at the end:
    // a batch of 500 events took three round trips per event before.
    let run_ids: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(DeliveryEvent::Run(run)) => Some(run_key(run)),
            _ => None,
        })
        .collect();
    let mut runs = RunBook {
        rows: repo::runs_for_update(&mut tx, &run_ids).await?,
        touched: BTreeSet::new(),
    };
    for event in events {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                outcomes.push(refused(&e));
                continue;
            }
        };
        let component = components.get(&subject_of(&event)).cloned();
        if let Some(why) = component.as_ref().and_then(|c| refusals.get(c)).cloned().flatten() {
            if let Some(c) = &component {
                refused_pairs.push((c.clone(), why.clone()));
            }
            outcomes.push(EventOutcome::Refused {
                status: 403,
                pointer: None,
                message: why,
                hint: None,
            });
            continue;
        }
        let stored = store(&mut tx, &mut runs, &event, component.as_deref(), &identity).await?;
        changed_components |= stored && component.is_some();
        outcomes.push(if stored {
            EventOutcome::Stored { component }
        } else {
            EventOutcome::Duplicate
        });
    }
    for id in &runs.touched {
        if let Some(row) = runs.rows.get(id) {
            repo::save_run(&mut tx, row).await?;
        }
    }
    if changed_components {
        crate::cache::notify(&mut *tx, repo::CHANGED_CHANNEL).await?;
    }
    tx.commit().await?;

    for (component, why) in refused_pairs {
        if let Some(since) = ctx.delivery.refusals.due(&identity, &component) {
            let event = Event::new("delivery.refused", component)
                .change(
                    None,
                    Some(json!({"producer": identity, "refused_since_last_entry": since})),
                )
                .reason(why);
            record_alone(&ctx.pool, &ctx.audit, caller, event).await?;
        }
    }
    Ok(IngestReport::new(outcomes))
}

fn refused(e: &EventError) -> EventOutcome {
    EventOutcome::Refused {
        status: status_of(e.kind),
        pointer: Some(e.pointer.clone()),
        message: e.message.clone(),
        hint: Some(e.hint.clone()),
    }
}

/// The HTTP status of a refused event.
pub fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Syntax => 400,
        ErrorKind::Limit => 413,
        ErrorKind::Invalid | ErrorKind::Unsupported => 422,
    }
}

/// What `event` names, for mapping it to a component.
fn subject_of(event: &DeliveryEvent) -> Subject {
    match event {
        DeliveryEvent::Run(run) => Subject::Job {
            namespace: run.job.namespace.clone(),
            name: run.job.name.clone(),
        },
        DeliveryEvent::Deployment(d) => Subject::Service(d.service.id.clone()),
        DeliveryEvent::Incident(i) => Subject::Service(
            i.service
                .as_ref()
                .map_or_else(|| i.incident.id.clone(), |s| s.id.clone()),
        ),
        DeliveryEvent::Change(c) => Subject::Service(
            c.repository
                .as_ref()
                .map_or_else(|| c.change.id.clone(), |r| r.id.clone()),
        ),
        DeliveryEvent::Build(b) => Subject::Service(
            b.artifact_id
                .as_deref()
                .and_then(purl_name)
                .map_or_else(|| b.build.id.clone(), str::to_owned),
        ),
    }
}

/// The name part of a package URL: `pkg:oci/checkout@sha256:…` → `checkout`.
fn purl_name(purl: &str) -> Option<&str> {
    let path = purl.strip_prefix("pkg:")?;
    let path = path.split(['@', '?', '#']).next()?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The spec, event type and subject stored with an event.
fn describe(event: &DeliveryEvent) -> (&'static str, String, String) {
    let meta = event.meta();
    let (spec, event_type) = match &meta.origin {
        Origin::OpenLineage { .. } => (
            "openlineage",
            match &meta.key {
                IdempotencyKey::OpenLineage { event_type, .. } => event_type.clone(),
                IdempotencyKey::CloudEvent { .. } => "OTHER".to_owned(),
            },
        ),
        Origin::CdEvents { event_type, .. } => ("cdevents", event_type.clone()),
    };
    let subject = match subject_of(event) {
        Subject::Job { namespace, name } => format!("{namespace}/{name}"),
        Subject::Service(id) => id,
    };
    (spec, event_type, subject)
}

/// Stores `event` and projects it; `false` when it was stored before.
async fn store(
    tx: &mut PgConnection,
    runs: &mut RunBook,
    event: &DeliveryEvent,
    component: Option<&str>,
    producer: &str,
) -> Result<bool, AppError> {
    let meta = event.meta();
    let (spec, event_type, subject) = describe(event);
    let key = meta.key.to_string();
    let new = repo::NewEvent {
        spec,
        key: &key,
        event_type: &event_type,
        event_time: meta.time,
        producer,
        component,
        subject: &subject,
        body: &meta.raw,
    };
    let Some(event_id) = repo::insert_event(&mut *tx, &new).await? else {
        return Ok(false);
    };
    let chain_id = match &meta.origin {
        Origin::CdEvents { chain_id, .. } => chain_id.as_deref(),
        Origin::OpenLineage { .. } => None,
    };
    match event {
        DeliveryEvent::Run(run) => project_run(runs, run, component, producer),
        DeliveryEvent::Deployment(d) => {
            let deployment = repo::NewDeployment {
                event_id,
                component,
                subject: &subject,
                action: match d.action {
                    DeploymentAction::Deployed => "deployed",
                    DeploymentAction::Upgraded => "upgraded",
                    DeploymentAction::RolledBack => "rolledback",
                    DeploymentAction::Removed => "removed",
                },
                environment: Some(d.environment.id.as_str()),
                artifact: d.artifact_id.as_deref(),
                chain_id,
                at: meta.time,
                producer,
            };
            repo::insert_deployment(&mut *tx, &deployment).await?;
            // A new version may run other proxies, certificates and policies: the mesh is read
            // again now, so its card, edges and policy preview follow the deployment.
            if let Some(component) = component {
                repo::request_mesh_refresh(&mut *tx, component).await?;
            }
        }
        DeliveryEvent::Change(c) => {
            let change = repo::NewChange {
                event_id,
                component,
                subject: &c.change.id,
                repository: c.repository.as_ref().map(|r| r.id.as_str()),
                chain_id,
                merged_at: meta.time,
                producer,
            };
            repo::insert_change(&mut *tx, &change).await?;
        }
        DeliveryEvent::Incident(i) => {
            let id = format!("{}#{}", i.incident.source.as_deref().unwrap_or(""), i.incident.id);
            let (detected_at, resolved_at) = match i.state {
                IncidentState::Detected => (Some(meta.time), None),
                IncidentState::Resolved => (None, Some(meta.time)),
            };
            let incident = repo::IncidentUpdate {
                incident_id: &id,
                component,
                environment: Some(i.environment.id.as_str()),
                artifact: i.artifact_id.as_deref(),
                description: i.description.as_deref(),
                detected_at,
                resolved_at,
                producer,
            };
            repo::upsert_incident(&mut *tx, &incident).await?;
        }
        // Kept as an event: the artifact it names links changes to deployments later.
        DeliveryEvent::Build(_) => {}
    }
    Ok(true)
}

/// The stored id of a run: OpenLineage's runId, or the CDEvents subject within its source.
fn run_key(run: &RunEvent) -> String {
    match run.kind {
        RunKind::Job => run.run_id.clone(),
        RunKind::PipelineRun | RunKind::TaskRun => format!("cdevents:{}#{}", run.job.namespace, run.run_id),
    }
}

fn status_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Started => "started",
        RunState::Running => "running",
        RunState::Complete => "complete",
        RunState::Fail => "fail",
        RunState::Abort => "abort",
        RunState::Lost => "lost",
    }
}

fn parse_status(status: &str) -> Option<RunState> {
    Some(match status {
        "queued" => RunState::Queued,
        "started" => RunState::Started,
        "running" => RunState::Running,
        "complete" => RunState::Complete,
        "fail" => RunState::Fail,
        "abort" => RunState::Abort,
        "lost" => RunState::Lost,
        _ => return None,
    })
}

/// The runs one request reports on: as stored (locked) and as merged so far, and which of them
/// to write back.
struct RunBook {
    rows: HashMap<String, repo::RunRow>,
    /// In run id order, the order they were locked in.
    touched: BTreeSet<String>,
}

/// Merges `run` into its projection (the stored one, locked, or a new one), moving its state
/// only forward.
fn project_run(runs: &mut RunBook, run: &RunEvent, component: Option<&str>, producer: &str) {
    let id = run_key(run);
    let at = run.meta.time;
    runs.touched.insert(id.clone());
    let row = runs.rows.entry(id.clone()).or_insert_with(|| repo::RunRow {
        run_id: id.clone(),
        job_namespace: run.job.namespace.clone(),
        job_name: run.job.name.clone(),
        component: component.map(str::to_owned),
        status: "other".to_owned(),
        started_at: None,
        ended_at: None,
        first_event_at: at,
        last_event_at: at,
        producer: producer.to_owned(),
        parent_run_id: None,
        error_message: None,
        error_stack: None,
        nominal_time: None,
        job_dependencies: json!([]),
    });
    row.first_event_at = row.first_event_at.min(at);
    row.last_event_at = row.last_event_at.max(at);
    if let Some(state) = run.state {
        let moves = match parse_status(&row.status) {
            Some(prev) => state.can_follow(prev),
            None => true,
        };
        if moves {
            row.status = status_name(state).to_owned();
            if state.is_terminal() {
                row.ended_at = Some(at);
            }
        }
        if matches!(state, RunState::Started) {
            row.started_at = Some(row.started_at.map_or(at, |s| s.min(at)));
        }
    }
    if let Some(parent) = &run.parent {
        row.parent_run_id = Some(match run.kind {
            RunKind::Job => parent.run_id.clone(),
            RunKind::PipelineRun | RunKind::TaskRun => format!(
                "cdevents:{}#{}",
                parent.source.as_deref().unwrap_or(&run.job.namespace),
                parent.run_id
            ),
        });
    }
    if let Some(error) = &run.error {
        if error.message.is_some() {
            row.error_message.clone_from(&error.message);
        }
        if error.stack_trace.is_some() {
            row.error_stack.clone_from(&error.stack_trace);
        }
    }
    if let Some(nominal) = run.nominal_time {
        row.nominal_time = Some(nominal.start);
    }
    if !run.job_dependencies.upstream.is_empty() {
        row.job_dependencies = run
            .job_dependencies
            .upstream
            .iter()
            .map(|d| json!({"namespace": d.job.namespace, "name": d.job.name, "run_id": d.run_id}))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purl_names_its_package() {
        assert_eq!(
            purl_name("pkg:oci/checkout@sha256:abc?repository_url=r"),
            Some("checkout")
        );
        assert_eq!(
            purl_name("pkg:golang/github.com/acme/payments@v1.2.0"),
            Some("payments")
        );
        assert_eq!(purl_name("checkout"), None);
    }

    #[test]
    fn refusals_are_audited_once_per_interval_with_the_count_between() {
        let log = RefusalLog::default();
        assert_eq!(log.due("token:ci", "component:default/a"), Some(0));
        assert_eq!(log.due("token:ci", "component:default/a"), None);
        assert_eq!(log.due("token:ci", "component:default/a"), None);
        assert_eq!(log.due("token:ci", "component:default/b"), Some(0), "another pair");
    }

    #[test]
    fn stored_statuses_read_back() {
        for s in [
            RunState::Queued,
            RunState::Started,
            RunState::Running,
            RunState::Complete,
            RunState::Fail,
            RunState::Abort,
            RunState::Lost,
        ] {
            assert_eq!(parse_status(status_name(s)), Some(s));
        }
        assert_eq!(parse_status("other"), None);
    }
}
