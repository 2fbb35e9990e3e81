//! `POST /api/v1/import`: a YAML body (one or more documents), all or nothing, with
//! `?dry_run=true` to only check and report. `?source=NAME` names the source (default `api`),
//! which orphan detection works on: re-posting the same source without an entity orphans it.
//!
//! The body is read up to `--import-max-file-size`, and parsed on a blocking thread within the
//! importer's limits: a hostile document costs one thread for a bounded time and memory, never
//! an async worker, and never the process.

use app::auth::guard::Caller;
use app::catalog::import::{ImportError, Importer};
use app::catalog::ImportReport;
use app::error::AppError;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query};
use crate::state::AppState;

/// Query of `POST /api/v1/import`.
#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(default)]
    dry_run: bool,
    source: Option<String>,
}

pub async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<Params>,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    // Admins only, checked before the body is read.
    let importer = Importer::for_caller(&state.ctx, &caller)?;
    let source = format!("api:{}", p.source.as_deref().unwrap_or("default"));
    let limits = state.import_limits.clone();
    let max = usize::try_from(limits.max_file_bytes).unwrap_or(usize::MAX);
    let body = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::Problems(
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![format!(
                "{source}:1:1: the body is larger than the import limit of {max} bytes; split it, \
                 or raise the limit with --import-max-file-size (BEARING_IMPORT_MAX_FILE_SIZE)"
            )],
        )
    })?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        let line = body[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        ApiError::Problems(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![format!(
                "{source}:{line}:1: the body is not UTF-8 (invalid byte at offset {}); send UTF-8 YAML",
                e.valid_up_to()
            )],
        )
    })?;
    match importer.import_text(&source, text.to_owned(), &limits, p.dry_run).await {
        Ok(report) => Ok(Json(report)),
        Err(ImportError::Problems(problems)) => Err(ApiError::Problems(StatusCode::UNPROCESSABLE_ENTITY, problems)),
        Err(ImportError::Database(e)) => Err(e.into()),
        Err(ImportError::Internal) => Err(AppError::Internal.into()),
    }
}
