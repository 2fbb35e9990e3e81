//! Delivery events in (`POST /api/v1/lineage`, `/api/v1/lineage/batch`, `/api/v1/cdevents`)
//! and runs, deployments and DORA metrics out (`GET /api/v1/runs`, `/api/v1/runs/{run_id}`,
//! `/api/v1/deployments`, `/api/v1/dora`).
//!
//! Ingest is guarded three ways before any parsing: the caller must be a producer, the body is
//! read up to `--delivery-max-body-size`, and at most a few requests are parsed and stored at
//! once; the rest get 503 with `Retry-After` (OpenLineage clients retry 5xx, not 429). Bodies
//! are parsed and validated (`bearing_delivery`) on a blocking thread, then handed to
//! `app::delivery::ingest`, which checks bindings, stores and projects.

use std::sync::Arc;
use std::time::Duration;

use app::auth::guard::Caller;
use app::delivery::dora::{self, DoraQuery};
use app::delivery::ingest::{self, status_of};
use app::delivery::runs::{self, RunQuery};
use app::delivery::{DeploymentView, DoraReport, EventOutcome, IngestReport, RunDetail, RunPage, UnmappedSubject};
use app::error::AppError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bearing_delivery::{DeliveryEvent, EventError};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use super::openapi::schemas::ApiErrors;
use crate::state::AppState;

/// How ingest is bounded (`--delivery-max-body-size`, `--delivery-max-concurrent`).
#[derive(Clone, Debug)]
pub struct IngestLimits {
    pub max_body_bytes: usize,
    /// Requests parsed and stored at once; one more waits at most [`QUEUE_WAIT`], then 503.
    pub permits: Arc<Semaphore>,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_body_bytes: 8 * 1024 * 1024,
            permits: Arc::new(Semaphore::new(4)),
        }
    }
}

/// How long a request waits for a free ingest slot before it is told to come back.
const QUEUE_WAIT: Duration = Duration::from_millis(250);

/// A refused event or request: `{pointer, message, hint}` (the `bearing_delivery` problem).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventProblem {
    /// JSON pointer into the body (`/run/runId`, `/3/eventType` in a batch); empty for the whole
    /// body or a CloudEvents header.
    pub pointer: String,
    pub message: String,
    pub hint: String,
}

/// The answer to a batch, in OpenLineage's batch shape (`partial_success`, `failed_events`)
/// with Bearing's per-event outcomes.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    #[serde(flatten)]
    pub report: IngestReport,
    /// Whether some events were refused while others were stored.
    pub partial_success: bool,
    pub failed_events: Vec<FailedEvent>,
}

/// An event of a batch that was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedEvent {
    pub index: usize,
    pub reason: String,
}

fn problem_response(status: u16, pointer: &str, message: &str, hint: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let body = serde_json::json!({
        "pointer": pointer, "message": message, "hint": hint,
        "errors": [{"detail": format!("{}: {message} (fix: {hint})", if pointer.is_empty() { "the request" } else { pointer })}],
    });
    (status, axum::Json(body)).into_response()
}

fn event_error(e: &EventError) -> Response {
    problem_response(status_of(e.kind), &e.pointer, &e.message, &e.hint)
}

fn overloaded() -> Response {
    let mut response = ApiError::App(AppError::Conflict(
        "Bearing is busy storing other events; retry after a second".into(),
    ))
    .into_response();
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Producer check, slot and body: what every ingest route does before parsing.
async fn admit(
    state: &AppState,
    caller: &Caller,
    body: Body,
) -> Result<(tokio::sync::OwnedSemaphorePermit, axum::body::Bytes), Response> {
    ingest::require_producer(caller).map_err(|e| ApiError::App(e).into_response())?;
    let permit = match tokio::time::timeout(QUEUE_WAIT, state.ingest_limits.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(overloaded()),
    };
    let max = state.ingest_limits.max_body_bytes;
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        problem_response(
            413,
            "",
            &format!("the body is larger than {max} bytes"),
            "send fewer events per request, or raise --delivery-max-body-size (BEARING_DELIVERY_MAX_BODY_SIZE)",
        )
    })?;
    Ok((permit, bytes))
}

