//! Collects entities and problems across every source, then runs the checks that need the
//! whole import at once: Compass id resolution and duplicate entities.
//!
//! Problems are gathered rather than returned early because the user fixes a catalog in one
//! go only if they see every problem in one go.

use std::collections::HashMap;
use std::time::Instant;

use super::fields::{Ctx, Problems};
use super::{backstage, compass, yaml, ImportSet, KnownIds, Limits, LocationSpec, Parsed};
use crate::model::{Position, Problem};

/// Entities and problems gathered so far.
pub(crate) struct Collector {
    pub(crate) limits: Limits,
    parsed: Vec<Parsed>,
    errors: Problems,
    warnings: Problems,
    sources: Vec<String>,
}

impl Collector {
    /// An empty collector reading within `limits`.
    pub(crate) fn new(limits: &Limits) -> Self {
        Collector {
            limits: limits.clone(),
            parsed: Vec::new(),
            errors: Problems::default(),
            warnings: Problems::default(),
            sources: Vec::new(),
        }
    }

    /// Reads every document of one source. `label` names it in messages, `source` is recorded
    /// on its entities. Returns the `Location`s found, for the caller to follow or refuse.
    pub(crate) fn add_source(&mut self, label: &str, source: &str, text: &str) -> Vec<LocationSpec> {
        self.sources.push(source.to_owned());
        let compass_file = compass::is_compass_file(label);
        let (documents, syntax_error) = yaml::parse_stream(text, Instant::now() + self.limits.max_parse_time);
        let mut ctx = Ctx {
            file: label,
            errors: &mut self.errors,
            warnings: &mut self.warnings,
        };
        let mut locations = Vec::new();
        for root in documents.into_iter().filter_map(|d| d.root) {
            let parsed = if root.entries().is_none() {
                ctx.error(
                    &root,
                    format!(
                        "a catalog document must be a mapping (apiVersion, kind, metadata, spec), found {}",
                        root.shape()
                    ),
                );
                None
            } else if root.get("apiVersion").is_some() {
                backstage::parse_entity(&mut ctx, &root, source)
            } else if compass_file || compass::looks_like_compass(&root) {
                compass::parse_component(&mut ctx, &root, source)
            } else if root.get("kind").is_some() {
                ctx.error(&root, "missing `apiVersion`; add `apiVersion: backstage.io/v1alpha1`");
                None
            } else {
                ctx.error(
                    &root,
                    "not a catalog entity: missing `apiVersion` and `kind` (Backstage) and no `configVersion` or `typeId` (Compass)",
                );
                None
            };
            if let Some(mut parsed) = parsed {
                locations.extend(parsed.location.take());
                self.parsed.push(parsed);
            }
        }
        if let Some(e) = syntax_error {
            let position = ctx.pos_at(e.line, e.col);
            ctx.errors.push(Problem {
                position,
                message: e.message,
            });
        }
        locations
    }

    /// Records an error found outside a document (I/O, limits, Location following).
    pub(crate) fn error(&mut self, position: Position, message: impl Into<String>) {
        self.errors.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// Records a warning found outside a document.
    pub(crate) fn warn(&mut self, position: Position, message: impl Into<String>) {
        self.warnings.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// Resolves Compass ids, checks for duplicates, and returns the set or every problem.
    pub(crate) fn finish(mut self, known: &KnownIds) -> Result<ImportSet, Vec<Problem>> {
        compass::resolve(&mut self.parsed, known);
        let mut first_seen: HashMap<String, Position> = HashMap::new();
        for p in &self.parsed {
            let key = p.entity.entity_ref().key();
            match first_seen.get(&key) {
                Some(first) => self.errors.push(Problem {
                    position: p.entity.position.clone(),
                    message: format!("duplicate entity {key}: also defined at {first}; define each entity once (rename or remove one)"),
                }),
                None => {
                    first_seen.insert(key, p.entity.position.clone());
                }
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors.into_sorted());
        }
        Ok(ImportSet {
            entities: self.parsed.into_iter().map(|p| p.entity).collect(),
            warnings: self.warnings.into_sorted(),
            sources: self.sources,
        })
    }
}
