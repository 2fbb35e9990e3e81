//! Prometheus metrics: requests by route and status, a latency histogram, and pool gauges
//! refreshed at each scrape.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::AppState;

/// The process-wide recorder (metrics are global; tests build several apps, on several threads
/// at once: the first call installs it, the others wait for that and share it).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                )
                .map_err(|e| format!("invalid histogram buckets: {e}"))?
                .install_recorder()
                .map_err(|e| format!("cannot install the metrics recorder: {e}"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Counts and times every request, labelled by matched route (not raw path, which would
/// explode the label set).
pub async fn track(State(_): State<AppState>, req: Request, next: Next) -> Response {
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

/// `/metrics` on the main address: only for a scraper sending the metrics token (see
/// [`crate::config::MetricsArgs`]). Merged outside the sign-in middleware, since that token is
/// not an API token.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render_for_token))
}

/// `/metrics` with no credentials, for the address given by `--metrics-listen`.
pub fn standalone(state: AppState) -> Router {
    Router::new().route("/metrics", get(render)).with_state(state)
}

async fn render_for_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("db_pool_connections").set(f64::from(state.ctx.pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(state.ctx.pool.num_idle() as f64);
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render())
}
