//! Reading one bounded YAML document into JSON (see the parent module's docs).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Bounds on a document read by [`from_yaml`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Collections nested deeper than this are refused.
    pub max_depth: usize,
    /// Scalars and collections in the document.
    pub max_nodes: usize,
}

/// A YAML problem at a place in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, and the fix.
    pub message: String,
}

/// A 1-based line and column (in characters) in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl From<Span> for Position {
    fn from(span: Span) -> Position {
        Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// Where the nodes of a document read by [`from_yaml_with_positions`] start, so that rules
/// checked on the JSON afterwards can still say which line is wrong. Nodes are named by JSON
/// pointer (RFC 6901): `""` is the root, `/levels/0/checks/2` the third check of the first level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Positions {
    values: BTreeMap<String, Position>,
    keys: BTreeMap<String, Position>,
}

impl Positions {
    /// Where the value at `pointer` starts (for a collection, its first item or `[`/`{`).
    pub fn value(&self, pointer: &str) -> Option<Position> {
        self.values.get(pointer).copied()
    }

    /// Where the key of the mapping entry at `pointer` is written.
    pub fn key(&self, pointer: &str) -> Option<Position> {
        self.keys.get(pointer).copied()
    }
}

/// `token` escaped for a JSON pointer (`~` as `~0`, `/` as `~1`).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn error_at(span: Span, message: impl Into<String>) -> YamlError {
    let at = Position::from(span);
    YamlError {
        line: at.line,
        column: at.column,
        message: message.into(),
    }
}

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Reads the single YAML document in `text` as JSON (YAML 1.2 core schema for plain scalars).
/// An empty text is `null`.
pub fn from_yaml(text: &str, limits: Limits) -> Result<Value, YamlError> {
    guarded(|| read(text, limits, None))
}

/// [`from_yaml`], and where each key and value starts.
pub fn from_yaml_with_positions(text: &str, limits: Limits) -> Result<(Value, Positions), YamlError> {
    guarded(|| {
        let mut positions = Positions::default();
        let value = read(text, limits, Some(&mut positions))?;
        Ok((value, positions))
    })
}

/// A panic in the parser becomes an error, not a crash of the server at start.
fn guarded<T>(f: impl FnOnce() -> Result<T, YamlError>) -> Result<T, YamlError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(YamlError {
            line: 1,
            column: 1,
            message: "the YAML parser failed on this file".into(),
        })
    })
}

/// The pointer of the node that starts now, or `None` when it is a mapping key (recorded by
/// [`insert`] once the key is known). `paths` holds the pointer of each open collection.
fn next_pointer(stack: &[Frame], paths: &[String]) -> Option<String> {
    let parent = paths.last().map(String::as_str).unwrap_or("");
    match stack.last() {
        None => Some(String::new()),
        Some(Frame::Seq(items)) => Some(format!("{parent}/{}", items.len())),
        Some(Frame::Map(_, None)) => None,
        Some(Frame::Map(_, Some(key))) => Some(format!("{parent}/{}", pointer_token(key))),
    }
}

fn read(text: &str, limits: Limits, mut positions: Option<&mut Positions>) -> Result<Value, YamlError> {
    let mut paths: Vec<String> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut documents = 0usize;
    let mut nodes = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let starts_node = matches!(
            event,
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..)
        );
        let pointer = match positions.as_deref_mut() {
            Some(positions) if starts_node => next_pointer(&stack, &paths).inspect(|pointer| {
                positions.values.insert(pointer.clone(), Position::from(span));
            }),
            _ => None,
        };
        let value = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(error_at(
                        span,
                        "a second YAML document (`---`); keep one template per file",
                    ));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(error_at(
                    span,
                    "YAML aliases (`*name`) are not allowed; write the value out",
                ))
            }
            Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if anchor != 0 =>
            {
                return Err(error_at(
                    span,
                    "YAML anchors (`&name`) are not allowed; write the value out",
                ));
            }
            Event::Scalar(text, style, _, tag) => {
                let is_str_tag = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
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
                    return Err(error_at(
                        span,
                        format!("more than {} YAML nodes; shorten the file", limits.max_nodes),
                    ));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq(Vec::new()),
                    _ => Frame::Map(Map::new(), None),
                });
                if positions.is_some() {
                    paths.push(pointer.unwrap_or_default());
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                paths.pop();
                match stack.pop() {
                    Some(Frame::Seq(items)) => Value::Array(items),
                    Some(Frame::Map(map, _)) => Value::Object(map),
                    None => return Err(error_at(span, "invalid YAML: unbalanced collection end")),
                }
            }
        };
        nodes += 1;
        if nodes > limits.max_nodes {
            return Err(error_at(
                span,
                format!("more than {} YAML nodes; shorten the file", limits.max_nodes),
            ));
        }
        let key_positions = positions.as_deref_mut().map(|p| (&mut p.keys, paths.last()));
        insert(&mut stack, &mut root, value, span, key_positions)?;
    }
    Ok(root.unwrap_or(Value::Null))
}

/// The map of key positions to fill, and the pointer of the innermost open collection.
type KeyPositions<'a> = (&'a mut BTreeMap<String, Position>, Option<&'a String>);

fn insert(
    stack: &mut [Frame],
    root: &mut Option<Value>,
    value: Value,
    span: Span,
    key_positions: Option<KeyPositions<'_>>,
) -> Result<(), YamlError> {
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
                    _ => {
                        return Err(error_at(
                            span,
                            "a mapping key must be a plain value, not a list or mapping",
                        ))
                    }
                };
                if map.contains_key(&key) {
                    return Err(error_at(span, format!("duplicate key `{key}`; keep one")));
                }
                if let Some((keys, parent)) = key_positions {
                    let parent = parent.map(String::as_str).unwrap_or("");
                    keys.insert(format!("{parent}/{}", pointer_token(&key)), Position::from(span));
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
