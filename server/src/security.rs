//! Browser-facing protections on every response: cross-origin state changes are refused, and
//! security headers are set.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

/// Refuses a state-changing request (anything but GET/HEAD/OPTIONS) that a browser sent from
/// another origin. Browsers send `Origin` on such requests; without it, `Sec-Fetch-Site` must say
/// the request is same-origin. Requests without cookies (API clients with a token) cannot ride
/// on a user's session and are let through.
pub async fn refuse_cross_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let has_cookie = headers.contains_key(header::COOKIE);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let allowed = match (origin, fetch_site) {
        (Some(origin), _) => origin == state.auth.public_origin,
        (None, Some(site)) => site == "same-origin" || site == "none",
        (None, None) => !has_cookie,
    };
    if !allowed {
        tracing::warn!(
            origin = origin.unwrap_or("-"),
            path = req.uri().path(),
            "cross-origin request refused"
        );
        let body = serde_json::json!({ "errors": [{ "detail": format!(
            "cross-origin request refused: state changes must come from {}", state.auth.public_origin) }] });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(req).await
}

/// Adds `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options`, and a strict
/// `Content-Security-Policy` where the page did not set its own (pages set one with the
/// per-response nonce of their inline hydration script; see `app::routes::shell`).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let policy = if is_html {
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        } else {
            "default-src 'none'; frame-ancestors 'none'"
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    response
}