/// Parses on a blocking thread: validation is CPU work on hostile input.
async fn parse<T: Send + 'static>(
    bytes: axum::body::Bytes,
    f: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(move || f(&bytes))
        .await
        .map_err(|_| ApiError::App(AppError::Internal).into_response())
}

/// The answer to a single event: 201 when stored, 200 when it was a duplicate, else the
/// refusal's status and problem.
fn single_answer(report: IngestReport) -> Response {
    match report.items.first() {
        Some(EventOutcome::Refused {
            status,
            pointer,
            message,
            hint,
        }) => problem_response(
            *status,
            pointer.as_deref().unwrap_or(""),
            message,
            hint.as_deref().unwrap_or(""),
        ),
        Some(EventOutcome::Duplicate) => (StatusCode::OK, axum::Json(report)).into_response(),
        _ => (StatusCode::CREATED, axum::Json(report)).into_response(),
    }
}

/// The answer to a batch: 200 with every outcome; when every event was refused, the first
/// refusal's status, so a client that reads only the status still sees the failure.
fn batch_answer(report: IngestReport) -> Response {
    let failed_events: Vec<FailedEvent> = report
        .items
        .iter()
        .enumerate()
        .filter_map(|(index, o)| match o {
            EventOutcome::Refused { message, pointer, .. } => Some(FailedEvent {
                index,
                reason: match pointer.as_deref().filter(|p| !p.is_empty()) {
                    Some(p) => format!("{p}: {message}"),
                    None => message.clone(),
                },
            }),
            _ => None,
        })
        .collect();
    let status = match report.items.first() {
        Some(EventOutcome::Refused { status, .. }) if report.refused == report.items.len() => {
            StatusCode::from_u16(*status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
        }
        _ => StatusCode::OK,
    };
    let answer = BatchAnswer {
        partial_success: !failed_events.is_empty() && report.refused < report.items.len(),
        failed_events,
        report,
    };
    (status, axum::Json(answer)).into_response()
}

/// Reports one OpenLineage RunEvent (producers).
///
/// Exactly what `openlineage-python`'s HTTP transport sends (`Authorization: Bearer` with a
/// producer token, or a client-credentials access token of a client in `--producer-clients`).
/// The job maps to a component by its `openlineage.io/job` annotation or by name; the component
/// (or its team) must name the producer in `bearing.dev/producers` (a token by its name, a
/// client as `client:<id>`).
#[utoipa::path(
    post,
    path = "/api/v1/lineage",
    operation_id = "postLineageEvent",
    tag = "delivery",
    request_body(content = serde_json::Value, description = "An OpenLineage 2-0-2 RunEvent", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = IngestReport),
        (status = 200, description = "Stored before (same runId, eventType and eventTime); nothing changed", body = IngestReport),
        (status = 400, description = "Not JSON", body = EventProblem),
        (status = 401, description = "No valid token", body = ApiErrors),
        (status = 403, description = "Not a producer, or not bound to the component; audited", body = EventProblem),
        (status = 413, description = "Body or event over Bearing's bounds", body = EventProblem),
        (status = 422, description = "Not a valid RunEvent; `pointer` names the field", body = EventProblem,
         example = json!({"pointer": "/eventType", "message": "\"BEGIN\" is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER", "hint": "use one of the OpenLineage event types"})),
        (status = 503, description = "Busy; retry after `Retry-After` seconds", body = ApiErrors),
    ),
)]
pub async fn post_lineage(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Body) -> Response {
    let (_permit, bytes) = match admit(&state, &caller, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let event = match parse(bytes, bearing_delivery::parse_lineage).await {
        Ok(Ok(event)) => event,
        Ok(Err(e)) => return event_error(&e),
        Err(response) => return response,
    };
    match ingest::ingest(&state.ctx, &caller, vec![Ok(DeliveryEvent::Run(event))]).await {
        Ok(report) => single_answer(report),
        Err(e) => ApiError::App(e).into_response(),
    }
}

/// Reports a batch of OpenLineage RunEvents (producers).
///
/// A JSON array of up to 1,000 RunEvents, each judged on its own: OpenLineage's batch answer
/// (`partial_success`, `failed_events[{index, reason}]`) plus each event's outcome.
#[utoipa::path(
    post,
    path = "/api/v1/lineage/batch",
    operation_id = "postLineageBatch",
    tag = "delivery",
    request_body(content = Vec<serde_json::Value>, description = "OpenLineage 2-0-2 RunEvents", content_type = "application/json"),
    responses(
        (status = 200, description = "Every event's outcome", body = BatchAnswer),
        (status = 400, description = "Not a JSON array", body = EventProblem),
        (status = 401, description = "No valid token", body = ApiErrors),
        (status = 403, description = "Not a producer, or every event refused as unbound", body = ApiErrors),
        (status = 413, description = "Body over the limit, or more than 1,000 events", body = EventProblem),
        (status = 503, description = "Busy; retry after `Retry-After` seconds", body = ApiErrors),
    ),
)]
pub async fn post_lineage_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Response {
    let (_permit, bytes) = match admit(&state, &caller, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let events = match parse(bytes, bearing_delivery::parse_lineage_batch).await {
        Ok(Ok(events)) => events,
        Ok(Err(e)) => return event_error(&e),
        Err(response) => return response,
    };
    let events = events.into_iter().map(|e| e.map(DeliveryEvent::Run)).collect();
    match ingest::ingest(&state.ctx, &caller, events).await {
        Ok(report) => batch_answer(report),
        Err(e) => ApiError::App(e).into_response(),
    }
}

/// Reports CDEvents (producers).
///
/// CDEvents 0.4 or 0.5 as CloudEvents 1.0, in structured mode (`application/cloudevents+json`),
/// binary mode (`ce-*` headers, the CDEvent as the body) or batch mode
/// (`application/cloudevents-batch+json`, answered like the OpenLineage batch). Services map
/// to components by the `cdevents.dev/service` annotation or by name.
#[utoipa::path(
    post,
    path = "/api/v1/cdevents",
    operation_id = "postCdEvents",
    tag = "delivery",
    request_body(content = serde_json::Value, description = "A CloudEvent carrying a CDEvent, or a batch of them",
        content_type = "application/cloudevents+json"),
    responses(
        (status = 201, description = "Stored (structured or binary mode)", body = IngestReport),
        (status = 200, description = "A duplicate, or a batch's outcomes", body = BatchAnswer),
        (status = 400, description = "Not JSON", body = EventProblem),
        (status = 401, description = "No valid token", body = ApiErrors),
        (status = 403, description = "Not a producer, or not bound to the service's component; audited", body = EventProblem),
        (status = 413, description = "Body over the limit, or too many events", body = EventProblem),
        (status = 422, description = "Not a valid CloudEvent or CDEvent, or a type Bearing does not take", body = EventProblem),
        (status = 503, description = "Busy; retry after `Retry-After` seconds", body = ApiErrors),
    ),
)]
pub async fn post_cdevents(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let batch = content_type.as_deref().is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/cloudevents-batch+json")
    });
    let ce_headers: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("ce-"))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let (_permit, bytes) = match admit(&state, &caller, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let events = match parse(bytes, move |b| {
        bearing_delivery::parse_cloudevents(content_type.as_deref(), &ce_headers, b)
    })
    .await
    {
        Ok(Ok(events)) => events,
        Ok(Err(e)) => return event_error(&e),
        Err(response) => return response,
    };
    match ingest::ingest(&state.ctx, &caller, events).await {
        Ok(report) if batch => batch_answer(report),
        Ok(report) => single_answer(report),
        Err(e) => ApiError::App(e).into_response(),
    }
}

