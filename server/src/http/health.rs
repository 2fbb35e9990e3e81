//! `/healthz` (the process is up) and `/readyz` (database reachable, migrations applied).

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

/// Database reachable and migrations applied.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready", "migration": 20260301000000_i64})),
        (status = 503, description = "Not ready: migrations pending, or the database unreachable", body = Health,
         example = json!({"status": "migrations pending", "applied": 20260101000000_i64, "expected": 20260301000000_i64})),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let latest = crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Result<Option<i64>, _> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&state.ctx.pool)
        .await;
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
