//! `GET /api/v1/evidence`: the evidence bundle for a period, streamed as a zip while it is
//! written (admins and auditors).

use app::auth::guard::Caller;
use app::evidence::{service, EvidenceQuery};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::error::ApiResult;
use super::extract::Query;
use super::openapi::schemas::{ApiErrors, BinaryFile};
use crate::state::AppState;

/// The SOC 2 evidence bundle for `[from, to)`: populations as of `to`, the period's changes, mesh
/// state and deployments, exceptions, samples drawn with `sample_seed`, the audit log with its
/// checker, and `SHA256SUMS` signed with the audit key (see `VERIFY.md` inside). Streamed: the
/// download starts at once, and a failure part-way breaks the download rather than ending it
/// cleanly. Every export is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/evidence",
    operation_id = "exportEvidence",
    tag = "audit",
    params(EvidenceQuery),
    responses(
        (status = 200, description = "The bundle", content_type = "application/zip", body = BinaryFile),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Neither an admin nor an auditor", body = ApiErrors),
        (status = 422, description = "The period or the seed is not valid; the error names the field", body = ApiErrors),
    ),
)]
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<EvidenceQuery>,
) -> ApiResult<Response> {
    let started = service::start(&state.ctx, &caller, &q).await?;
    let disposition = format!("attachment; filename=\"{}\"", started.filename);
    let body = Body::from_stream(service::into_stream(started));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
