//! Access reviews (issue 14 §3, SOC 2 CC6.2–6.3): an admin opens a review of who holds which
//! role (everyone, or one team's roles) with a due date. Each entry, a person's role or an API
//! token, goes to a reviewer who is never its subject: the team's leads for lead roles and team
//! tokens, an admin for admin and auditor roles and other tokens. The reviewer keeps or revokes
//! it with a note; a revoke takes effect at once (a [role override](crate::auth::repo::RoleOverride)
//! and the person's sessions ended, or the token revoked) and is audited. Closing the review
//! signs an attestation over the hash of its entries with the audit signing key.
//!
//! A review also answers the quarterly "mesh access against IdP roles" question: for each Kuma
//! service, who may change its policies and ownership (see [`ServiceAccess`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod attestation;
mod components;
#[cfg(feature = "ssr")]
pub mod evidence;
#[cfg(feature = "ssr")]
mod grants;
#[cfg(feature = "ssr")]
pub mod overrides;
pub mod pages;
/// SQL, for this module's services and the evidence export only.
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// A review as listed: scope, dates and progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewSummary {
    pub id: i64,
    /// `all`, or the reference key of the team whose roles are reviewed.
    #[cfg_attr(feature = "ssr", schema(example = "group:default/team-checkout"))]
    pub scope: String,
    /// `open` or `closed`.
    #[cfg_attr(feature = "ssr", schema(example = "open"))]
    pub status: String,
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "ssr", schema(example = "2026-12-31"))]
    pub due_on: String,
    /// Open past its due date.
    pub overdue: bool,
    pub opened_by: String,
    /// RFC 3339.
    pub opened_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// Entries in the review (only those the caller may see, for a lead).
    pub entries: i64,
    /// Entries decided so far.
    pub decided: i64,
    /// Entries decided `revoke`.
    pub revoked: i64,
    /// Entries nobody but their subject could review; sealed as undecided at close.
    pub unassigned: i64,
}

/// One grant under review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewEntry {
    pub id: i64,
    /// `person` or `token`.
    #[cfg_attr(feature = "ssr", schema(example = "person"))]
    pub kind: String,
    /// `user:<issuer>#<subject>` or `token:<name>`, as the audit log names them.
    pub subject: String,
    /// The person's name and email, or the token's name.
    pub subject_label: String,
    /// `lead`, `auditor`, `admin` (people); any role (tokens).
    #[cfg_attr(feature = "ssr", schema(example = "lead"))]
    pub role: String,
    /// The led team, for leads and team tokens.
    pub team: Option<String>,
    /// How the role was granted: the identity provider's group and the mapping rule, the
    /// `--bootstrap-admin` flag, or who created the token.
    pub granted_via: String,
    /// Last sign-in (people) or use (tokens), RFC 3339.
    pub last_seen_at: Option<String>,
    /// Who decides: `team_leads` (any lead of `team` but the subject), `admins` (any admin but
    /// the subject) or `unassigned` (nobody but the subject could).
    #[cfg_attr(feature = "ssr", schema(example = "team_leads"))]
    pub reviewer: String,
    /// `keep` or `revoke`; none while undecided.
    pub decision: Option<String>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// Whether the caller may decide this entry now.
    pub may_decide: bool,
}

/// A Kuma service and who could change its policies and ownership when the review opened.
///
/// This is a read-only section of the review rather than entries of their own: the power to
/// change a service's policies and ownership *is* the lead role of its owning team (or admin),
/// which the review's person and token entries already put to a reviewer. Deciding the same
/// grant twice, once per service, could only disagree with itself; revoking the lead entry
/// removes the access to every service of the team at once. The table shows, per service, what
/// those entries amount to in the mesh, and goes into the bundle beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceAccess {
    pub control_plane: String,
    pub mesh: String,
    pub service: String,
    /// The catalog component claiming the service, if any.
    pub component: Option<String>,
    /// The component's owner (a team), if any.
    pub owner: Option<String>,
    /// The owner's leads (people and lead tokens), besides every admin.
    pub leads: Vec<String>,
}

/// The signed attestation of a closed review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttestationView {
    /// The canonical JSON document, exactly the bytes signed.
    pub document: String,
    /// The Ed25519 signature over `document`, 128 hex digits.
    pub signature: String,
    /// SHA-256 of the signing key's raw public key (as on `/admin` and in `VERIFY.md`).
    pub key_fingerprint: String,
}

/// A review with its entries, as the caller may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewDetail {
    pub review: ReviewSummary,
    /// Entries the caller may decide come first, then the others by reviewer.
    pub entries: Vec<ReviewEntry>,
    /// Who may change each mesh service's policies and ownership.
    pub services: Vec<ServiceAccess>,
    /// Closed reviews only.
    pub attestation: Option<AttestationView>,
    /// Whether the caller may close the review now (an admin, every assigned entry decided).
    pub may_close: bool,
}

/// What an admin asks for when opening a review.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenReviewRequest {
    /// `all` (the default) or a team: `team-checkout` or `group:default/team-checkout`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "all"))]
    pub scope: Option<String>,
    /// The due date, `YYYY-MM-DD`, today or later.
    #[cfg_attr(feature = "ssr", schema(example = "2026-12-31"))]
    pub due_on: String,
}

/// A reviewer's decision on one entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `keep` or `revoke`.
    #[cfg_attr(feature = "ssr", schema(example = "revoke"))]
    pub decision: String,
    /// Why; required for a revoke.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "moved to another team in October"))]
    pub note: Option<String>,
}

/// A role taken from a person by a review's revoke (or an admin), in force until lifted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoleOverrideView {
    pub id: i64,
    /// `user:<issuer>#<subject>`.
    pub subject: String,
    pub subject_label: String,
    pub role: String,
    pub team: Option<String>,
    pub reason: String,
    /// The review entry whose revoke made it, if any.
    pub review_entry_id: Option<i64>,
    pub created_by: String,
    pub created_at: String,
}

/// The page's link to a review.
pub fn review_href(id: i64) -> String {
    format!("/access-reviews/{id}")
}
