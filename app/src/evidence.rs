//! Evidence for auditors (issue 14): a SOC 2 evidence bundle for a period, as a signed zip that
//! anyone can check with stock tools (`sha256sum`, `openssl`, `python3`).
//!
//! The bundle's format (files, checksums, signature, audit chain checker, sampling rule) belongs
//! to `crates/evidence`; this domain decides what goes in it: the populations "as of" the end of
//! the period, the changes within it, the mesh state over it, and the exceptions a reviewer
//! would flag. [`service`] checks who asks and records the export in the audit log; [`export`]
//! streams the bundle from one consistent database snapshot; [`snapshot`] keeps the daily mesh
//! state that the live tables forget.

pub mod pages;

#[cfg(feature = "ssr")]
mod audit_files;
#[cfg(feature = "ssr")]
mod change_files;
#[cfg(feature = "ssr")]
mod exceptions;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
mod mesh_files;
#[cfg(feature = "ssr")]
mod people;
#[cfg(feature = "ssr")]
pub mod period;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
mod report;
#[cfg(feature = "ssr")]
mod review_files;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
mod sessions;
#[cfg(feature = "ssr")]
pub mod sink;
#[cfg(feature = "ssr")]
pub mod snapshot;

use serde::{Deserialize, Serialize};

/// What to export: `GET /api/v1/evidence`, the `/evidence` form and `bearing evidence export`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct EvidenceQuery {
    /// Start of the period (included): a date (midnight UTC) or an RFC 3339 time.
    #[cfg_attr(feature = "ssr", param(example = "2026-10-01"))]
    pub from: Option<String>,
    /// End of the period (excluded): a date or an RFC 3339 time, at most a day from now.
    #[cfg_attr(feature = "ssr", param(example = "2027-01-01"))]
    pub to: Option<String>,
    /// The seed samples are drawn with; chosen by the auditor so nobody can pick the sample.
    /// Without one, the period itself (`FROM..TO`) is the seed.
    pub sample_seed: Option<String>,
}

/// What the `/evidence` page shows besides the form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceOverview {
    /// The signing key's id (first 16 hex digits of its fingerprint).
    pub key_id: String,
    /// SHA-256 of the raw public key: compare it out of band with `signing-key.pub.pem`.
    pub fingerprint: String,
    /// The latest exports, newest first, from the audit log.
    pub recent: Vec<PastExport>,
}

/// One export as the audit log recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastExport {
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub sample_seed: Option<String>,
}
