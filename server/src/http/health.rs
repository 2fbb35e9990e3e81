//! `/healthz` (the process is up) and `/readyz` (database reachable, migrations applied, not
//! shutting down).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::openapi::schemas::Health;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "meta",
    security(),
    responses((status = 200, description = "Up", body = Health, example = json!({"status": "ok"}))),
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the database before answering "unreachable".
///
/// Without a bound, the check waits as long as a request would for a pooled connection (the
/// pool's acquire timeout, 10 s): while PostgreSQL is down or restarting, the pool keeps retrying
/// to connect until then, so a probe would hang instead of saying "not ready". The check is one
/// trivial query; a replica that cannot get it answered within this long should not be sent
/// traffic anyway.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Database reachable, migrations applied, and not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready", "migration": 20260301000000_i64})),
        (status = 503, description = "Not ready: migrations pending, the database unreachable, or shutting down", body = Health,
         example = json!({"status": "migrations pending", "applied": 20260101000000_i64, "expected": 20260301000000_i64})),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if state.draining.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "shutting down" })),
        );
    }
    let latest = crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let query =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(&state.ctx.pool);
    let applied: Result<Option<i64>, String> = match tokio::time::timeout(READY_TIMEOUT, query).await {
        Ok(result) => result.map_err(|err| err.to_string()),
        Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
    };
    match applied {
        Ok(Some(v)) if v >= latest => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "migration": v })),
        ),
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "migrations pending", "applied": v, "expected": latest })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unreachable" })),
            )
        }
    }
}
