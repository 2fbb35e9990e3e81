//! Scorecards as admins write them.
//!
//! Admins keep scorecards as YAML files in one directory, loaded and validated at start
//! ([`load_dir`]), exactly as policy templates are (`bearing_policy::templates`): same reader,
//! same bounds, same `select`. See `scorecards/` at the repository root for examples.
//!
//! # File format
//!
//! One scorecard per `.yaml`/`.yml` file (other files and dot-files are skipped):
//!
//! ```yaml
//! name: production-readiness    # required: a DNS label (<= 63 characters), unique
//! title: Production readiness   # required, shown on the pages
//! description: What we expect   # optional
//! select:                       # optional, as in policy templates: every field given must
//!   type: service               #   match, a list means any of; case-insensitive
//!   lifecycle: production       #   (type, lifecycle, tier, tags, system)
//! levels:                       # required, lowest first; a component reaches a level when it
//!   - name: Bronze              #   passes every check of that level and of all lower ones
//!     checks:
//!       - id: owner             # required: a DNS label, unique within the card
//!         title: Has an owner   # required
//!         description: Why      # optional
//!         has_owner: true       # exactly one rule, below
//! ```
//!
//! Rules on the catalog entity:
//!
//! | rule | passes when |
//! |---|---|
//! | `has_owner: true` | `spec.owner` is set |
//! | `has_description: true` | `metadata.description` is set and not blank |
//! | `has_link: {type: runbook}` | a link has that `type` (case-insensitive) |
//! | `lifecycle_in: [production]` | `spec.lifecycle` is one of these (case-insensitive) |
//! | `has_annotation: pagerduty.com/service-id` | the annotation is set and not blank |
//! | `has_tag: pci` | `metadata.tags` has it (case-insensitive) |
//!
//! Rules on the mesh (unknown when the server has no mesh data for the component):
//!
//! | rule | passes when |
//! |---|---|
//! | `mtls_enabled: true` | the component's mesh has mTLS on |
//! | `no_edges_of_class: [declared_denied, will_break]` | none of its edges (as caller or callee) has these classes (`bearing_policy::edges::EdgeClass` names) |
//! | `certificates_valid_for_days: 14` | its dataplane certificates are valid for at least that many more days (1 to 365) |
//!
//! Rules on delivery (unknown when no delivery data is connected):
//!
//! | rule | passes when |
//! |---|---|
//! | `deployed_within_days: 30` | deployed in the last that many days (1 to 3650) |
//! | `change_failure_rate_below: 0.15` | failed deployments / deployments in the last [`crate::CHANGE_FAILURE_WINDOW_DAYS`] days is below this fraction (above 0, at most 1); no deployments in that window fails |
//! | `last_run_succeeded: true` | the last pipeline run succeeded |
//!
//! The flag rules take `true` only: to drop a rule, remove the check.
//!
//! # Bounds
//!
//! Scorecards are admin input, but a mistake (or a hostile file in a shared directory) must not
//! take the server down: a file is at most [`MAX_FILE_BYTES`], a directory at most
//! [`MAX_SCORECARDS`] cards, a card at most [`MAX_LEVELS`] levels and [`MAX_CHECKS`] checks, a
//! document at most [`MAX_DEPTH`] levels deep and [`MAX_NODES`] nodes, with no YAML anchors or
//! aliases. Unknown fields are errors, to catch typos. Every error names the file, the line and
//! the column, and says how to fix it.

mod doc;
mod parse;
mod rule;

pub use parse::{load_dir, parse};

use bearing_policy::edges::EdgeClass;
use bearing_policy::templates::Selector;
use serde::{Deserialize, Serialize};

/// Largest scorecard file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Most scorecards in a directory.
pub const MAX_SCORECARDS: usize = 100;
/// Most levels in a card (a ladder longer than this is not read by anyone).
pub const MAX_LEVELS: usize = 10;
/// Most checks in a card, over all its levels.
pub const MAX_CHECKS: usize = 100;
/// Deepest YAML nesting (the format itself needs 6).
pub const MAX_DEPTH: usize = 8;
/// Most YAML nodes (scalars and collections) in a card.
pub const MAX_NODES: usize = 5_000;
/// Longest level name, title or description, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// A loaded scorecard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Its name (unique; in URLs and the history).
    pub name: String,
    /// What the pages call it.
    pub title: String,
    /// What it is for.
    pub description: Option<String>,
    /// The file it came from, for messages.
    pub file: String,
    /// Which components it applies to (see [`Scorecard::applies_to`]).
    pub selector: Selector,
    /// Its levels, lowest first; never empty.
    pub levels: Vec<Level>,
}

/// One rung of a card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// Its name, e.g. `Silver` (unique within the card, ignoring case).
    pub name: String,
    /// Its checks; never empty.
    pub checks: Vec<Check>,
}

/// One check of a level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Unique within the card (a DNS label), stable across edits, for the history.
    pub id: String,
    /// What the pages call it.
    pub title: String,
    /// Why it matters or how to fix it.
    pub description: Option<String>,
    /// What is checked.
    pub rule: Rule,
}

/// What a check looks at (see the module docs for the YAML of each).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `spec.owner` is set.
    HasOwner,
    /// `metadata.description` is set and not blank.
    HasDescription,
    /// A link of this `type` (compared ignoring case).
    HasLink {
        /// The link type, e.g. `runbook`.
        link_type: String,
    },
    /// `spec.lifecycle` is one of these (compared ignoring case).
    LifecycleIn(Vec<String>),
    /// This annotation is set and not blank.
    HasAnnotation(String),
    /// This tag is present (compared ignoring case).
    HasTag(String),
    /// The mesh has mTLS on.
    MtlsEnabled,
    /// None of the component's edges has one of these classes.
    NoEdgesOfClass(Vec<EdgeClass>),
    /// Certificates valid for at least this many more days.
    CertificatesValidForDays(u32),
    /// Deployed within this many days.
    DeployedWithinDays(u32),
    /// Change failure rate, as a fraction, strictly below this.
    ChangeFailureRateBelow(f64),
    /// The last pipeline run succeeded.
    LastRunSucceeded,
}

impl Rule {
    /// The YAML key of the rule.
    pub fn key(&self) -> &'static str {
        match self {
            Rule::HasOwner => "has_owner",
            Rule::HasDescription => "has_description",
            Rule::HasLink { .. } => "has_link",
            Rule::LifecycleIn(_) => "lifecycle_in",
            Rule::HasAnnotation(_) => "has_annotation",
            Rule::HasTag(_) => "has_tag",
            Rule::MtlsEnabled => "mtls_enabled",
            Rule::NoEdgesOfClass(_) => "no_edges_of_class",
            Rule::CertificatesValidForDays(_) => "certificates_valid_for_days",
            Rule::DeployedWithinDays(_) => "deployed_within_days",
            Rule::ChangeFailureRateBelow(_) => "change_failure_rate_below",
            Rule::LastRunSucceeded => "last_run_succeeded",
        }
    }
}

impl Scorecard {
    /// Every check with the index of its level, lowest level first.
    pub fn checks(&self) -> impl Iterator<Item = (usize, &Check)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(i, level)| level.checks.iter().map(move |c| (i, c)))
    }
}
