//! YAML in and out, both bounded and deterministic.
//!
//! **Out**: Kuma accepts YAML for both `kumactl apply` (universal) and `kubectl apply`, and the
//! proposal page diffs the text, so the same spec must always print the same way. The emitter
//! below writes block style with two-space indents and keys in a fixed order, whatever order the
//! map holds them in (serde_json's depends on a cargo feature): a resource's header first
//! (`apiVersion`/`type`, `kind`, `mesh`, `name`, `namespace`, `metadata`, `labels`), then
//! `targetRef` (as Kuma's docs write policies), then the other keys alphabetically, `spec` last.
//! It quotes every string that YAML 1.1 or 1.2 could
//! read as something else (a leading digit, `true`, `on`, `~`, `:`...), and quotes with JSON's
//! escaping, which is a valid YAML double-quoted scalar. Round trips are tested.
//!
//! **In**: templates are admin input, but still bounded like hostile input: read from
//! `saphyr-parser`'s events (the YAML 1.2 parser the catalog importer and kuma-sim use) straight
//! into JSON with a depth and node limit, one document per file, no anchors or aliases (so no
//! "billion laughs"), no duplicate keys, and every error with its line.

use crate::canonical::push_json_string;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

// ---------------------------------------------------------------------------------------------
// Out

/// `value` as a YAML block document, ending with a newline.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, false, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            write_scalar(scalar, &mut out);
            out.push('\n');
        }
    }
    out
}

fn indent(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes `map` at `level` spaces; with `after_dash` the first key goes on the current line,
/// right after a sequence's `- ` (see [`write_seq`]).
fn write_map(map: &Map<String, Value>, level: usize, after_dash: bool, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| (key_rank(a.0), a.0).cmp(&(key_rank(b.0), b.0)));
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 || !after_dash {
            indent(level, out);
        }
        write_string(key, out);
        out.push(':');
        write_nested(value, level, out);
    }
}

/// Where a key goes among its siblings (see the module docs).
fn key_rank(key: &str) -> u8 {
    match key {
        "apiVersion" | "type" => 0,
        "kind" => 1,
        "mesh" => 2,
        "name" => 3,
        "namespace" => 4,
        "metadata" => 5,
        "labels" => 6,
        "targetRef" => 7,
        "spec" => 9,
        _ => 8,
    }
}

fn write_seq(items: &[Value], level: usize, out: &mut String) {
    for item in items {
        indent(level, out);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(map, level + 2, true, out),
            Value::Array(inner) if !inner.is_empty() => {
                // `- ` then a nested block sequence on the following lines.
                out.truncate(out.len() - 1);
                out.push('\n');
                write_seq(inner, level + 2, out);
            }
            scalar => {
                write_scalar(scalar, out);
                out.push('\n');
            }
        }
    }
}

/// A mapping value after `key:`: inline for scalars and empty collections, else a block below.
fn write_nested(value: &Value, level: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, level + 2, false, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, level + 2, out);
        }
        scalar => {
            out.push(' ');
            write_scalar(scalar, out);
            out.push('\n');
        }
    }
}

fn write_scalar(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => write_string(s, out),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        // null, true/false and numbers print the same in JSON and YAML.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        push_json_string(s, out);
    }
}

/// Whether `s` can be written unquoted and still read back as the same string under YAML 1.1
/// and 1.2 alike. Deliberately narrow: letters, digits and `._/-` only, starting with a letter,
/// `_` or `/`, and not one of the words YAML resolves to booleans or null.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let charset = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
    let starts_ok = first.is_ascii_alphabetic() || first == '_' || first == '/';
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
    );
    charset && starts_ok && !reserved
}

// ---------------------------------------------------------------------------------------------
// In

/// Bounds on a document read by [`from_yaml`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Collections nested deeper than this are refused.
    pub(crate) max_depth: usize,
    /// Scalars and collections in the document.
    pub(crate) max_nodes: usize,
}

/// A YAML problem at a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

fn error_at(span: Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        message: message.into(),
    }
}

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Reads the single YAML document in `text` as JSON (YAML 1.2 core schema for plain scalars).
/// An empty text is `null`.
pub(crate) fn from_yaml(text: &str, limits: Limits) -> Result<Value, YamlError> {
    // A panic in the parser becomes an error, not a crash of the server at start.
    catch_unwind(AssertUnwindSafe(|| read(text, limits))).unwrap_or_else(|_| {
        Err(YamlError {
            line: 1,
            message: "the YAML parser failed on this file".into(),
        })
    })
}

