//! Catalog-as-code import: Backstage `catalog-info.yaml` and Compass `compass.yml`.
//!
//! An import is all-or-nothing: every file is read and checked, and if anything is wrong the
//! caller gets *every* problem (sorted by file, line and column) and nothing is imported, so a
//! half-valid catalog never lands. Warnings (unknown fields and the like) do not stop it.
//!
//! Errors: invalid YAML (at the parser's position), a document that is not a mapping, missing
//! or unsupported `apiVersion`, missing or unknown `kind`, missing `metadata.name`, invalid
//! names, namespaces and references (at the value), wrongly shaped fields, duplicate entities
//! (compared by [`EntityRef::key`]), files that are not UTF-8, anything over the [`Limits`],
//! and for `Location`s: URL targets, targets outside the imported tree, missing targets and
//! cycles. Warnings: unknown fields (kept in `spec`), unsupported Compass relationship types,
//! globs matching nothing, missing `presence: optional` targets, and links that are not http,
//! https or mailto URLs (dropped).
//!
//! Hostile files are bounded: a file over [`Limits::max_file_bytes`] is not read, and each file
//! is limited *as expanded* (aliases repeated), to a million nodes, 64 levels of nesting and
//! 16 MiB of text repeated by aliases, and to [`Limits::max_parse_time`] of reading. Memory
//! follows the node budget, not the byte count, and nothing deep enough to overflow a stack
//! is ever built. Callers should still run an import on a blocking thread: it is CPU work.
//!
//! The work is split by concern:
//! - `yaml`: a YAML tree whose nodes know their line and column;
//! - `fields`: typed readers that report mistakes where they were written;
//! - `backstage` and `compass`: the two formats, mapped to [`Entity`];
//! - `collect`: the checks that need the whole import (duplicates, Compass id resolution);
//! - `files`: walking directories, following `Location` entities, size and encoding limits.
//!
//! Two entry points share all of it: [`import_paths`] for files on disk (the CLI, a scheduled
//! job) and [`import_documents`] for one YAML stream (the HTTP API body).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Entity, EntityRef, Position, Problem, Relation};

mod backstage;
mod collect;
mod compass;
mod fields;
mod files;
mod yaml;

#[cfg(test)]
mod tests;

pub use compass::{
    to_entity_name, ID_ANNOTATION as COMPASS_ID_ANNOTATION, OWNER_ID_ANNOTATION as COMPASS_OWNER_ID_ANNOTATION,
    TEAM_ID_ANNOTATION as COMPASS_TEAM_ID_ANNOTATION, TIER_ANNOTATION as COMPASS_TIER_ANNOTATION,
    UNRESOLVED_NAMESPACE as COMPASS_UNRESOLVED_NAMESPACE,
};

/// The default largest file (or HTTP body) an import reads, in bytes: 16 MiB. The catalog
/// files of Backstage's own catalog benchmark (2,500 components) are 1.1 MB; what bounds the
/// work is the node budget, and this only spares reading what cannot fit in it.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 << 20;

/// How much an import reads. The structural limits (nodes, depth, aliases) are fixed; these
/// two are the deployment's to choose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file or HTTP body read, in bytes; bigger ones are refused unread.
    pub max_file_bytes: u64,
    /// Longest time reading one file may take before it is refused. Reading is linear in the
    /// file, so only a parser bug should ever reach this; it is the backstop that stops a
    /// blocking thread that no request timeout can cancel.
    pub max_parse_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_parse_time: Duration::from_secs(20),
        }
    }
}

/// Compass ids already present in the catalog (from earlier imports), so a Compass file's
/// `ownerId` and `relationships.DEPENDS_ON` resolve even when the target is not in this import.
#[derive(Clone, Debug, Default)]
pub struct KnownIds {
    /// annotation `compass.atlassian.com/id` -> the entity carrying it.
    pub compass_components: HashMap<String, EntityRef>,
    /// annotation `compass.atlassian.com/team-id` -> the Group carrying it.
    pub compass_teams: HashMap<String, EntityRef>,
}

/// A successful import: every entity found, and warnings that did not stop it.
#[derive(Clone, Debug, Default)]
pub struct ImportSet {
    /// Every entity found, `Location` entities included, in the order they were read.
    pub entities: Vec<Entity>,
    /// Problems that did not stop the import (unknown fields, globs matching nothing), sorted.
    pub warnings: Vec<Problem>,
    /// Every source read (canonical file paths, or the name given to [`import_documents`]).
    pub sources: Vec<String>,
}

/// Imports files and directories (recursing into directories for `*.yaml`/`*.yml`).
///
/// Directories are walked in sorted order, skipping hidden entries and `node_modules`.
/// `Location` entities are followed (relative targets resolve against the Location's file;
/// `*` globs in the last segment are allowed) as long as their targets stay inside the tree
/// being imported: the directories given, or the directory of each file given. A file reached
/// twice is read once. URL targets are refused: an import never reads the network.
///
/// # Errors
/// Every problem in every file, sorted by position; see the module docs for what counts.
pub fn import_paths(paths: &[PathBuf], known: &KnownIds, limits: &Limits) -> Result<ImportSet, Vec<Problem>> {
    files::import_paths(paths, known, limits)
}

/// Imports one YAML stream given directly (the HTTP API body). `source` names it in messages
/// and is the `source` of its entities. A file named `compass.yml`/`compass.yaml` is read as
/// Compass even without `configVersion`. `Location` entities with targets are refused, since
/// there is no tree to follow them in.
///
/// # Errors
/// Every problem found, sorted by position.
pub fn import_documents(
    source: &str,
    yaml: &str,
    known: &KnownIds,
    limits: &Limits,
) -> Result<ImportSet, Vec<Problem>> {
    let mut collector = collect::Collector::new(limits);
    let len = yaml.len() as u64;
    if len > limits.max_file_bytes {
        collector.error(
            Position {
                file: source.to_owned(),
                line: 1,
                column: 1,
            },
            files::too_large(len, limits.max_file_bytes),
        );
        return collector.finish(known);
    }
    for location in collector.add_source(source, source, yaml) {
        if !location.targets.is_empty() {
            collector.error(
                location.position,
                format!(
                    "Location `{}` has targets, which cannot be followed in an uploaded document; \
                     run `bearing import PATH` on the checked-out files instead",
                    location.name
                ),
            );
        }
    }
    collector.finish(known)
}

/// One document turned into an entity, with what the whole-import passes still need.
#[derive(Debug)]
struct Parsed {
    entity: Entity,
    /// Set for `Location` entities: what to follow.
    location: Option<LocationSpec>,
    /// Set for Compass components: ids resolved once the whole import is read.
    compass: Option<compass::CompassRefs>,
}

/// The part of a `Location` entity that says which files to read next.
#[derive(Clone, Debug)]
struct LocationSpec {
    /// `metadata.name`, for messages.
    name: String,
    /// Where the entity is.
    position: Position,
    /// `spec.type` (`file` when absent) and where it was written.
    location_type: Option<(String, Position)>,
    /// `spec.target` and `spec.targets`, each with where it was written.
    targets: Vec<(String, Position)>,
    /// `spec.presence: optional`: a missing target is not an error.
    optional: bool,
}

/// Adds a relation unless an identical one (comparing references case-insensitively, as
/// Backstage and the stored keys do) is already there.
fn push_relation(relations: &mut Vec<Relation>, relation: Relation) {
    let same = |r: &Relation| {
        r.kind == relation.kind && r.source.key() == relation.source.key() && r.target.key() == relation.target.key()
    };
    if !relations.iter().any(same) {
        relations.push(relation);
    }
}
