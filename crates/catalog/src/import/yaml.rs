//! A small spanned YAML tree built from `saphyr-parser` events.
//!
//! Every importer message must say `file:line:column`, and the usual YAML → serde route loses
//! positions, so this module keeps its own tree where each node knows where it starts. It is
//! deliberately small: scalars keep their text (typed only when converted to JSON), mappings keep
//! their key order. Duplicate and complex keys are refused (as Backstage refuses them), and a
//! panic inside the parser is caught and reported as an error.
//!
//! Hostile input is bounded by the document *as expanded*, since that is what the importer
//! and the database end up holding. Collections and scalar texts are reference-counted, so an
//! alias is one new node pointing at what it repeats, never a copy: memory follows the text.
//! Each anchored node's expanded size (nodes, depth, text bytes) is known when its anchor
//! closes, so an alias is checked in O(1) and refused, at its own position, when it would push
//! the stream over [`MAX_NODES`], [`MAX_DEPTH`] or [`MAX_ALIASED_BYTES`]. Because nothing
//! deeper than [`MAX_DEPTH`] is ever built, the recursive conversion to JSON and the recursive
//! drop of the tree stay shallow. Reading stops at a deadline as well.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Instant;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use serde_json::{Map, Number, Value};

/// Deeper nesting, aliases expanded, is refused. Real catalog files stay below 20 levels.
/// The limit leaves room under serde_json's default recursion limit of 128, which every
/// reader of a stored entity has (sqlx decoding `jsonb`, API clients): an entity is stored
/// one level deeper than its document at most (Compass) and API responses wrap it in a few
/// more levels, so what is accepted can always be read back.
pub(crate) const MAX_DEPTH: usize = 64;
/// Nodes per stream, aliases expanded (an alias counts as every node it repeats). This is the
/// importer's memory budget: about 25,000 components of Backstage's catalog benchmark fit in
/// one file, and only a file of that size or an alias bomb ("billion laughs") reaches it.
pub(crate) const MAX_NODES: usize = 1_000_000;
/// Scalar text that aliases may repeat per stream, in bytes: an alias to a long string costs
/// one node, but the JSON it becomes holds the whole text again.
pub(crate) const MAX_ALIASED_BYTES: usize = 16 << 20;
/// How many events are read between two looks at the clock.
const EVENTS_PER_CLOCK_CHECK: u32 = 1024;

/// A YAML node and the 1-based line and column where it starts. Cloning is cheap: the
/// contents are shared.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: NodeValue,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// The three YAML node shapes. Contents are shared between an anchor and its aliases.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeValue {
    /// `plain` is false for quoted, block and `!!str`-tagged scalars, which are always strings.
    Scalar {
        text: Rc<str>,
        plain: bool,
    },
    Seq(Rc<[Node]>),
    /// Keys are always scalars (complex keys are refused while building).
    Map(Rc<[(Node, Node)]>),
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

/// What a node amounts to once its aliases are expanded.
#[derive(Clone, Copy, Debug, Default)]
struct Expanded {
    /// Nodes, this one included.
    nodes: usize,
    /// Collection levels: 0 for a scalar, 1 for a list of scalars.
    depth: usize,
    /// Scalar text (keys included), in bytes.
    bytes: usize,
}

impl Expanded {
    /// Adds a child (an item, a key or a value) to a collection's total.
    fn add(&mut self, child: Expanded) {
        self.nodes = self.nodes.saturating_add(child.nodes);
        self.depth = self.depth.max(child.depth.saturating_add(1));
        self.bytes = self.bytes.saturating_add(child.bytes);
    }
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
    /// parser does), so `tier: 4` stays a number and `enabled: true` a boolean. Aliases are
    /// expanded here; the tree's limits bound the result (and this recursion, by [`MAX_DEPTH`]).
    pub(crate) fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Scalar { text, plain: false } => Value::String(text.to_string()),
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

/// Parses a whole (multi-document) stream, giving up at `deadline`. Returns the documents read
/// before any error, and the error, so documents before a syntax error are still checked.
pub(crate) fn parse_stream(text: &str, deadline: Instant) -> (Vec<Document>, Option<YamlError>) {
    let mut builder = Builder::default();
    // saphyr-parser is well fuzzed, but "no panic on any input" should not rest on that:
    // a panic here becomes an ordinary error at the start of the file.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut until_clock_check = EVENTS_PER_CLOCK_CHECK;
        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(scan_error)?;
            until_clock_check -= 1;
            if until_clock_check == 0 {
                until_clock_check = EVENTS_PER_CLOCK_CHECK;
                if Instant::now() > deadline {
                    return Err(error_at(
                        span,
                        "reading this file took too long and stopped here; split the file into smaller ones",
                    ));
                }
            }
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

fn error_at(span: Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        col: span.start.col() + 1,
        message: message.into(),
    }
}

/// A collection being built: its start, anchor, entries so far and their expanded size.
enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
        size: Expanded,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: HashMap<Rc<str>, (usize, usize)>,
        size: Expanded,
    },
}

