//! Bearing's catalog model and its catalog-as-code importer.
//!
//! This crate is pure: it knows the entity model (kinds, references, relations) and turns
//! Backstage `catalog-info.yaml` and Atlassian Compass `compass.yml` files into that model,
//! reporting every problem as `file:line:column: message`. It never touches the database or
//! the network, so the server, the CLI and the tests all share exactly the same rules.

#![deny(missing_docs)]

pub mod import;
pub mod model;

/// The model's items, re-exported so callers can write `bearing_catalog::Entity`.
pub use model::*;
