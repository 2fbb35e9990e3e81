//! Access reviews as JSON (issue 14 §3): list, open, read, decide an entry, close; and the role
//! overrides revokes leave behind. Thin adapters: `app::access_reviews::service` checks the caller.

use app::access_reviews::{
    overrides, service, DecisionRequest, OpenReviewRequest, ReviewDetail, ReviewEntry, ReviewSummary, RoleOverrideView,
};
use app::auth::guard::Caller;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiResult;
use super::extract::{Json, Path};
use super::openapi::schemas::ApiErrors;
use crate::state::AppState;

/// The reviews the caller may read.
#[derive(Serialize, ToSchema)]
pub struct ReviewList {
    items: Vec<ReviewSummary>,
}

/// The overrides in force.
#[derive(Serialize, ToSchema)]
pub struct OverrideList {
    items: Vec<RoleOverrideView>,
}

/// The path of one review.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReviewPath {
    /// The review's `id`.
    #[param(example = 1)]
    pub id: i64,
}

/// The path of one role override.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OverridePath {
    /// The override's `id`.
    #[param(example = 3)]
    pub id: i64,
}

/// The path of one entry of a review.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EntryPath {
    /// The review's `id`.
    #[param(example = 1)]
    pub id: i64,
    /// The entry's `id` (from the review's `entries`).
    #[param(example = 12)]
    pub entry: i64,
}

/// Open and past access reviews, newest first (admins and auditors: all; leads: those with
/// entries of their teams).
#[utoipa::path(
    get,
    path = "/api/v1/access-reviews",
    operation_id = "listAccessReviews",
    tag = "access-reviews",
    responses(
        (status = 200, description = "Reviews with their progress", body = ReviewList),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin, auditor or lead", body = ApiErrors),
    ),
)]
pub async fn list_reviews(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ReviewList>> {
    let items = service::list_reviews(&state.ctx, &caller).await?;
    Ok(Json(ReviewList { items }))
}

/// Opens a review of everyone's roles or one team's (admins); its entries are computed from the
/// roles and tokens in force now.
#[utoipa::path(
    post,
    path = "/api/v1/access-reviews",
    operation_id = "openAccessReview",
    tag = "access-reviews",
    request_body = OpenReviewRequest,
    responses(
        (status = 201, description = "The new review with its entries", body = ReviewDetail),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
        (status = 409, description = "A review of this scope is still open", body = ApiErrors),
        (status = 422, description = "The due date or the team is not valid", body = ApiErrors),
    ),
)]
pub async fn open_review(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<OpenReviewRequest>,
) -> ApiResult<(StatusCode, Json<ReviewDetail>)> {
    let review = service::open_review(&state.ctx, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(review)))
}

/// One review with the entries and services the caller may read, and its attestation once
/// closed.
#[utoipa::path(
    get,
    path = "/api/v1/access-reviews/{id}",
    operation_id = "getAccessReview",
    tag = "access-reviews",
    params(ReviewPath),
    responses(
        (status = 200, description = "The review", body = ReviewDetail),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin, auditor or lead", body = ApiErrors),
        (status = 404, description = "No such review, or none of its entries is the caller's to see", body = ApiErrors),
    ),
)]
pub async fn get_review(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReviewDetail>> {
    Ok(Json(service::review_detail(&state.ctx, &caller, id).await?))
}

/// Keeps or revokes one entry (a person of its reviewer group, never its subject). A revoke
/// takes effect at once: the person loses the role and their sessions end, or the token is
/// revoked.
#[utoipa::path(
    post,
    path = "/api/v1/access-reviews/{id}/entries/{entry}/decision",
    operation_id = "decideAccessReviewEntry",
    tag = "access-reviews",
    params(EntryPath),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The decided entry", body = ReviewEntry),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not this entry's reviewer, its subject, or an API token", body = ApiErrors),
        (status = 404, description = "No such entry in this review", body = ApiErrors),
        (status = 409, description = "Decided already, or the review is closed", body = ApiErrors),
        (status = 422, description = "Not `keep` or `revoke`, or a revoke without a note", body = ApiErrors),
    ),
)]
pub async fn decide_entry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, entry)): Path<(i64, i64)>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<Json<ReviewEntry>> {
    Ok(Json(service::decide_entry(&state.ctx, &caller, id, entry, body).await?))
}

/// Closes a review and signs its attestation (admins). Refused while an entry with a reviewer
/// is undecided; `unassigned` entries are sealed as undecided.
#[utoipa::path(
    post,
    path = "/api/v1/access-reviews/{id}/close",
    operation_id = "closeAccessReview",
    tag = "access-reviews",
    params(ReviewPath),
    responses(
        (status = 200, description = "The closed review with its attestation", body = ReviewDetail),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
        (status = 404, description = "No such review", body = ApiErrors),
        (status = 409, description = "Closed already, or entries still need a decision", body = ApiErrors),
    ),
)]
pub async fn close_review(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReviewDetail>> {
    Ok(Json(service::close_review(&state.ctx, &caller, id).await?))
}

/// Roles taken from people by reviews, in force until lifted (admins).
#[utoipa::path(
    get,
    path = "/api/v1/role-overrides",
    operation_id = "listRoleOverrides",
    tag = "access-reviews",
    responses(
        (status = 200, description = "Overrides in force", body = OverrideList),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
    ),
)]
pub async fn list_overrides(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<OverrideList>> {
    let items = overrides::list_overrides(&state.ctx, &caller).await?;
    Ok(Json(OverrideList { items }))
}

/// Lifts a role override (admins): the person's groups grant the role again from their next
/// request.
#[utoipa::path(
    post,
    path = "/api/v1/role-overrides/{id}/lift",
    operation_id = "liftRoleOverride",
    tag = "access-reviews",
    params(OverridePath),
    responses(
        (status = 200, description = "The lifted override", body = RoleOverrideView),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not an admin", body = ApiErrors),
        (status = 404, description = "No override in force with this id", body = ApiErrors),
    ),
)]
pub async fn lift_override(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<RoleOverrideView>> {
    Ok(Json(overrides::lift_override(&state.ctx, &caller, id).await?))
}
