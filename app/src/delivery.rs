//! Pipelines and deployments report to the catalog (issue 13): OpenLineage run events and
//! CDEvents, sent by verified producers ([`crate::auth::Role::Producer`] tokens) and bound to
//! the components they may report on, kept as append-only events and projected into runs,
//! deployments, changes and incidents. Wire types shared by pages, server functions and the
//! HTTP API (`/api/v1/lineage`, `/api/v1/cdevents`, `/api/v1/runs`, `/api/v1/deployments`,
//! `/api/v1/dora`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod bindings;
pub mod components;
#[cfg(feature = "ssr")]
pub mod dora;
pub mod dora_components;
#[cfg(feature = "ssr")]
pub(crate) mod dora_repo;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
mod map;
pub mod pages;
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod runs;

#[cfg(feature = "ssr")]
pub use repo::CHANGED_CHANNEL;

use serde::{Deserialize, Serialize};

/// Every status a run can have, as the API and the pages' filters spell it.
pub const RUN_STATUSES: [&str; 8] = [
    "queued", "started", "running", "complete", "fail", "abort", "lost", "other",
];

/// An OpenLineage job: `namespace` and `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobName {
    #[cfg_attr(feature = "ssr", schema(example = "luigi"))]
    pub namespace: String,
    #[cfg_attr(feature = "ssr", schema(example = "Transform"))]
    pub name: String,
}

/// One run of a job, pipeline or task, as its events left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunView {
    /// OpenLineage `run.runId`, or `cdevents:<source>#<subject id>`.
    pub run_id: String,
    pub job: JobName,
    /// The component it reports on (reference key); null when nothing in the catalog maps it.
    pub component: Option<String>,
    /// `queued`, `started`, `running`, `complete`, `fail`, `abort`, `lost` or `other`.
    #[cfg_attr(feature = "ssr", schema(example = "fail"))]
    pub status: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    /// Who sent the events: `token:<name>` or `client:<client id>`.
    #[cfg_attr(feature = "ssr", schema(example = "token:luigi-nightly"))]
    pub producer: String,
    pub parent_run_id: Option<String>,
    /// The error message of a run that failed.
    pub error: Option<String>,
}

/// A page of runs, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunPage {
    pub items: Vec<RunView>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Something a failed run depends on, with what is known of its health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Upstream {
    /// `dependsOn` (the catalog declares it) or `jobDependencies` (the run reported it).
    pub via: String,
    /// The component, when the catalog has one.
    pub component: Option<String>,
    /// The job, for reported dependencies.
    pub job: Option<JobName>,
    pub owner: Option<String>,
    /// The latest run of the component or job.
    pub latest_run: Option<RunView>,
    /// The mesh's word on the component's service: `healthy`, `degraded`, `offline`, ... or
    /// null when it is not in a mesh.
    pub mesh_status: Option<String>,
}

/// A run with its tasks and what it depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunDetail {
    pub run: RunView,
    pub error_stack: Option<String>,
    /// Runs whose parent is this one (a pipeline's tasks).
    pub tasks: Vec<RunView>,
    pub upstream: Vec<Upstream>,
}

/// A deployment, upgrade, rollback or removal of a service in an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeploymentView {
    pub component: Option<String>,
    /// The CDEvents subject id of the service.
    pub service: String,
    /// `deployed`, `upgraded`, `rolledback` or `removed`.
    pub action: String,
    pub environment: Option<String>,
    /// The artifact (a purl) deployed.
    pub artifact: Option<String>,
    pub at: String,
    pub producer: String,
}

/// What happened to one event of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EventOutcome {
    /// Stored; `component` is null when the catalog maps nothing to it (admins see these
    /// under unmapped producers and jobs).
    Stored { component: Option<String> },
    /// The same event (same key) was stored before; nothing changed.
    Duplicate,
    /// Refused, nothing stored: `status` is the HTTP status it alone would get.
    Refused {
        status: u16,
        /// JSON pointer into the event, when the problem is in one field.
        pointer: Option<String>,
        message: String,
        hint: Option<String>,
    },
}

/// The answer to a delivery-event request: one outcome per event, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IngestReport {
    pub stored: usize,
    pub duplicates: usize,
    pub refused: usize,
    pub items: Vec<EventOutcome>,
}

impl IngestReport {
    /// Counts `items`.
    pub fn new(items: Vec<EventOutcome>) -> Self {
        let count = |f: fn(&EventOutcome) -> bool| items.iter().filter(|o| f(o)).count();
        IngestReport {
            stored: count(|o| matches!(o, EventOutcome::Stored { .. })),
            duplicates: count(|o| matches!(o, EventOutcome::Duplicate)),
            refused: count(|o| matches!(o, EventOutcome::Refused { .. })),
            items,
        }
    }
}