/// An empty collection: one node, one level.
const EMPTY_COLLECTION: Expanded = Expanded {
    nodes: 1,
    depth: 1,
    bytes: 0,
};

#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    root: Option<Node>,
    /// Anchored nodes (shared, not copied) and their expanded size.
    anchors: HashMap<usize, (Node, Expanded)>,
    /// Nodes in the stream so far, aliases expanded.
    nodes: usize,
    /// Scalar text repeated by aliases so far.
    aliased_bytes: usize,
}

impl Builder {
    /// Feeds one event; `Ok(true)` at the end of the stream.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
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
                let size = Expanded {
                    nodes: 1,
                    depth: 0,
                    bytes: text.len(),
                };
                let node = node_at(
                    span,
                    NodeValue::Scalar {
                        text: text.as_ref().into(),
                        plain,
                    },
                );
                self.count(size.nodes, span)?;
                self.remember(anchor, &node, size);
                self.insert(node, size)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Seq {
                    start: span,
                    anchor,
                    items: Vec::new(),
                    size: EMPTY_COLLECTION,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Map {
                    start: span,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    seen: HashMap::new(),
                    size: EMPTY_COLLECTION,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, size) = match self.stack.pop() {
                    Some(Frame::Seq {
                        start,
                        anchor,
                        items,
                        size,
                    }) => (node_at(start, NodeValue::Seq(items.into())), anchor, size),
                    Some(Frame::Map {
                        start,
                        anchor,
                        entries,
                        size,
                        ..
                    }) => (node_at(start, NodeValue::Map(entries.into())), anchor, size),
                    None => return Err(error_at(span, "invalid YAML: unbalanced collection end")),
                };
                self.remember(anchor, &node, size);
                self.insert(node, size)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(error_at(span, "invalid YAML: alias to an unknown anchor"));
                };
                // Shares the anchored contents: O(1) whatever the anchor holds.
                let (mut node, size) = (node.clone(), *size);
                if self.stack.len().saturating_add(size.depth) > MAX_DEPTH {
                    return Err(error_at(
                        span,
                        format!(
                            "YAML nested deeper than {MAX_DEPTH} levels once this alias is expanded; \
                             flatten the anchored data or stop nesting aliases"
                        ),
                    ));
                }
                self.count(size.nodes, span)?;
                self.aliased_bytes = self.aliased_bytes.saturating_add(size.bytes);
                if self.aliased_bytes > MAX_ALIASED_BYTES {
                    return Err(error_at(
                        span,
                        format!(
                            "aliases repeat more than {} MiB of text once expanded; write the text once \
                             instead of repeating it through aliases",
                            MAX_ALIASED_BYTES >> 20
                        ),
                    ));
                }
                node.line = span.start.line();
                node.col = span.start.col() + 1;
                self.insert(node, size)?;
            }
        }
        Ok(false)
    }

    fn open(&mut self, span: Span) -> Result<(), YamlError> {
        self.count(1, span)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(error_at(
                span,
                format!("YAML nested deeper than {MAX_DEPTH} levels; flatten the data"),
            ));
        }
        Ok(())
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(error_at(
                span,
                format!(
                    "YAML has more than {MAX_NODES} nodes once aliases are expanded; split the file \
                     into smaller ones, or simplify its anchors and aliases"
                ),
            ));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: Expanded) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn insert(&mut self, node: Node, child: Expanded) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, size, .. }) => {
                size.add(child);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                seen,
                size,
                ..
            }) => {
                size.add(child);
                match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => {
                        let NodeValue::Scalar { text, .. } = &node.value else {
                            return Err(YamlError {
                                line: node.line,
                                col: node.col,
                                message:
                                    "a list or mapping used as a mapping key is not supported; use a plain string key"
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
                }
            }
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
    use std::time::Duration;

    fn parse(text: &str) -> (Vec<Document>, Option<YamlError>) {
        parse_stream(text, Instant::now() + Duration::from_secs(60))
    }

    fn one(text: &str) -> Node {
        let (docs, err) = parse(text);
        assert_eq!(err, None);
        docs.into_iter().next().and_then(|d| d.root).expect("a document")
    }

    /// The error of a stream that must be refused.
    #[track_caller]
    fn refused(text: &str) -> YamlError {
        parse(text).1.expect("refused")
    }

    /// `levels` nested block mappings `k0: k1: ... : leaf` (the root is the first), indented
    /// from `indent`.
    fn nested(levels: usize, indent: usize, leaf: &str) -> String {
        let mut out = String::new();
        for i in 0..levels {
            out.push_str(&format!("{}k{i}:\n", " ".repeat(indent + i)));
        }
        out.push_str(&format!("{}{leaf}\n", " ".repeat(indent + levels)));
        out
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
        let (docs, err) = parse("a: 1\n---\n---\n# only a comment\n---\nb: 2\n---\n");
        assert_eq!(err, None);
        let roots: Vec<_> = docs.iter().filter_map(|d| d.root.as_ref()).collect();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[1].line, 6);
    }

    #[test]
    fn expands_aliases_at_their_own_position() {
        let root = one("base: &b {x: 1}\ncopy: *b\nname: &n foo\nalso: *n\n");
        assert_eq!(
            root.to_json(),
            json!({"base": {"x": 1}, "copy": {"x": 1}, "name": "foo", "also": "foo"})
        );
        let copy = root.get("copy").expect("copy");
        assert_eq!((copy.line, copy.col), (2, 7));
        assert_eq!(copy.get("x").map(Node::to_json), Some(json!(1)));
    }

    #[test]
    fn reports_syntax_errors_with_position_and_keeps_earlier_documents() {
        let (docs, err) = parse("ok: 1\n---\na: [1\nb: 2\n");
        assert_eq!(docs.len(), 1);
        let err = err.expect("an error");
        assert_eq!(err.line, 4);
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn refuses_duplicate_and_complex_keys() {
        let err = refused("a: 1\nb: 2\na: 3\n");
        assert_eq!((err.line, err.col), (3, 1));
        assert!(err.message.contains("duplicate key `a` (first at line 1, column 1)"));
        assert!(refused("? [a, b]\n: 1\n").message.contains("mapping key"));
    }

    #[test]
    fn bounds_depth() {
        let err = refused(&"[".repeat(MAX_DEPTH + 5));
        assert!(err.message.contains("nested deeper than 64 levels"), "{}", err.message);
        assert_eq!((err.line, err.col), (1, MAX_DEPTH + 1));
        // Exactly MAX_DEPTH levels (a mapping per level, a scalar at the bottom) are accepted.
        let root = one(&nested(MAX_DEPTH, 0, "leaf"));
        let mut depth = 0;
        let mut value = root.to_json();
        while let Some(inner) = value.as_object().and_then(|m| m.values().next()).cloned() {
            depth += 1;
            value = inner;
        }
        assert_eq!((depth, value), (MAX_DEPTH, json!("leaf")));
        assert!(refused(&nested(MAX_DEPTH + 1, 0, "leaf"))
            .message
            .contains("nested deeper"));
    }

    /// Issue 10: anchors nesting aliases ("billion laughs"). The old importer deep-copied each
    /// anchored collection into its anchor table before counting it: a 6 kB document of this
    /// shape allocated 3.4 GB. Now every alias is one shared node, and the alias that crosses
    /// the node budget is refused where it is written.
    #[test]
    fn refuses_anchor_amplification_at_the_alias_without_copying() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names: Vec<String> = (0..30).map(|i| format!("n{i}")).collect();
        let mut prev = "a".to_owned();
        for name in &names {
            let items = vec![format!("*{prev}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{items}]\n"));
            prev = name.clone();
        }
        let started = Instant::now();
        let err = refused(&bomb);
        assert!(
            err.message
                .contains("more than 1000000 nodes once aliases are expanded"),
            "{}",
            err.message
        );
        // `n3` is 111,111 nodes: the eighth alias of it in `n4` crosses the budget.
        assert_eq!((err.line, err.col), (6, 45), "{}", err.message);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }

    /// `a` to `e`: lists of ten aliases of the one before, `e` is 111,111 nodes expanded.
    fn tenfold_anchors() -> String {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, prev) in [("b", "a"), ("c", "b"), ("d", "c"), ("e", "d")] {
            doc.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        doc
    }

    /// Issue 10: anchored collections nested in each other. The old importer deep-copied every
    /// anchored collection into its anchor table when it closed, outside the node count, so
    /// each of these 55 levels copied the 777,777 nodes inside it (3.4 GB for a 6 kB file).
    /// Aliases and anchors now share what they hold: the document, within the node budget,
    /// is read at once.
    #[test]
    fn nested_anchors_share_what_they_hold() {
        let levels = 55;
        let mut doc = tenfold_anchors();
        doc.push_str("nest: ");
        doc.push_str(&(0..levels).map(|i| format!("&l{i} [")).collect::<String>());
        doc.push_str(&["*e"; 7].join(", "));
        doc.push_str(&"]".repeat(levels));
        let started = Instant::now();
        let root = one(&doc);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        let list = |n: &Node| match &n.value {
            NodeValue::Seq(items) => items.clone(),
            _ => panic!("a list"),
        };
        let (d, e) = (list(root.get("d").expect("d")), list(root.get("e").expect("e")));
        assert!(Rc::ptr_eq(&d, &list(&e[0])), "an alias shares the anchored list");
        assert_eq!(
            root.get("e").map(|e| e.to_json()[9][9][9][9][9].clone()),
            Some(json!("x"))
        );
    }

    /// Issue 10: aliases nesting an already deep tree. The old importer counted only the
    /// nesting written, so 32 kB reached ~15,600 levels and converting or dropping the tree
    /// overflowed the stack, killing the server. Now the alias that would go too deep is refused.
    #[test]
    fn refuses_aliases_that_nest_too_deep_without_overflowing() {
        let mut bomb = format!("a0: &a0 {}", "[".repeat(60) + &"]".repeat(60));
        for i in 1..250 {
            bomb.push_str(&format!(
                "\na{i}: &a{i} {}*a{} {}",
                "[".repeat(60),
                i - 1,
                "]".repeat(60)
            ));
        }
        let err = refused(&bomb);
        assert!(
            err.message
                .contains("nested deeper than 64 levels once this alias is expanded"),
            "{}",
            err.message
        );
        assert_eq!((err.line, err.col), (2, 69), "{}", err.message);
        // Just within the limit: the alias fits exactly.
        let fits = format!("a: &a {}x{}\nb: [[[*a]]]\n", "[".repeat(60), "]".repeat(60));
        assert_eq!(parse(&fits).1, None);
        let over = format!("a: &a {}x{}\nb: [[[[*a]]]]\n", "[".repeat(60), "]".repeat(60));
        assert_eq!(refused(&over).line, 2);
    }

    #[test]
    fn bounds_text_repeated_by_aliases() {
        let long = "y".repeat(1 << 20);
        let aliases = vec!["*s"; 20].join(", ");
        let err = refused(&format!("s: &s {long}\nl: [{aliases}]\n"));
        assert!(
            err.message.contains("aliases repeat more than 16 MiB of text"),
            "{}",
            err.message
        );
        assert_eq!(err.line, 2);
    }

    #[test]
    fn stops_at_the_deadline() {
        let text: String = (0..5000).map(|i| format!("k{i}: v\n")).collect();
        let (_, err) = parse_stream(&text, Instant::now());
        let err = err.expect("stopped");
        assert!(err.message.contains("took too long"), "{}", err.message);
        assert!(err.line > 1, "at the event where it stopped: {err:?}");
    }
}
