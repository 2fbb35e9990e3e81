//! Kuma policies from catalog metadata, by admin-written templates.
//!
//! Platform teams want "every tier-1 service gets these timeouts" without writing one policy per
//! service. Admins keep templates as YAML files in one directory (`--policy-templates DIR`),
//! loaded and validated at start ([`load_dir`]); [`for_component`] renders the templates whose
//! selector matches a component into proposals, with the top-level `targetRef` filled in to the
//! component's dataplanes exactly as [`crate::generate`] does ([`DataplaneSelector`]).
//!
//! # File format
//!
//! One template per `.yaml`/`.yml` file (other files and dot-files are skipped; see
//! `examples/policy-templates/` at the repository root):
//!
//! ```yaml
//! name: timeouts-tier1          # required: a DNS label, single dashes, <= 24 characters, unique
//! description: Tight timeouts   # optional, shown beside the proposals
//! select:                       # optional: every field given must match (absent: all match)
//!   type: service               #   a value, or a list meaning "any of"; case-insensitive
//!   lifecycle: [production, experimental]
//!   tier: 1                     #   annotation `compass.atlassian.com/tier`, else `labels.tier`
//!   tags: [payments, pci]       #   matches when the component has any of these tags
//!   system: checkout            #   a system's name or full ref (`system:default/checkout`)
//! policy:
//!   kind: MeshTimeout           # MeshTimeout | MeshRetry | MeshAccessLog | MeshMetric
//!   spec:                       # Kuma's spec for that kind, without the top-level targetRef
//!     to:
//!       - targetRef: {kind: Mesh}
//!         default: {http: {requestTimeout: 5s}}
//! ```
//!
//! The spec's top-level sections are checked against Kuma 2.14's `<Kind>Item.spec` (OpenAPI
//! `kuma-v2.14.3-openapi.yaml`): MeshTimeout `from`/`to`/`rules`, MeshRetry `to`, MeshAccessLog
//! `from`/`to`/`rules`, MeshMetric `default`; the sections' contents are Kuma's to validate.
//!
//! # Bounds
//!
//! Templates are admin input, but a mistake (or a hostile file in a shared directory) must not
//! take the server down: a file is at most [`MAX_FILE_BYTES`], a directory at most
//! [`MAX_TEMPLATES`] templates, a document at most [`MAX_DEPTH`] levels and [`MAX_NODES`] nodes,
//! with no YAML anchors or aliases. Unknown fields are errors, to catch typos.

mod parse;
mod select;

pub use parse::{load_dir, parse, parse_selector};
pub use select::{for_component, tier_of, CatalogFields, ComponentMeta, TemplatePolicy, COMPASS_TIER_ANNOTATION};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::generate::DataplaneSelector;

/// Largest template file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Most templates in a directory.
pub const MAX_TEMPLATES: usize = 200;
/// Deepest YAML nesting in a template (Kuma's deepest specs are about 10 levels).
pub const MAX_DEPTH: usize = 24;
/// Most YAML nodes (scalars and collections) in a template.
pub const MAX_NODES: usize = 5_000;

/// The Kuma policy kinds a template may produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Timeouts (`spec.from`, `spec.to`, `spec.rules`).
    MeshTimeout,
    /// Retries (`spec.to`).
    MeshRetry,
    /// Access logs (`spec.from`, `spec.to`, `spec.rules`).
    MeshAccessLog,
    /// Metrics (`spec.default`).
    MeshMetric,
}

impl PolicyKind {
    /// Every kind.
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::MeshTimeout,
        PolicyKind::MeshRetry,
        PolicyKind::MeshAccessLog,
        PolicyKind::MeshMetric,
    ];

    /// Kuma's resource type name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::MeshTimeout => "MeshTimeout",
            PolicyKind::MeshRetry => "MeshRetry",
            PolicyKind::MeshAccessLog => "MeshAccessLog",
            PolicyKind::MeshMetric => "MeshMetric",
        }
    }

    /// The kind named `name` (exact spelling, as Kuma's `type`).
    pub fn from_name(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The spec's top-level sections besides `targetRef` (Kuma 2.14 `<Kind>Item.spec`).
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            PolicyKind::MeshTimeout | PolicyKind::MeshAccessLog => &["from", "to", "rules"],
            PolicyKind::MeshRetry => &["to"],
            PolicyKind::MeshMetric => &["default"],
        }
    }
}

/// Which components a template applies to. Empty lists match everything; a non-empty list
/// matches when any of its values does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Component `spec.type` values.
    pub types: Vec<String>,
    /// `spec.lifecycle` values.
    pub lifecycles: Vec<String>,
    /// Tier values (see [`tier_of`]).
    pub tiers: Vec<String>,
    /// Tags, any of which the component must carry.
    pub tags: Vec<String>,
    /// Systems, by name or reference.
    pub systems: Vec<String>,
}

/// A loaded template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Its name (unique; part of every policy name it produces).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The file it came from, for messages.
    pub file: String,
    /// Which components it applies to.
    pub selector: Selector,
    /// The policy kind.
    pub kind: PolicyKind,
    /// The spec without the top-level `targetRef`.
    pub spec: Value,
}
