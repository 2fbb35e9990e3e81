//! The one error type: what is wrong, where (a JSON pointer into the request body), how to fix it.
//!
//! Every refusal names a place and a fix, because the reader is a person configuring a producer
//! (an Airflow deployment, a Tekton controller) who cannot see Bearing's code. The server turns an
//! [`EventError`] into a problem body with [`EventError::problem`] and picks the status from
//! [`EventError::kind`].

use serde::Serialize;

/// Why an event was refused; the server maps it to an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The body is not JSON, or not UTF-8 (400).
    Syntax,
    /// The event breaks its specification: its JSON schema, or a rule the schema cannot say
    /// (a run id that is not a UUID, an unparseable timestamp) (422).
    Invalid,
    /// Over one of Bearing's bounds: events in a batch, nesting depth, identifier length (413).
    Limit,
    /// Well-formed, but not something Bearing takes: a DatasetEvent, a CDEvent type outside the
    /// list, a CloudEvents version other than 1.0, a non-JSON event format (422 or 415).
    Unsupported,
}

/// A refused request or event.
///
/// `Display` reads as one sentence for an API client: `/run/runId: required property "runId" is
/// missing; to fix, add "runId" to the object at /run (schema: OpenLineage 2-0-2 RunEvent)`.
/// Without a pointer it is the message and the fix alone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}; to fix, {hint}", located(pointer))]
pub struct EventError {
    /// Why, for the status code.
    pub kind: ErrorKind,
    /// RFC 6901 JSON pointer into the request body (`/run/runId`, `/3/eventType` for the fourth
    /// event of a batch); for a missing property, where it should be. Empty for the whole body
    /// and for CloudEvents binary-mode headers, which [`EventError::message`] then names.
    pub pointer: String,
    /// What is wrong, with the offending value when it helps (truncated).
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// The problem body an API answers with: `{"pointer": …, "message": …, "hint": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem<'a> {
    /// See [`EventError::pointer`].
    pub pointer: &'a str,
    /// See [`EventError::message`].
    pub message: &'a str,
    /// See [`EventError::hint`].
    pub hint: &'a str,
}

impl EventError {
    pub(crate) fn new(
        kind: ErrorKind,
        pointer: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            pointer: pointer.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn invalid(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, pointer, message, hint)
    }

    pub(crate) fn unsupported(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, pointer, message, hint)
    }

    pub(crate) fn limit(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Limit, pointer, message, hint)
    }

    /// The same error, located inside a larger document: `/run/runId` under `/3` is
    /// `/3/run/runId`.
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.pointer = format!("{prefix}{}", self.pointer);
        self
    }

    /// The problem body: `{pointer, message, hint}`.
    pub fn problem(&self) -> Problem<'_> {
        Problem {
            pointer: &self.pointer,
            message: &self.message,
            hint: &self.hint,
        }
    }
}

impl Serialize for EventError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.problem().serialize(serializer)
    }
}

fn located(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!("{pointer}: ")
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901: `~` → `~0`, `/` → `~1`).
pub(crate) fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_problem_body() {
        let e = EventError::invalid("/run/runId", "required property \"runId\" is missing", "add it");
        assert_eq!(
            e.to_string(),
            "/run/runId: required property \"runId\" is missing; to fix, add it"
        );
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"pointer": "/run/runId", "message": "required property \"runId\" is missing", "hint": "add it"})
        );
        let whole = EventError::new(ErrorKind::Syntax, "", "not JSON", "send JSON");
        assert_eq!(whole.to_string(), "not JSON; to fix, send JSON");
        assert_eq!(e.under("/3").pointer, "/3/run/runId");
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
    }
}
