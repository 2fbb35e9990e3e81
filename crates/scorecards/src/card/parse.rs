//! Reading and validating scorecard files.

use super::doc::{child, fail, Doc};
use super::rule::{known_check_fields, parse_rule};
use super::{Check, Level, Scorecard, MAX_CHECKS, MAX_DEPTH, MAX_FILE_BYTES, MAX_LEVELS, MAX_NODES, MAX_SCORECARDS};
use crate::Error;
use bearing_policy::names::{is_valid_resource_name, MAX_NAME_LEN};
use bearing_policy::templates::{parse_selector, Selector};
use bearing_policy::yaml::files::{read_text, yaml_files, DirError, ReadError};
use bearing_policy::yaml::{from_yaml_with_positions, Limits, Position};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const TOP_FIELDS: [&str; 5] = ["name", "title", "description", "select", "levels"];
const LEVEL_FIELDS: [&str; 2] = ["name", "checks"];
/// The fields of a check besides its rule.
pub(super) const CHECK_FIELDS: [&str; 3] = ["id", "title", "description"];

/// Loads every `.yaml`/`.yml` file directly in `dir` (dot-files and other files are skipped,
/// subdirectories are not read), sorted by scorecard name. Fails on the first bad file, on more
/// than [`MAX_SCORECARDS`] cards, and on two cards with one name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scorecard>, Error> {
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let paths = yaml_files(dir, MAX_SCORECARDS).map_err(|e| match e {
        DirError::Io(source) => io(source),
        DirError::TooMany => fail(
            &dir.display().to_string(),
            None,
            format!("more than {MAX_SCORECARDS} scorecard files; merge cards that select the same components"),
        ),
    })?;
    let mut by_name: BTreeMap<String, Scorecard> = BTreeMap::new();
    for path in paths {
        let file = path.display().to_string();
        let text = read_bounded(&path, &file)?;
        let card = parse(&file, &text)?;
        if let Some(other) = by_name.get(&card.name) {
            return Err(fail(
                &file,
                None,
                format!(
                    "scorecard name `{}` is already used by {}; give each scorecard its own name",
                    card.name, other.file
                ),
            ));
        }
        by_name.insert(card.name.clone(), card);
    }
    Ok(by_name.into_values().collect())
}

fn too_large(file: &str) -> Error {
    fail(
        file,
        None,
        format!(
            "larger than {} KiB; split the card into several with their own `select`",
            MAX_FILE_BYTES / 1024
        ),
    )
}

/// Reads at most [`MAX_FILE_BYTES`] (+1, to tell an oversized file) without trusting metadata.
fn read_bounded(path: &Path, file: &str) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: file.to_string(),
        source,
    };
    read_text(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(source) => io(source),
        ReadError::TooLarge => too_large(file),
        ReadError::NotUtf8 => fail(file, None, "not UTF-8 text; save the file as UTF-8"),
    })
}

/// Parses one scorecard; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scorecard, Error> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(file));
    }
    let limits = Limits {
        max_depth: MAX_DEPTH,
        max_nodes: MAX_NODES,
    };
    let (root, positions) = from_yaml_with_positions(text, limits).map_err(|e| {
        let at = Position {
            line: e.line,
            column: e.column,
        };
        fail(file, Some(at), e.message)
    })?;
    let doc = Doc {
        file,
        positions: &positions,
    };
    let top = doc.object(&root, "", "a mapping with `name`, `title` and `levels`")?;
    doc.known_fields(top, "", &TOP_FIELDS)?;
    let name = doc
        .text(top, "", "name", "`name: production-readiness`")?
        .unwrap_or_default();
    if !is_valid_resource_name(&name) {
        return Err(doc.fail_value(
            "/name",
            format!(
                "`name: {name}` must be lower-case letters, digits and dashes, starting and ending with a \
                 letter or digit, at most {MAX_NAME_LEN} characters, e.g. `production-readiness`"
            ),
        ));
    }
    let title = doc
        .text(top, "", "title", "`title: Production readiness`")?
        .unwrap_or_default();
    let description = doc.optional_text(top, "", "description")?;
    let selector = match top.get("select") {
        None | Some(Value::Null) => Selector::default(),
        Some(value) => doc.selector(value)?,
    };
    let levels = doc.levels(top)?;
    Ok(Scorecard {
        name,
        title,
        description,
        file: file.to_string(),
        selector,
        levels,
    })
}

