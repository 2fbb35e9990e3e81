//! Bounds on what a request may make Bearing parse and keep.
//!
//! The server bounds the body's bytes; this module bounds the rest. A body is refused when it is
//! nested deeper than [`MAX_DEPTH`] or, for a batch, holds more than [`MAX_BATCH_EVENTS`]
//! events, and an identifier that forms an idempotency key is refused past [`MAX_ID_CHARS`]
//! (cutting it could make two events one). Everything else is accepted and only the normalised
//! copy is cut: names past [`MAX_NAME_CHARS`], error messages past [`MAX_MESSAGE_CHARS`], stack
//! traces past [`MAX_STACK_TRACE_CHARS`] (each ends with [`TRUNCATION_MARKER`]), and lists past
//! [`MAX_DATASETS`] / [`MAX_JOB_DEPENDENCIES`] / [`MAX_LINKS`]. Each cut is recorded as a
//! [`Truncation`] on the event, so the server can say so; the raw event is stored whole.

use crate::error::EventError;
use serde::Serialize;
use serde_json::Value;

/// Events in one batch (`/api/v1/lineage/batch`, `application/cloudevents-batch+json`).
pub const MAX_BATCH_EVENTS: usize = 1_000;
/// Nesting of arrays and objects in a body (a batch's own array counts). serde_json refuses
/// past 128 on its own; this bound is lower so the error can point at the place.
pub const MAX_DEPTH: usize = 64;
/// Characters of an identifier that is part of an idempotency key or a run's identity
/// (CloudEvents `id`/`source`, CDEvents subject id); longer ones are refused, not cut.
pub const MAX_ID_CHARS: usize = 1_024;
/// Characters kept of a name: job namespace and name, dataset, environment, service, artifact,
/// repository, pipeline and task names.
pub const MAX_NAME_CHARS: usize = 512;
/// Characters kept of an error message (OpenLineage `errorMessage.message`, CDEvents `errors`)
/// or an incident description.
pub const MAX_MESSAGE_CHARS: usize = 4_096;
/// Characters kept of a stack trace (OpenLineage `errorMessage.stackTrace`).
pub const MAX_STACK_TRACE_CHARS: usize = 16_384;
/// Input datasets kept, and output datasets kept, per event.
pub const MAX_DATASETS: usize = 256;
/// Upstream dependencies kept, and downstream ones, per event (OpenLineage `jobDependencies`).
pub const MAX_JOB_DEPENDENCIES: usize = 256;
/// Run facet names kept per event, and CDEvents `links` kept per event.
pub const MAX_LINKS: usize = 64;
/// Appended to a cut string.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// One value the normalised event keeps shorter than it came.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// JSON pointer to the value in the raw event (`/run/facets/errorMessage/message`).
    pub pointer: String,
    /// Its length as sent (characters, or items for a list).
    pub original: usize,
    /// What was kept (characters before the marker, or items).
    pub kept: usize,
}

/// Cuts strings and lists to their bound and remembers what it cut.
#[derive(Debug, Default)]
pub(crate) struct Keeper {
    pub(crate) truncated: Vec<Truncation>,
}

impl Keeper {
    /// `s`, cut to `limit` characters plus [`TRUNCATION_MARKER`] when longer.
    pub(crate) fn text(&mut self, pointer: &str, s: &str, limit: usize) -> String {
        let original = s.chars().count();
        if original <= limit {
            return s.to_string();
        }
        self.truncated.push(Truncation {
            pointer: pointer.to_string(),
            original,
            kept: limit,
        });
        let mut kept: String = s.chars().take(limit).collect();
        kept.push_str(TRUNCATION_MARKER);
        kept
    }

    /// A name ([`MAX_NAME_CHARS`]).
    pub(crate) fn name(&mut self, pointer: &str, s: &str) -> String {
        self.text(pointer, s, MAX_NAME_CHARS)
    }

    /// The first `limit` items of `items`.
    pub(crate) fn list<T>(&mut self, pointer: &str, mut items: Vec<T>, limit: usize) -> Vec<T> {
        if items.len() > limit {
            self.truncated.push(Truncation {
                pointer: pointer.to_string(),
                original: items.len(),
                kept: limit,
            });
            items.truncate(limit);
        }
        items
    }
}

/// Refuses an identifier longer than [`MAX_ID_CHARS`].
pub(crate) fn check_id(pointer: &str, s: &str) -> Result<(), EventError> {
    let n = s.chars().count();
    if n > MAX_ID_CHARS {
        return Err(EventError::limit(
            pointer,
            format!("identifier is {n} characters long; Bearing keeps identifiers of at most {MAX_ID_CHARS}"),
            "use a shorter identifier: it is part of the event's idempotency key, so it is never cut",
        ));
    }
    Ok(())
}

/// Parses a request body as JSON and checks its nesting against [`MAX_DEPTH`].
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, EventError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            EventError::limit(
                "",
                format!(
                    "the body is nested too deeply (line {}, column {}): at most {MAX_DEPTH} levels of arrays and objects",
                    e.line(),
                    e.column()
                ),
                "flatten the document; no OpenLineage or CDEvents event needs this depth",
            )
        } else {
            EventError::new(
                crate::ErrorKind::Syntax,
                "",
                format!("the body is not valid JSON: {e}"),
                "send one UTF-8 JSON document (check the line and column named)",
            )
        }
    })?;
    check_depth(&value)?;
    Ok(value)
}

/// Finds the first value nested deeper than [`MAX_DEPTH`], without recursion.
fn check_depth(root: &Value) -> Result<(), EventError> {
    // (value, depth of the containers around it, pointer)
    let mut stack: Vec<(&Value, usize, String)> = vec![(root, 0, String::new())];
    while let Some((value, depth, pointer)) = stack.pop() {
        let children: Vec<(String, &Value)> = match value {
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
            Value::Object(map) => map.iter().map(|(k, v)| (crate::error::escape_token(k), v)).collect(),
            _ => continue,
        };
        if depth + 1 > MAX_DEPTH {
            return Err(EventError::limit(
                pointer,
                format!("nested deeper than {MAX_DEPTH} levels of arrays and objects"),
                "flatten the document; no OpenLineage or CDEvents event needs this depth",
            ));
        }
        for (token, child) in children.into_iter().rev() {
            stack.push((child, depth + 1, format!("{pointer}/{token}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_char_boundaries_and_recorded() {
        let mut k = Keeper::default();
        assert_eq!(k.text("/a", "héllo", 5), "héllo");
        assert!(k.truncated.is_empty());
        assert_eq!(k.text("/a", "héllo wörld", 4), format!("héll{TRUNCATION_MARKER}"));
        assert_eq!(
            k.truncated,
            vec![Truncation {
                pointer: "/a".into(),
                original: 11,
                kept: 4
            }]
        );
        assert_eq!(k.list("/l", vec![1, 2, 3], 2), vec![1, 2]);
        assert_eq!(k.truncated[1].original, 3);
    }

    #[test]
    fn depth_is_bounded_with_a_pointer() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_json(ok.as_bytes()).is_ok());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let e = parse_json(deep.as_bytes()).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Limit);
        assert_eq!(e.pointer, format!("/a{}", "/0".repeat(MAX_DEPTH - 1)));
    }
}
