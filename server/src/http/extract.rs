//! Extractors whose rejections answer in the API's own error shape. axum's own `Json`, `Query`
//! and `Path` reject a bad body, query string or path segment with a plain-text message; a
//! client of Bearing's API reads `{"errors":[{"detail": …}]}` from every other failure, so these
//! wrap axum's with [`ApiError`] as the rejection (axum's `customize-extractor-error` example).
//! The Backstage-compatible routes have their own, answering in Backstage's shape.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;

/// A JSON body (`Content-Type: application/json`), or a JSON response.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string deserialized into `T`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters deserialized into `T`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Problems(rejection.status(), vec![rejection.body_text()])
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Problems(rejection.status(), vec![rejection.body_text()])
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Problems(rejection.status(), vec![rejection.body_text()])
    }
}
