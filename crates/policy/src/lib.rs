//! Bearing's mesh-policy rules, without talking to Kuma or the database.
//!
//! Issue 12 asks three questions of the catalog and the mesh together, and the server, the pages
//! and the tests must all get the same answers, so the answers live in one pure crate (no HTTP, no
//! database, no clock: times are passed in):
//!
//! - [`edges`]: what is wrong with a caller→callee edge, comparing what the catalog declares, what
//!   the proxies observed and what Kuma's MeshTrafficPermissions permit (one [`edges::EdgeClass`]
//!   per edge, worst first); and where a dataplane's team label drifted from the catalog owner.
//! - [`generate`]: the MeshTrafficPermission that lets in exactly a provider's declared consumers,
//!   with an optional shadow phase, its YAML for both Kuma modes, a diff against what is applied,
//!   and who would be denied or let in if it were applied.
//! - [`templates`]: admin-written templates that turn catalog metadata (type, lifecycle, tier,
//!   tags, system) into MeshTimeout, MeshRetry, MeshAccessLog and MeshMetric policies.
//! - [`yaml`]: the bounded YAML reader the templates (and `bearing-scorecards`) are read with,
//!   and the deterministic writer for proposals.
//!
//! Every generated resource is a [`Proposal`]: Kuma's `<Kind>Item` shape (`type`, `mesh`, `name`,
//! `labels`, `spec`), a name Kuma and Kubernetes accept ([`names`]), and a `bearing.dev/spec-hash`
//! label ([`spec_hash`]) so the server can tell whether what is applied is still what Bearing
//! would write.

#![deny(missing_docs)]

pub mod edges;
pub mod generate;
pub mod names;
pub mod templates;
pub mod yaml;

mod canonical;
mod resource;

pub use canonical::{canonical_json, spec_hash};
pub use generate::diff;
pub use resource::{
    kubernetes_yaml, resource_json, universal_yaml, Proposal, COMPONENT_LABEL, KUBERNETES_NAMESPACE, SPEC_HASH_LABEL,
    TEMPLATE_LABEL,
};

/// Why a proposal could not be generated or a template could not be loaded. One type for the
/// crate: the server maps every case to a 4xx (bad input) or to a start-up failure (templates).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A consumer's (or the provider's) SPIFFE ID is not one Kuma would accept in a matcher
    /// (`mesh.ValidateMatch` parses it with go-spiffe's `spiffeid.FromString`).
    #[error("service `{service}` has SPIFFE ID {value:?}, which Kuma refuses: {reason}")]
    InvalidSpiffeId {
        /// The Kuma service whose ID it is.
        service: String,
        /// The ID as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The provider's top-level selector would not select the provider's own dataplanes.
    #[error("the dataplane selector {selector} does not match the labels of `{service}`'s dataplanes; pick labels every one of its dataplanes carries, or select by `kuma.io/service`")]
    SelectorMissesProvider {
        /// The Kuma service of the provider.
        service: String,
        /// The selector, as `key=value,...`.
        selector: String,
    },
    /// A shadow phase in the `rules[]` form needs a trust domain to match "everyone else".
    #[error("shadow phase: trust domain {0:?} is not a valid SPIFFE trust domain (lower-case letters, digits, `.`, `-`, `_`)")]
    InvalidTrustDomain(String),
    /// A template file or directory is unusable: which file, what is wrong and how to fix it.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The file (or directory) concerned.
        file: String,
        /// 1-based line, when the problem has one.
        line: Option<usize>,
        /// What is wrong, naming the field, and the fix.
        message: String,
    },
    /// Reading the template directory failed.
    #[error("reading policy templates at {path}: {source}")]
    Io {
        /// The path being read.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A generated spec did not read back as Kuma's model: a bug in Bearing, never bad input.
    #[error("generated {kind} `{name}` does not parse as Kuma's model: {source}")]
    Model {
        /// Resource kind.
        kind: &'static str,
        /// Resource name.
        name: String,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
}