fn read(text: &str, limits: Limits) -> Result<Value, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut documents = 0usize;
    let mut nodes = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            line: e.marker().line(),
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let value = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(error_at(span, "a second YAML document (`---`); keep one template per file"));
                }
                continue;
            }
            Event::Alias(_) => return Err(error_at(span, "YAML aliases (`*name`) are not allowed; write the value out")),
            Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if anchor != 0 =>
            {
                return Err(error_at(span, "YAML anchors (`&name`) are not allowed; write the value out"));
            }
            Event::Scalar(text, style, _, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                if style == ScalarStyle::Plain && !is_str_tag {
                    plain_scalar(&text)
                } else {
                    Value::String(text.into_owned())
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= limits.max_depth {
                    return Err(error_at(
                        span,
                        format!("nested deeper than {} levels; flatten the spec", limits.max_depth),
                    ));
                }
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(error_at(span, format!("more than {} YAML nodes; shorten the file", limits.max_nodes)));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq(Vec::new()),
                    _ => Frame::Map(Map::new(), None),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items)) => Value::Array(items),
                Some(Frame::Map(map, _)) => Value::Object(map),
                None => return Err(error_at(span, "invalid YAML: unbalanced collection end")),
            },
        };
        nodes += 1;
        if nodes > limits.max_nodes {
            return Err(error_at(span, format!("more than {} YAML nodes; shorten the file", limits.max_nodes)));
        }
        insert(&mut stack, &mut root, value, span)?;
    }
    Ok(root.unwrap_or(Value::Null))
}

fn insert(stack: &mut [Frame], root: &mut Option<Value>, value: Value, span: Span) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => *root = Some(value),
        Some(Frame::Seq(items)) => items.push(value),
        Some(Frame::Map(map, pending)) => match pending.take() {
            None => {
                let key = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".to_string(),
                    _ => return Err(error_at(span, "a mapping key must be a plain value, not a list or mapping")),
                };
                if map.contains_key(&key) {
                    return Err(error_at(span, format!("duplicate key `{key}`; keep one")));
                }
                *pending = Some(key);
            }
            Some(key) => {
                map.insert(key, value);
            }
        },
    }
    Ok(())
}

/// YAML 1.2 core schema: null, booleans, integers and floats; everything else is a string.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        return Value::String(text.to_owned());
    }
    let float_chars = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if float_chars && digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        max_depth: 8,
        max_nodes: 100,
    };

    #[test]
    fn round_trips_awkward_values() {
        let value = json!({
            "type": "MeshTrafficPermission",
            "labels": {"bearing.dev/spec-hash": "0123abcd", "kuma.io/mesh": "default"},
            "odd": ["true", "on", "~", "", "5s", "503", "-x", "a: b", "#c", "spiffe://d/e", "é", "line\nbreak", "tab\t"],
            "numbers": [1, -2, 2.5, true, null],
            "empty": {}, "none": [], "nested": [[1, 2], [{"a": {"b": [3]}}], {"c": 1, "d": [{}]}],
            "200": "quoted key"
        });
        let text = to_yaml(&value);
        assert_eq!(from_yaml(&text, Limits { max_depth: 16, max_nodes: 1000 }).unwrap(), value, "{text}");
    }

    #[test]
    fn writes_block_style() {
        let text = to_yaml(&json!({"spec": {"from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Deny"}}]}}));
        assert_eq!(
            text,
            "spec:\n  from:\n    - targetRef:\n        kind: Mesh\n      default:\n        action: Deny\n"
        );
    }

    #[test]
    fn refuses_hostile_documents() {
        let deep = "a: ".to_string() + &"[".repeat(20) + &"]".repeat(20);
        assert!(from_yaml(&deep, LIMITS).unwrap_err().message.contains("deeper"));
        let many = (0..200).map(|i| format!("k{i}: v\n")).collect::<String>();
        assert!(from_yaml(&many, LIMITS).unwrap_err().message.contains("nodes"));
        assert!(from_yaml("a: &x 1\nb: *x\n", LIMITS).unwrap_err().message.contains("anchors"));
        assert!(from_yaml("a: 1\n---\nb: 2\n", LIMITS).unwrap_err().message.contains("second"));
        let dup = from_yaml("a: 1\nb: 2\na: 3\n", LIMITS).unwrap_err();
        assert_eq!(dup.line, 3);
        assert!(dup.message.contains("duplicate key `a`"));
        assert!(from_yaml("a: [1\n", LIMITS).unwrap_err().message.contains("invalid YAML"));
    }
}
