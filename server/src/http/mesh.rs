//! `GET /api/v1/mesh/services` and `GET /api/v1/mesh/status`: the mesh state the poller stored.

use app::auth::guard::Caller;
use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ApiResult;
use super::AppState;
use crate::mesh::repo;

/// The poll interval staleness is judged against (`--kuma-poll-interval`'s default). The
/// configured interval is not yet carried into the HTTP state.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

/// Mesh routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/mesh/services", get(list_services))
        .route("/api/v1/mesh/status", get(get_status))
}

fn rfc3339(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

fn stale(last_success: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    crate::mesh::service::is_stale(last_success, now, POLL_INTERVAL)
}

async fn list_services(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    caller.require_reader(&state.ctx)?;
    let now = OffsetDateTime::now_utc();
    let items: Vec<Value> = repo::list_services(&state.ctx.pool)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "control_plane": s.control_plane,
                "mesh": s.mesh,
                "service": s.service,
                "status": s.status,
                "proxies": {"total": s.total, "online": s.online, "offline": s.offline, "partially_degraded": s.partially_degraded},
                "mtls": {"enabled": s.mtls_enabled, "backend": s.mtls_backend, "earliest_expiry": rfc3339(s.earliest_expiry)},
                "component": s.component,
                "requests_per_s": s.requests_per_s,
                "errors_per_s": s.errors_per_s,
                "stale": stale(s.last_success_at, now),
                "observed_at": rfc3339(Some(s.observed_at)),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn get_status(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    caller.require_reader(&state.ctx)?;
    let now = OffsetDateTime::now_utc();
    let items: Vec<Value> = repo::list_control_planes(&state.ctx.pool)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "control_plane": c.name,
                "last_success_at": rfc3339(c.last_success_at),
                "last_error": c.last_error,
                "last_error_at": rfc3339(c.last_error_at),
                "stale": stale(c.last_success_at, now),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
