//! Logging (human-readable lines on stderr, filtered by `RUST_LOG`, default `info`; tantivy's
//! per-commit lines from each list-index rebuild only from `warn`) and the
//! process-wide Prometheus recorder behind `/metrics`.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (colored on a terminal).
    #[default]
    Text,
    /// One JSON object per line, with the fields of the event and of its spans (the request's
    /// id, route and status), for log shippers.
    Json,
}

/// Installs the global subscriber. Safe to call more than once (tests).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,tantivy=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

/// The process-wide recorder (metrics are global; tests build several apps, on several threads
/// at once: the first call installs it, the others wait for that and share it).
pub fn metrics_recorder() -> anyhow::Result<PrometheusHandle> {
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
