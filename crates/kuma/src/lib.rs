//! What Bearing knows about Kuma, without talking to it.
//!
//! The poller, the `kuma-sim` simulator and the pages all need the same answers to the same
//! questions: what does a control-plane response look like, is this proxy online, is that
//! certificate about to expire, may service X call service Y, how many requests per second did a
//! cluster serve between two polls. Keeping those answers in one pure crate (no HTTP, no database,
//! no clock) means every consumer agrees, and the rules can be tested against the golden responses
//! from Kuma's own test suite in `../shared/kuma/fixtures`.
//!
//! - [`model`]: response types for Kuma 2.x as released, tolerant of the next major's shapes.
//! - [`status`]: proxy, service, mesh-mTLS and certificate status exactly as Kuma computes them.
//! - [`identity`]: MeshIdentity (Kuma 2.12+, 3.0): which proxies get a workload identity.
//! - [`permissions`]: effective allow/deny between services under MeshTrafficPermission and the
//!   legacy TrafficPermission.
//! - [`stats`]: Envoy `/stats` parsing and counter differencing into rates.
//! - [`checks`]: Kuma's API-server rules beyond the schema (MeshTrafficPermission, labels, URL
//!   against body) and the deprecation warnings it answers.
//! - [`schema`]: Kuma's JSON schemas for the policies Bearing writes, and validation against them.

#![deny(missing_docs)]

pub mod checks;
pub mod identity;
pub mod model;
pub mod permissions;
pub mod schema;
pub mod stats;
pub mod status;

mod wire;

/// Why a Kuma response or an Envoy stats body could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON of the expected shape (wrong type for a known field, or not JSON at all).
    #[error("invalid {what} JSON: {source}")]
    Json {
        /// The type that was being parsed, for the log line.
        what: &'static str,
        /// serde_json's error, which carries the line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A line of an Envoy `/stats` text body is not `name: value`.
    #[error("envoy stats line {line}: expected `name: value`, got {content:?}")]
    StatsLine {
        /// 1-based line number.
        line: usize,
        /// The offending line, truncated to 120 characters.
        content: String,
    },
    /// A JSON stats body (`/stats?format=json`) has neither Envoy's `{"stats": [...]}` shape nor a
    /// flat `{name: number}` map.
    #[error("envoy stats JSON: {0}")]
    StatsJson(String),
}