/// Query string of `GET /api/v1/runs`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// Runs reporting on this component (`component:default/orders-etl`).
    component: Option<String>,
    /// Runs of this job, `namespace/name`.
    #[param(example = "luigi/Transform")]
    job: Option<String>,
    /// `queued`, `started`, `running`, `complete`, `fail`, `abort`, `lost` or `other`.
    status: Option<String>,
    /// Runs whose first event is at or after this time (RFC 3339).
    from: Option<String>,
    /// Runs whose first event is before this time (RFC 3339).
    to: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Runs, newest first (readers).
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    operation_id = "listRuns",
    tag = "delivery",
    params(RunParams),
    responses(
        (status = 200, description = "One page of runs", body = RunPage),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 422, description = "A bad filter or cursor", body = ApiErrors),
    ),
)]
pub async fn list_runs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<RunParams>,
) -> ApiResult<Json<RunPage>> {
    let query = RunQuery {
        component: p.component,
        job: p.job,
        status: p.status,
        from: p.from,
        to: p.to,
        cursor: p.cursor,
        limit: p.limit,
    };
    Ok(Json(runs::list_runs(&state.ctx, &caller, &query).await?))
}

/// One run with its tasks and its upstream: declared dependencies and reported job
/// dependencies, each with its latest run, owner and mesh status (readers).
#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}",
    operation_id = "getRun",
    tag = "delivery",
    params(("run_id" = String, Path, description = "The run's id (percent-encoded)")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such run", body = ApiErrors),
    ),
)]
pub async fn get_run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(run_id): Path<String>,
) -> ApiResult<Json<RunDetail>> {
    Ok(Json(runs::run_detail(&state.ctx, &caller, &run_id).await?))
}

