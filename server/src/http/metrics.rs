//! Prometheus metrics: requests by route and status, a latency histogram, and pool gauges
//! refreshed at each scrape.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::state::AppState;

/// Counts and times every request, labelled by matched route (not raw path, which would
/// explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/pkg/") {
                "/pkg/*".into()
            } else {
                "unmatched".into()
            }
        });
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(start.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics, for a scraper with the metrics token.
///
/// Not public: send the metrics token (`--metrics-token`) as a bearer token, or read it without
/// credentials on the `--metrics-listen` address.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "meta",
    security(("metricsToken" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4",
         example = "http_requests_total{method=\"GET\",route=\"/api/v1/entities\",status=\"200\"} 12\n"),
        (status = 401, description = "No metrics token, or a wrong one", body = crate::http::openapi::schemas::ApiErrors),
    ),
)]
pub async fn render_for_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (&state.metrics_token, sent) {
        (Some(token), Some(sent)) => bool::from(token.expose_secret().as_bytes().ct_eq(sent.trim().as_bytes())),
        _ => false,
    };
    if !allowed {
        let detail = "/metrics needs the metrics token (`Authorization: Bearer <token>`, set with --metrics-token), \
                      or read it on the --metrics-listen address";
        let body = serde_json::json!({ "errors": [{ "detail": detail }] });
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(body),
        )
            .into_response();
    }
    render(State(state)).await.into_response()
}

/// Prometheus metrics, without credentials: only on the `--metrics-listen` address.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("db_pool_connections").set(f64::from(state.ctx.pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(state.ctx.pool.num_idle() as f64);
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render())
}
