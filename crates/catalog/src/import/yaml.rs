//! A small spanned YAML tree built from `saphyr-parser` events.
//!
//! Every importer message must say `file:line:column`, and the usual YAML → serde route loses
//! positions, so this module keeps its own tree where each node knows where it starts. It is
//! deliberately small: scalars keep their text (typed only when converted to JSON), mappings keep
//! their key order, aliases are expanded. Hostile input is bounded: nesting depth and the node
//! count after alias expansion are limited, duplicate and complex keys are refused (as Backstage
//! refuses them), and a panic inside the parser is caught and reported as an error.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use serde_json::{Map, Number, Value};

/// Deeper nesting is refused; real catalog files stay far below it, and the limit keeps the
/// recursive JSON conversion (and drop) well inside the stack.
pub(crate) const MAX_DEPTH: usize = 128;
/// Nodes per stream after alias expansion: a 1 MiB file has at most ~300k nodes, so only an
/// alias bomb ("billion laughs") reaches this.
pub(crate) const MAX_NODES: usize = 1_000_000;

/// A YAML node and the 1-based line and column where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: NodeValue,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// The three YAML node shapes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeValue {
    /// `plain` is false for quoted, block and `!!str`-tagged scalars, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys are always scalars (complex keys are refused while building).
    Map(Vec<(Node, Node)>),
}

/// One `---`-separated document; `root` is `None` for an empty one.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Option<Node>,
}

/// A YAML syntax or limit error, at a 1-based position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct YamlError {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) message: String,
}

impl Node {
    /// The scalar's text, unless this is not a scalar or is a YAML null (`~`, `null`, empty).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, plain } if !(*plain && is_null(text)) => Some(text),
            _ => None,
        }
    }

    /// True for a YAML null: an empty value, `~` or `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, NodeValue::Scalar { text, plain: true } if is_null(text))
    }

    /// The entries of a mapping, or `None` if this is not one.
    pub(crate) fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under `key` in a mapping (exact, case-sensitive, as YAML keys are).
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.key_text() == key)
            .map(|(_, v)| v)
    }

    /// A mapping key's text (keys are scalars, so this is never empty for a real key).
    pub(crate) fn key_text(&self) -> &str {
        match &self.value {
            NodeValue::Scalar { text, .. } => text,
            _ => "",
        }
    }

    /// A short name of the node's shape, for "expected a string, found a list" messages.
    pub(crate) fn shape(&self) -> &'static str {
        match &self.value {
            NodeValue::Scalar { .. } if self.is_null() => "nothing",
            NodeValue::Scalar { .. } => "a scalar",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, resolving plain scalars with the YAML 1.2 core schema (as Backstage's
    /// parser does), so `tier: 4` stays a number and `enabled: true` a boolean.
    pub(crate) fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Scalar { text, plain: false } => Value::String(text.clone()),
            NodeValue::Scalar { text, plain: true } => plain_scalar_to_json(text),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let map: Map<String, Value> = entries
                    .iter()
                    .map(|(k, v)| (k.key_text().to_owned(), v.to_json()))
                    .collect();
                Value::Object(map)
            }
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            NodeValue::Scalar { .. } => 1,
            NodeValue::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeValue::Map(entries) => 1 + entries.iter().map(|(k, v)| k.count() + v.count()).sum::<usize>(),
        }
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn plain_scalar_to_json(text: &str) -> Value {
    match text {
        t if is_null(t) => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let int = if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = text.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if looks_like_int(text) {
        // Too big for i64: kept as the string written rather than rounded to a float.
        return text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_owned()), |i| Value::Number(i.into()));
    } else {
        None
    };
    if let Some(i) = int {
        return Value::Number(i.into());
    }
    if looks_like_float(text) {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    // Everything else, including integers too big for i64 and `.inf`/`.nan` (which JSON
    // cannot hold), stays the string it was written as.
    Value::String(text.to_owned())
}

fn looks_like_int(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// YAML 1.2 core float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn looks_like_float(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Parses a whole (multi-document) stream. Returns the documents read before any error, and
/// the error, so documents before a syntax error are still checked.
pub(crate) fn parse_stream(text: &str) -> (Vec<Document>, Option<YamlError>) {
    let mut builder = Builder::default();
    // saphyr-parser is well fuzzed, but "no panic on any input" should not rest on that:
    // a panic here becomes an ordinary error at the start of the file.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(scan_error)?;
            if builder.push(event, span)? {
                break;
            }
        }
        Ok(())
    }));
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(YamlError {
            line: 1,
            col: 1,
            message: "the YAML parser failed on this file".into(),
        }),
    };
    (builder.documents, error)
}

fn scan_error(e: ScanError) -> YamlError {
    YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: format!("invalid YAML: {}", e.info()),
    }
}

/// A collection being built: its start, anchor, and entries so far.
enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: HashMap<String, (usize, usize)>,
    },
}

#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
}

