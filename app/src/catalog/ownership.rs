//! Editing ownership and a few fields in Bearing: team leads edit their team's entities and
//! move them to other teams (the receiving lead accepts); admins transfer directly. Entities
//! come from catalog-as-code files, so every edit is kept as an *override* next to what the
//! file says, until a later import agrees with it.

pub mod api;
pub mod components;
pub mod pages;
/// SQL, for this crate's services only: the server reads through the services, which check
/// the caller.
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// Kinds whose ownership and fields can be edited.
pub const EDITABLE_KINDS: [&str; 4] = ["component", "api", "resource", "system"];

/// A request to move an entity to another team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransferView {
    pub id: i64,
    /// The entity's reference key.
    #[cfg_attr(feature = "ssr", schema(example = "component:default/checkout"))]
    pub entity: String,
    #[cfg_attr(feature = "ssr", schema(example = "group:default/team-checkout"))]
    pub from: Option<String>,
    #[cfg_attr(feature = "ssr", schema(example = "group:default/team-payments"))]
    pub to: String,
    pub reason: String,
    pub requested_by: String,
    /// `pending`, `accepted`, `rejected` or `cancelled` (the entity changed owner meanwhile).
    #[cfg_attr(feature = "ssr", schema(example = "pending"))]
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
}

/// The answer to a transfer request: applied at once (admins) or waiting for the receiving lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransferOutcome {
    pub applied: bool,
    pub transfer: TransferView,
}

/// A link as edited (`PATCH` body and the edit form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkInput {
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// Fields a lead may change (`PATCH /api/v1/entities/...`). Absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntityPatch {
    pub lifecycle: Option<String>,
    pub description: Option<String>,
    pub links: Option<Vec<LinkInput>>,
    /// Why (optional for field edits; kept in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A field edited in Bearing while the source file says otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub field: String,
    /// What Bearing shows, as text.
    pub value: String,
    /// What the source file says, as text (`(none)` when it has no value).
    pub source_value: String,
    pub edited_by: String,
    pub edited_at: String,
    /// The file to change, when known.
    pub source: Option<String>,
    /// The YAML to put in that file so it agrees with Bearing.
    pub yaml: String,
}

/// What the caller may do on an entity page, and its edits and pending transfer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditState {
    pub can_edit: bool,
    pub can_transfer: bool,
    /// Admins transfer without the receiving lead's acceptance.
    pub transfers_directly: bool,
    pub overrides: Vec<OverrideView>,
    pub pending_transfer: Option<TransferView>,
    /// Teams (Group reference keys and titles) an entity can be moved to.
    pub teams: Vec<(String, String)>,
}
