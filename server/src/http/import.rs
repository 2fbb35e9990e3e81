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
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query};
use super::openapi::schemas::ApiErrors;
use crate::state::AppState;

/// Query of `POST /api/v1/import`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// Check and report without writing.
    #[serde(default)]
    #[param(required = false)]
    dry_run: bool,
    /// Name of this source (default `default`); entities that disappear from it are orphaned.
    #[param(example = "team-payments-repo")]
    source: Option<String>,
}

/// Imports catalog-as-code YAML, all or nothing (admins).
///
/// One or more YAML documents (Backstage descriptors or Compass `compass.yml`). Problems are
/// reported as `source:line:column: message`, every one of them, and nothing is written.
#[utoipa::path(
    post,
    path = "/api/v1/import",
    operation_id = "importCatalog",
    tag = "catalog",
    params(Params),
    request_body(
        description = "YAML, one or more documents",
        content(
            (String = "application/yaml", example = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: checkout\nspec:\n  type: service\n  lifecycle: production\n  owner: team-checkout\n"),
            (String = "text/plain"),
        ),
    ),
    responses(
        (status = 200, description = "What changed (or, in a dry run, would change)", body = ImportReport),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
        (status = 413, description = "Body larger than the server's `--import-max-file-size` (default 16 MiB)", body = ApiErrors),
        (status = 422, description = "Every problem found; nothing was written", body = ApiErrors,
         example = json!({"errors": [{"detail": "api:default:3:3: duplicate key `name` (first at line 2, column 3); keys in a mapping must be unique"}]})),
    ),
)]
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