/// Run states, worst first, as the pages colour them.
pub fn status_color(status: &str) -> &'static str {
    match status {
        "fail" => "bg-red-100 text-red-800",
        "abort" | "lost" => "bg-amber-100 text-amber-800",
        "complete" => "bg-emerald-100 text-emerald-800",
        _ => "bg-sky-100 text-sky-800",
    }
}

/// Events no component claims, by producer and what they named (admins): kept, listed here so
/// someone adds the annotation or renames the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnmappedSubject {
    /// `openlineage` or `cdevents`.
    pub spec: String,
    pub producer: String,
    /// `<job namespace>/<job name>` or the CDEvents subject id.
    pub subject: String,
    pub events: i64,
    pub last_seen: String,
}

/// Recent deployments and failed runs, across teams or of one team (`/delivery`, team pages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryOverview {
    /// The team (reference key), or null for every team.
    pub team: Option<String>,
    /// The latest failed runs, newest first.
    pub failures: Vec<RunView>,
    /// The latest deployments, newest first.
    pub deployments: Vec<DeploymentView>,
}

/// A producer allowed to report a component, and what allows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerBinding {
    /// `token:<name>` or `client:<id>`.
    pub producer: String,
    /// The annotation that names it, or who bound it in Bearing and when.
    pub via: String,
    /// Bound to this component in Bearing (a lead may unbind it here).
    pub removable: bool,
}

/// The producers of a component, and whether the caller may bind more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producers {
    pub items: Vec<ProducerBinding>,
    pub may_bind: bool,
}

/// A component's "Runs & deployments" section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDelivery {
    pub runs: RunPage,
    pub deployments: Vec<DeploymentView>,
    pub producers: Producers,
}

/// A DORA performance level, as the DORA 2024 report (Accelerate State of DevOps 2024,
/// "software delivery performance levels") names them; docs/dora.md says which values fall in
/// each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DoraBand {
    Elite,
    High,
    Medium,
    Low,
}

impl DoraBand {
    /// The word shown on the page.
    pub fn label(self) -> &'static str {
        match self {
            DoraBand::Elite => "elite",
            DoraBand::High => "high",
            DoraBand::Medium => "medium",
            DoraBand::Low => "low",
        }
    }
}

/// The four DORA metrics and rework rate of a scope over a period (`GET /api/v1/dora`). Rates
/// are fractions (0.25 is 25%); durations are seconds. Each figure is null when nothing was
/// there to measure, and so is its band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DoraReport {
    /// The team whose components are measured (`group:default/payments`), if any.
    pub team: Option<String>,
    /// The component measured, if any; with neither, the whole organisation.
    pub component: Option<String>,
    /// The environments whose deployments count; empty for all.
    pub environments: Vec<String>,
    /// The start of the period, `[from, to)`, RFC 3339.
    pub from: String,
    /// Its end (excluded).
    pub to: String,
    /// `deployed` and `upgraded` events in the period.
    pub deployments: i64,
    /// Deployments per day over the period.
    pub deployments_per_day: f64,
    pub deployment_frequency_band: Option<DoraBand>,
    /// Merged changes that reached a deployment in the period (per component reached).
    pub changes: i64,
    pub lead_time_median_s: Option<f64>,
    pub lead_time_p90_s: Option<f64>,
    pub lead_time_band: Option<DoraBand>,
    /// Deployments followed by a rollback or an incident before the next deployment.
    pub failed_deployments: i64,
    pub change_failure_rate: Option<f64>,
    pub change_failure_band: Option<DoraBand>,
    /// Failed deployments whose recovery is known (rolled back or incidents resolved).
    pub recovered_deployments: i64,
    pub recovery_time_median_s: Option<f64>,
    pub recovery_time_band: Option<DoraBand>,
    /// Deployments made to fix a failed one: right after a rollback, or while an incident was
    /// open.
    pub rework_deployments: i64,
    /// The DORA 2024 report published no levels for it.
    pub rework_rate: Option<f64>,
    /// Every week of the period, oldest first.
    pub weeks: Vec<DoraWeek>,
}

/// Deployments of one week (Monday to Sunday, UTC) of a DORA report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DoraWeek {
    /// Its Monday, `2026-11-30`.
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-30"))]
    pub week: String,
    pub deployments: i64,
    pub failed: i64,
    pub rework: i64,
}