/// Jobs and services producers reported that no component claims, by producer (admins).
///
/// Their events are kept; add `openlineage.io/job` or `cdevents.dev/service` to the component
/// that should own them (or name the job after it).
#[utoipa::path(
    get,
    path = "/api/v1/delivery/unmapped",
    operation_id = "listUnmappedDeliverySubjects",
    tag = "delivery",
    responses(
        (status = 200, description = "Unclaimed subjects, latest first", body = Vec<UnmappedSubject>),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
    ),
)]
pub async fn list_unmapped(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<UnmappedSubject>>> {
    Ok(Json(runs::unmapped(&state.ctx, &caller).await?))
}

/// Query string of `GET /api/v1/deployments`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentParams {
    /// Deployments of this component.
    component: Option<String>,
    /// Deployments to this environment (the CDEvents environment id).
    environment: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Deployments, upgrades, rollbacks and removals, newest first (readers).
#[utoipa::path(
    get,
    path = "/api/v1/deployments",
    operation_id = "listDeployments",
    tag = "delivery",
    params(DeploymentParams),
    responses(
        (status = 200, description = "Deployments", body = Vec<DeploymentView>),
        (status = 401, description = "Not signed in", body = ApiErrors),
    ),
)]
pub async fn list_deployments(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<DeploymentParams>,
) -> ApiResult<Json<Vec<DeploymentView>>> {
    Ok(Json(
        runs::list_deployments(
            &state.ctx,
            &caller,
            p.component.as_deref(),
            p.environment.as_deref(),
            p.limit,
        )
        .await?,
    ))
}

/// Query string of `GET /api/v1/dora`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoraParams {
    /// The team whose components to measure (`payments` or `group:default/payments`).
    team: Option<String>,
    /// The component to measure (`checkout` or `component:default/checkout`). Neither: the
    /// whole organisation.
    component: Option<String>,
    /// The environments whose deployments count, comma-separated (DORA counts production).
    /// Default: the server's configured production environments, else all.
    #[param(example = "production")]
    environment: Option<String>,
    /// Start of the period (RFC 3339, inclusive). Default: `to` minus 30 days.
    from: Option<String>,
    /// End of the period (RFC 3339, exclusive), at most 366 days after `from`. Default: now.
    to: Option<String>,
}

/// DORA metrics of a component, a team or the organisation over a period (readers).
///
/// Deployment frequency, lead time for changes, change failure rate, failed deployment
/// recovery time and rework rate, each with its DORA 2024 performance level, and deployments
/// per week. The definitions and the SQL are in `docs/dora.md`.
#[utoipa::path(
    get,
    path = "/api/v1/dora",
    operation_id = "getDora",
    tag = "delivery",
    params(DoraParams),
    responses(
        (status = 200, description = "The metrics", body = DoraReport),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such team", body = ApiErrors),
        (status = 422, description = "A bad period, team or component", body = ApiErrors),
    ),
)]
pub async fn get_dora(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<DoraParams>,
) -> ApiResult<Json<DoraReport>> {
    let query = DoraQuery {
        team: p.team,
        component: p.component,
        environment: p.environment,
        from: p.from,
        to: p.to,
    };
    Ok(Json(dora::report(&state.ctx, &caller, &query).await?))
}
