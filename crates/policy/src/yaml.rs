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
//! "billion laughs"), no duplicate keys, and every error with its line and column.
//! [`from_yaml_with_positions`] also says where every key and value starts, for rules checked
//! on the JSON afterwards (the scorecards crate reads its files with it).

pub mod files;
mod read;

pub use read::{from_yaml, from_yaml_with_positions, pointer_token, Limits, Position, Positions, YamlError};

use crate::canonical::push_json_string;
use serde_json::{Map, Value};

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
        assert_eq!(
            from_yaml(
                &text,
                Limits {
                    max_depth: 16,
                    max_nodes: 1000
                }
            )
            .unwrap(),
            value,
            "{text}"
        );
    }

    #[test]
    fn writes_block_style() {
        let text =
            to_yaml(&json!({"spec": {"from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Deny"}}]}}));
        assert_eq!(
            text,
            "spec:\n  from:\n    - targetRef:\n        kind: Mesh\n      default:\n        action: Deny\n"
        );
    }

    #[test]
    fn says_where_keys_and_values_start() {
        let text = "name: a\nlevels:\n  - name: Bronze\n    checks: [{id: x, \"a/b~\": 2}]\n";
        let (value, at) = from_yaml_with_positions(text, LIMITS).unwrap();
        assert_eq!(value, from_yaml(text, LIMITS).unwrap());
        let pos = |line, column| Some(Position { line, column });
        assert_eq!(at.key("/name"), pos(1, 1));
        assert_eq!(at.value("/name"), pos(1, 7));
        assert_eq!(at.key("/levels"), pos(2, 1));
        assert_eq!(at.value("/levels/0"), pos(3, 5));
        assert_eq!(at.key("/levels/0/checks"), pos(4, 5));
        assert_eq!(at.value("/levels/0/checks/0"), pos(4, 14));
        assert_eq!(at.value("/levels/0/checks/0/id"), pos(4, 19));
        assert_eq!(at.key("/levels/0/checks/0/a~1b~0"), pos(4, 22));
        assert_eq!(at.value("/levels/0/checks/0/a~1b~0"), pos(4, 30));
        assert_eq!(at.value("/missing"), None);
        let error = from_yaml_with_positions("a: 1\nb: *x\n", LIMITS).unwrap_err();
        assert_eq!((error.line, error.column), (2, 4));
    }

    #[test]
    fn refuses_hostile_documents() {
        let deep = "a: ".to_string() + &"[".repeat(20) + &"]".repeat(20);
        assert!(from_yaml(&deep, LIMITS).unwrap_err().message.contains("deeper"));
        let many = (0..200).map(|i| format!("k{i}: v\n")).collect::<String>();
        assert!(from_yaml(&many, LIMITS).unwrap_err().message.contains("nodes"));
        assert!(from_yaml("a: &x 1\nb: *x\n", LIMITS)
            .unwrap_err()
            .message
            .contains("anchors"));
        assert!(from_yaml("a: 1\n---\nb: 2\n", LIMITS)
            .unwrap_err()
            .message
            .contains("second"));
        let dup = from_yaml("a: 1\nb: 2\na: 3\n", LIMITS).unwrap_err();
        assert_eq!(dup.line, 3);
        assert!(dup.message.contains("duplicate key `a`"));
        assert!(from_yaml("a: [1\n", LIMITS)
            .unwrap_err()
            .message
            .contains("invalid YAML"));
    }
}
