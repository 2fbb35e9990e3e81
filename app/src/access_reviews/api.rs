//! Server functions for the access-review pages. Thin adapters: the service checks the caller.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{DecisionRequest, OpenReviewRequest};
use super::{ReviewDetail, ReviewEntry, ReviewSummary, RoleOverrideView};
use crate::error::AppError;

/// Open and past reviews the caller may read.
#[server(prefix = "/api/fn", endpoint = "list_access_reviews")]
pub async fn get_access_reviews() -> Result<Vec<ReviewSummary>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::list_reviews(&ctx, &caller).await }).await
}

/// One review as the caller may read it.
#[server(prefix = "/api/fn", endpoint = "get_access_review")]
pub async fn get_access_review(id: i64) -> Result<ReviewDetail, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::review_detail(&ctx, &caller, id).await }).await
}

/// Opens a review (admins).
#[server(prefix = "/api/fn", endpoint = "open_access_review")]
pub async fn open_access_review(scope: String, due_on: String) -> Result<ReviewDetail, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let req = OpenReviewRequest {
            scope: Some(scope),
            due_on,
        };
        super::service::open_review(&ctx, &caller, req).await
    })
    .await
}

/// Keeps or revokes one entry (its reviewer).
#[server(prefix = "/api/fn", endpoint = "decide_review_entry")]
pub async fn decide_review_entry(
    review: i64,
    entry: i64,
    decision: String,
    #[server(default)] note: Option<String>,
) -> Result<ReviewEntry, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let req = DecisionRequest { decision, note };
        super::service::decide_entry(&ctx, &caller, review, entry, req).await
    })
    .await
}

/// Closes a review and signs its attestation (admins).
#[server(prefix = "/api/fn", endpoint = "close_access_review")]
pub async fn close_access_review(id: i64) -> Result<ReviewDetail, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::close_review(&ctx, &caller, id).await }).await
}

/// Role overrides in force (admins).
#[server(prefix = "/api/fn", endpoint = "list_role_overrides")]
pub async fn get_role_overrides() -> Result<Vec<RoleOverrideView>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::overrides::list_overrides(&ctx, &caller).await }).await
}

/// Lifts a role override (admins).
#[server(prefix = "/api/fn", endpoint = "lift_role_override")]
pub async fn lift_role_override(id: i64) -> Result<RoleOverrideView, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::overrides::lift_override(&ctx, &caller, id).await })
        .await
}
