//! Turning errors into HTTP responses. Bearing's API answers `{"errors":[{"detail": ...}]}`;
//! the Backstage-compatible routes answer Backstage's error shape (see `backstage.rs`).

use app::error::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API error: one message, or several problems (an import).
#[derive(Debug)]
pub enum ApiError {
    /// A single error.
    App(AppError),
    /// Every problem of a rejected import, `file:line:column: message`.
    Problems(StatusCode, Vec<String>),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::App(e.into())
    }
}

/// The status code of an [`AppError`].
pub fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::App(e) => {
                let body = serde_json::json!({ "errors": [{ "detail": e.to_string() }] });
                let mut response = (status_of(&e), Json(body)).into_response();
                if e == AppError::Unauthenticated {
                    response.headers_mut().insert(
                        axum::http::header::WWW_AUTHENTICATE,
                        axum::http::HeaderValue::from_static("Bearer realm=\"bearing\""),
                    );
                }
                response
            }
            ApiError::Problems(status, problems) => {
                let errors: Vec<_> = problems.iter().map(|p| serde_json::json!({ "detail": p })).collect();
                (status, Json(serde_json::json!({ "errors": errors }))).into_response()
            }
        }
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// The answer to a request whose handler panicked (a bug): logged once, inside the request's
/// span, and a 500 in the API's error shape instead of a dropped connection.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".to_owned());
    tracing::error!(panic = %app::text::printable(&message), "a request handler panicked");
    ApiError::App(AppError::Internal).into_response()
}