impl Builder {
    /// Feeds one event; `Ok(true)` at the end of the stream.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        let (line, col) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::StreamEnd => return Ok(true),
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => {}
            Event::DocumentEnd => {
                let root = self.root.take().filter(|n| !n.is_null());
                self.documents.push(Document { root });
                self.stack.clear();
                self.anchors.clear();
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                let plain = style == ScalarStyle::Plain && !is_str_tag;
                let node = Node {
                    value: NodeValue::Scalar {
                        text: text.into_owned(),
                        plain,
                    },
                    line,
                    col,
                };
                self.count(1, line, col)?;
                self.remember(anchor, &node, 1);
                self.insert(node)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(line, col)?;
                self.stack.push(Frame::Seq {
                    start: span,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                self.open(line, col)?;
                self.stack.push(Frame::Map {
                    start: span,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    seen: HashMap::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { start, anchor, items }) => (node_at(start, NodeValue::Seq(items)), anchor),
                    Some(Frame::Map {
                        start, anchor, entries, ..
                    }) => (node_at(start, NodeValue::Map(entries)), anchor),
                    None => {
                        return Err(YamlError {
                            line,
                            col,
                            message: "invalid YAML: unbalanced collection end".into(),
                        })
                    }
                };
                if anchor != 0 {
                    let size = node.count();
                    self.remember(anchor, &node, size);
                }
                self.insert(node)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        line,
                        col,
                        message: "invalid YAML: alias to an unknown anchor".into(),
                    });
                };
                let (mut node, size) = (node.clone(), *size);
                self.count(size, line, col)?;
                node.line = line;
                node.col = col;
                self.insert(node)?;
            }
        }
        Ok(false)
    }

    fn open(&mut self, line: usize, col: usize) -> Result<(), YamlError> {
        self.count(1, line, col)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                line,
                col,
                message: format!("YAML nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn count(&mut self, n: usize, line: usize, col: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                line,
                col,
                message: format!(
                    "YAML has more than {MAX_NODES} nodes once aliases are expanded; simplify the anchors and aliases"
                ),
            });
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn insert(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, seen, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let NodeValue::Scalar { text, .. } = &node.value else {
                        return Err(YamlError {
                            line: node.line,
                            col: node.col,
                            message: "a list or mapping used as a mapping key is not supported; use a plain string key"
                                .into(),
                        });
                    };
                    if let Some((l, c)) = seen.insert(text.clone(), (node.line, node.col)) {
                        return Err(YamlError {
                            line: node.line,
                            col: node.col,
                            message: format!("duplicate key `{text}` (first at line {l}, column {c}); keys in a mapping must be unique"),
                        });
                    }
                    *key = Some(node);
                }
            },
        }
        Ok(())
    }
}

fn node_at(span: Span, value: NodeValue) -> Node {
    Node {
        value,
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Node {
        let (docs, err) = parse_stream(text);
        assert_eq!(err, None);
        docs.into_iter().next().and_then(|d| d.root).expect("a document")
    }

    #[test]
    fn nodes_know_their_positions() {
        let root = one("a: 1\nmeta:\n  name: foo\n  tags: [x, y]\n");
        let meta = root.get("meta").expect("meta");
        assert_eq!((meta.line, meta.col), (3, 3));
        let name = meta.get("name").expect("name");
        assert_eq!((name.line, name.col, name.as_str()), (3, 9, Some("foo")));
        let tags = meta.get("tags").expect("tags");
        assert_eq!((tags.line, tags.col), (4, 9));
    }

    #[test]
    fn converts_with_the_core_schema() {
        let root = one("s: '1'\ni: 12\nh: 0x1f\nf: 1.5e3\nb: true\nn: ~\nt: !!str 7\nbig: 99999999999999999999\ninf: .inf\nl: [a, {b: c}]\n");
        assert_eq!(
            root.to_json(),
            json!({"s": "1", "i": 12, "h": 31, "f": 1500.0, "b": true, "n": null, "t": "7",
                   "big": "99999999999999999999", "inf": ".inf", "l": ["a", {"b": "c"}]})
        );
    }

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let (docs, err) = parse_stream("a: 1\n---\n---\n# only a comment\n---\nb: 2\n---\n");
        assert_eq!(err, None);
        let roots: Vec<_> = docs.iter().filter_map(|d| d.root.as_ref()).collect();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[1].line, 6);
    }

    #[test]
    fn expands_aliases() {
        let root = one("base: &b {x: 1}\ncopy: *b\n");
        assert_eq!(root.to_json(), json!({"base": {"x": 1}, "copy": {"x": 1}}));
    }

    #[test]
    fn reports_syntax_errors_with_position_and_keeps_earlier_documents() {
        let (docs, err) = parse_stream("ok: 1\n---\na: [1\nb: 2\n");
        assert_eq!(docs.len(), 1);
        let err = err.expect("an error");
        assert_eq!(err.line, 4);
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn refuses_duplicate_and_complex_keys() {
        let (_, err) = parse_stream("a: 1\nb: 2\na: 3\n");
        let err = err.expect("duplicate");
        assert_eq!((err.line, err.col), (3, 1));
        assert!(err.message.contains("duplicate key `a` (first at line 1, column 1)"));
        let (_, err) = parse_stream("? [a, b]\n: 1\n");
        assert!(err.expect("complex key").message.contains("mapping key"));
    }

    #[test]
    fn bounds_depth_and_alias_bombs() {
        let deep = "[".repeat(MAX_DEPTH + 5);
        let (_, err) = parse_stream(&deep);
        assert!(err.expect("too deep").message.contains("nested deeper"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h"])
        {
            bomb.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let (_, err) = parse_stream(&bomb);
        assert!(err.expect("bomb").message.contains("aliases are expanded"));
    }
}
