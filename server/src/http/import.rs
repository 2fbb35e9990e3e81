//! `POST /api/v1/import`: a YAML body (one or more documents), all or nothing, with
//! `?dry_run=true` to only check and report. `?source=NAME` names the source (default `api`),
//! which orphan detection works on: re-posting the same source without an entity orphans it.

use app::auth::guard::Caller;
use app::catalog::import::{apply, known_ids, ImportError};
use app::catalog::ImportReport;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::AppState;

/// Largest body accepted, the same limit as for a file.
const MAX_BODY: usize = 1024 * 1024;

/// Import route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/import", post(import).layer(DefaultBodyLimit::max(MAX_BODY)))
}

#[derive(Debug, Deserialize)]
struct Params {
    #[serde(default)]
    dry_run: bool,
    source: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<Params>,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    caller.require_admin()?;
    let source = format!("api:{}", p.source.as_deref().unwrap_or("default"));
    let body = std::str::from_utf8(&body).map_err(|e| {
        let line = body[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        ApiError::Problems(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![format!(
                "{source}:{line}:1: the body is not UTF-8 (invalid byte at offset {}); send UTF-8 YAML",
                e.valid_up_to()
            )],
        )
    })?;
    let known = known_ids(&state.ctx.pool).await?;
    let set = bearing_catalog::import::import_documents(&source, body, &known).map_err(|problems| {
        ApiError::Problems(
            StatusCode::UNPROCESSABLE_ENTITY,
            problems.iter().map(ToString::to_string).collect(),
        )
    })?;
    match apply(&state.ctx.pool, set, &[], p.dry_run, &state.ctx.audit, &caller).await {
        Ok(report) => {
            // This server's cache now; other servers hear the import's NOTIFY.
            if !report.dry_run {
                state.ctx.cache.invalidate();
            }
            Ok(Json(report))
        }
        Err(ImportError::Problems(problems)) => Err(ApiError::Problems(StatusCode::UNPROCESSABLE_ENTITY, problems)),
        Err(ImportError::Database(e)) => Err(e.into()),
    }
}