impl Doc<'_> {
    /// `select`, read by the policy templates' own parser. That parser works on JSON and so
    /// cannot say where a problem is; each field is read on its own first so an error points at
    /// the field's line.
    fn selector(&self, value: &Value) -> Result<Selector, Error> {
        let map = self.object(
            value,
            "/select",
            "a mapping with any of type, lifecycle, tier, tags, system",
        )?;
        let message = |e: bearing_policy::Error| match e {
            bearing_policy::Error::Template { message, .. } => message,
            other => other.to_string(),
        };
        for (key, field) in map {
            let one = Value::Object(Map::from_iter([(key.clone(), field.clone())]));
            parse_selector(self.file, &one).map_err(|e| self.fail_key(&child("/select", key), message(e)))?;
        }
        parse_selector(self.file, value).map_err(|e| self.fail_value("/select", message(e)))
    }

    fn levels(&self, top: &Map<String, Value>) -> Result<Vec<Level>, Error> {
        let items = match top.get("levels") {
            Some(Value::Array(items)) if !items.is_empty() => items,
            None => {
                return Err(self.fail_value(
                    "",
                    "`levels` is missing; add `levels: [{name: Bronze, checks: [...]}]`, lowest level first",
                ))
            }
            Some(_) => {
                return Err(self.fail_value(
                    "/levels",
                    "`levels` must be a non-empty list of `{name, checks}`, lowest level first",
                ))
            }
        };
        if items.len() > MAX_LEVELS {
            return Err(self.fail_value(
                &format!("/levels/{MAX_LEVELS}"),
                format!("more than {MAX_LEVELS} levels; merge levels, nobody climbs a ladder this long"),
            ));
        }
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let mut levels = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let pointer = format!("/levels/{i}");
            let map = self.object(item, &pointer, "a mapping with `name` and `checks`")?;
            self.known_fields(map, &pointer, &LEVEL_FIELDS)?;
            let name = self.text(map, &pointer, "name", "`name: Bronze`")?.unwrap_or_default();
            if !names.insert(name.to_lowercase()) {
                return Err(self.fail_value(
                    &child(&pointer, "name"),
                    format!("level name `{name}` is used twice in this card; give each level its own name"),
                ));
            }
            let checks = match map.get("checks") {
                Some(Value::Array(checks)) if !checks.is_empty() => checks,
                _ => {
                    return Err(self.fail_value(
                        &child(&pointer, "checks"),
                        format!(
                            "level `{name}` needs `checks`, a non-empty list of `{{id, title, <rule>}}`; \
                             a level without checks would be reached for free"
                        ),
                    ))
                }
            };
            let mut parsed = Vec::with_capacity(checks.len());
            for (j, check) in checks.iter().enumerate() {
                let pointer = format!("{pointer}/checks/{j}");
                if ids.len() >= MAX_CHECKS {
                    return Err(self.fail_value(
                        &pointer,
                        format!("more than {MAX_CHECKS} checks in this card; split it into several cards"),
                    ));
                }
                let check = self.check(check, &pointer)?;
                if !ids.insert(check.id.clone()) {
                    return Err(self.fail_value(
                        &child(&pointer, "id"),
                        format!("check id `{}` is used twice in this card; ids must be unique", check.id),
                    ));
                }
                parsed.push(check);
            }
            levels.push(Level { name, checks: parsed });
        }
        Ok(levels)
    }

    fn check(&self, value: &Value, pointer: &str) -> Result<Check, Error> {
        let map = self.object(value, pointer, "a mapping with `id`, `title` and one rule")?;
        known_check_fields(self, map, pointer)?;
        let id = self.text(map, pointer, "id", "`id: runbook`")?.unwrap_or_default();
        if !is_valid_resource_name(&id) {
            return Err(self.fail_value(
                &child(pointer, "id"),
                format!(
                    "`id: {id}` must be lower-case letters, digits and dashes, starting and ending with a \
                     letter or digit, e.g. `runbook-link`"
                ),
            ));
        }
        let title = self
            .text(map, pointer, "title", "`title: Has a runbook`")?
            .unwrap_or_default();
        let description = self.optional_text(map, pointer, "description")?;
        let rule = parse_rule(self, map, pointer)?;
        Ok(Check {
            id,
            title,
            description,
            rule,
        })
    }
}
