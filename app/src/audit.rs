//! The audit log: every state change, who made it and why, in a hash chain with signed
//! checkpoints (see crates/audit for the format). Admins and auditors read it here.

pub mod api;
pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// One row of the audit log, as shown and exported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub actor_kind: String,
    /// For a person (`user:<issuer>#<subject>`): their name and email as last signed in, for
    /// display only; the actor is what identifies them.
    #[serde(default)]
    pub actor_display: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// Hex SHA-256 of this row (chained to the previous one).
    pub hash: String,
}

/// Filters of the audit list (`GET /api/v1/audit` and the audit page). Times are RFC 3339.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// RFC 3339 time or date (inclusive).
    #[cfg_attr(feature = "ssr", param(example = "2026-01-01"))]
    pub from: Option<String>,
    /// RFC 3339 time or date (exclusive).
    pub to: Option<String>,
    /// Substring of the actor.
    pub actor: Option<String>,
    /// Prefix of the action, e.g. `transfer`.
    #[cfg_attr(feature = "ssr", param(example = "transfer"))]
    pub action: Option<String>,
    /// Substring of the target.
    pub target: Option<String>,
    /// Entries per page, 1-500 (default 50).
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    /// Continue below this sequence number (from `next_cursor`).
    pub cursor: Option<String>,
}

/// A page of audit entries, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The result of walking the whole chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub ok: bool,
    pub entries: u64,
    pub head_seq: i64,
    /// Hex hash of the newest row (empty when not ok). `head_seq:head_hash` is the head to
    /// record outside the database and check later (`bearing audit verify --expect-head`).
    pub head_hash: String,
    pub checkpoints_verified: u64,
    pub last_checkpoint_seq: Option<i64>,
    /// Recorded heads the chain was checked against and still reaches.
    pub heads_reached: u64,
    /// When not ok: the first row that does not verify, and why.
    pub problem: Option<String>,
    /// The key checkpoints are verified with.
    pub key_id: String,
    /// SHA-256 of that key's raw public key, 64 hex digits.
    pub key_fingerprint: String,
}

/// The public half of the audit signing key, for admins and auditors to compare with the copy
/// an auditor holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKeyInfo {
    pub key_id: String,
    /// SHA-256 of the raw public key, 64 hex digits.
    pub fingerprint: String,
    /// SPKI PEM, as in the key file's `.pub` companion.
    pub public_key_pem: String,
}
