//! Reading and validating template files.

use super::{PolicyKind, Selector, Template, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, MAX_TEMPLATES};
use crate::names::{is_valid_template_name, MAX_TEMPLATE_NAME_LEN};
use crate::yaml::files::{read_text, yaml_files, DirError, ReadError};
use crate::yaml::{from_yaml, Limits};
use crate::Error;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

const TOP_FIELDS: [&str; 4] = ["name", "description", "select", "policy"];
const SELECT_FIELDS: [&str; 5] = ["type", "lifecycle", "tier", "tags", "system"];
const POLICY_FIELDS: [&str; 2] = ["kind", "spec"];

fn fail(file: &str, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Template {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// Loads every `.yaml`/`.yml` file directly in `dir` (dot-files and other files are skipped,
/// subdirectories are not read), sorted by template name. Fails on the first bad file, on more
/// than [`MAX_TEMPLATES`] templates, and on two templates with one name.
pub fn load_dir(dir: &Path) -> Result<Vec<Template>, Error> {
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let paths = yaml_files(dir, MAX_TEMPLATES).map_err(|e| match e {
        DirError::Io(source) => io(source),
        DirError::TooMany => fail(
            &dir.display().to_string(),
            None,
            format!("more than {MAX_TEMPLATES} template files; merge templates or split the catalog"),
        ),
    })?;
    let mut by_name: BTreeMap<String, Template> = BTreeMap::new();
    for path in paths {
        let file = path.display().to_string();
        let text = read_bounded(&path, &file)?;
        let template = parse(&file, &text)?;
        if let Some(other) = by_name.get(&template.name) {
            return Err(fail(
                &file,
                None,
                format!(
                    "template name `{}` is already used by {}; give each template its own name",
                    template.name, other.file
                ),
            ));
        }
        by_name.insert(template.name.clone(), template);
    }
    Ok(by_name.into_values().collect())
}

/// Reads at most [`MAX_FILE_BYTES`] (+1, to tell an oversized file) without trusting metadata.
fn read_bounded(path: &Path, file: &str) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: file.to_string(),
        source,
    };
    read_text(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(source) => io(source),
        ReadError::TooLarge => fail(
            file,
            None,
            format!(
                "larger than {} KiB; a template is one policy, keep it short",
                MAX_FILE_BYTES / 1024
            ),
        ),
        ReadError::NotUtf8 => fail(file, None, "not UTF-8 text; save the file as UTF-8"),
    })
}

/// Parses one template; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Template, Error> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(
            file,
            None,
            format!(
                "larger than {} KiB; a template is one policy, keep it short",
                MAX_FILE_BYTES / 1024
            ),
        ));
    }
    let limits = Limits {
        max_depth: MAX_DEPTH,
        max_nodes: MAX_NODES,
    };
    let doc = from_yaml(text, limits).map_err(|e| fail(file, Some(e.line), e.message))?;
    let top = object(file, &doc, "the file", "a mapping with `name`, `select` and `policy`")?;
    known_fields(file, top, "", &TOP_FIELDS)?;

    let name = match top.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(fail(file, None, "`name` is missing; add e.g. `name: timeouts-tier1`")),
    };
    if !is_valid_template_name(&name) {
        return Err(fail(
            file,
            None,
            format!(
                "`name: {name}` must be lower-case letters and digits with single dashes between, \
                 at most {MAX_TEMPLATE_NAME_LEN} characters, e.g. `timeouts-tier1`"
            ),
        ));
    }
    let description = match top.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(fail(file, None, "`description` must be text")),
    };
    let selector = match top.get("select") {
        None | Some(Value::Null) => Selector::default(),
        Some(value) => parse_selector(file, value)?,
    };
    let policy = top.get("policy").ok_or_else(|| {
        fail(
            file,
            None,
            "`policy` is missing; add `policy: {kind: MeshTimeout, spec: {...}}`",
        )
    })?;
    let policy = object(file, policy, "`policy`", "`kind` and `spec`")?;
    known_fields(file, policy, "policy.", &POLICY_FIELDS)?;
    let kind_name = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    let kind = PolicyKind::from_name(kind_name).ok_or_else(|| {
        fail(
            file,
            None,
            format!("`policy.kind: {kind_name}` is not one of MeshTimeout, MeshRetry, MeshAccessLog, MeshMetric"),
        )
    })?;
    let spec = policy.get("spec").ok_or_else(|| {
        fail(
            file,
            None,
            "`policy.spec` is missing; write the Kuma spec without its top-level targetRef",
        )
    })?;
    let spec_map = object(file, spec, "`policy.spec`", "Kuma's spec for the kind")?;
    if spec_map.contains_key("targetRef") {
        return Err(fail(
            file,
            None,
            "`policy.spec.targetRef` is filled in by Bearing (the component's dataplanes); remove it",
        ));
    }
    known_fields(file, spec_map, "policy.spec.", kind.sections())?;
    if !kind.sections().iter().any(|s| spec_map.contains_key(*s)) {
        return Err(fail(
            file,
            None,
            format!(
                "`policy.spec` of a {} needs `{}`",
                kind.as_str(),
                kind.sections().join("` or `")
            ),
        ));
    }
    Ok(Template {
        name,
        description,
        file: file.to_string(),
        selector,
        kind,
        spec: spec.clone(),
    })
}

fn object<'v>(file: &str, value: &'v Value, what: &str, want: &str) -> Result<&'v Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| fail(file, None, format!("{what} must be a mapping with {want}")))
}

fn known_fields(file: &str, map: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), Error> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(fail(
            file,
            None,
            format!(
                "unknown field `{prefix}{unknown}`; expected one of: {}",
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// Reads a `select` mapping (the format is in the module docs). Errors name the field but
/// carry no line: the value is already JSON.
pub fn parse_selector(file: &str, value: &Value) -> Result<Selector, Error> {
    let map = object(file, value, "`select`", "any of type, lifecycle, tier, tags, system")?;
    known_fields(file, map, "select.", &SELECT_FIELDS)?;
    let list = |field: &str| -> Result<Vec<String>, Error> {
        let bad = || {
            fail(
                file,
                None,
                format!("`select.{field}` must be a value or a non-empty list of values, e.g. `{field}: [a, b]`"),
            )
        };
        let one = |v: &Value| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(bad()),
        };
        match map.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) if !items.is_empty() => items.iter().map(one).collect(),
            Some(v @ (Value::String(_) | Value::Number(_))) => Ok(vec![one(v)?]),
            Some(_) => Err(bad()),
        }
    };
    Ok(Selector {
        types: list("type")?,
        lifecycles: list("lifecycle")?,
        tiers: list("tier")?,
        tags: list("tags")?,
        systems: list("system")?,
    })
}
