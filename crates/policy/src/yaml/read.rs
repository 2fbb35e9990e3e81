//! Reading one bounded YAML document into JSON (see the parent module's docs).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

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
            return Err(error_at(
                span,
                format!("more than {} YAML nodes; shorten the file", limits.max_nodes),
            ));
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
