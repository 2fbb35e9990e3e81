//! Where in a scorecard file a problem is, and the small readers that say so.

use crate::Error;
use bearing_policy::yaml::{pointer_token, Position, Positions};
use serde_json::{Map, Value};

use super::MAX_TEXT_CHARS;

/// An error in `file` at `at`.
pub(super) fn fail(file: &str, at: Option<Position>, message: impl Into<String>) -> Error {
    Error::Scorecard {
        file: file.to_string(),
        at,
        message: message.into(),
    }
}

/// One parsed file, for errors that point into it.
pub(super) struct Doc<'a> {
    /// The file, for messages.
    pub(super) file: &'a str,
    /// Where its nodes are.
    pub(super) positions: &'a Positions,
}

impl Doc<'_> {
    /// An error at the value at `pointer`, else at its key; a missing field's error points at
    /// the mapping that lacks it.
    pub(super) fn fail_value(&self, pointer: &str, message: impl Into<String>) -> Error {
        let at = self.locate(pointer, |p| self.positions.value(p).or_else(|| self.positions.key(p)));
        fail(self.file, at, message)
    }

    /// An error at the key of the entry at `pointer` (see [`Doc::fail_value`]).
    pub(super) fn fail_key(&self, pointer: &str, message: impl Into<String>) -> Error {
        let at = self.locate(pointer, |p| self.positions.key(p).or_else(|| self.positions.value(p)));
        fail(self.file, at, message)
    }

    fn locate(&self, mut pointer: &str, find: impl Fn(&str) -> Option<Position>) -> Option<Position> {
        loop {
            if let Some(at) = find(pointer) {
                return Some(at);
            }
            pointer = &pointer[..pointer.rfind('/')?];
        }
    }

    pub(super) fn object<'v>(
        &self,
        value: &'v Value,
        pointer: &str,
        want: &str,
    ) -> Result<&'v Map<String, Value>, Error> {
        value.as_object().ok_or_else(|| {
            let what = if pointer.is_empty() {
                "the file".to_string()
            } else {
                format!("`{}`", display(pointer))
            };
            self.fail_value(pointer, format!("{what} must be {want}"))
        })
    }

    pub(super) fn known_fields(&self, map: &Map<String, Value>, pointer: &str, known: &[&str]) -> Result<(), Error> {
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => {
                let at = child(pointer, unknown);
                Err(self.fail_key(
                    &at,
                    format!(
                        "unknown field `{}`; expected one of: {}",
                        display(&at),
                        known.join(", ")
                    ),
                ))
            }
            None => Ok(()),
        }
    }

    /// A required, non-blank text field of the mapping at `pointer`.
    pub(super) fn text(
        &self,
        map: &Map<String, Value>,
        pointer: &str,
        field: &str,
        example: &str,
    ) -> Result<Option<String>, Error> {
        match self.optional_text(map, pointer, field)? {
            Some(text) => Ok(Some(text)),
            None => {
                let at = if pointer.is_empty() {
                    "the file".to_string()
                } else {
                    format!("`{}`", display(pointer))
                };
                Err(self.fail_value(pointer, format!("{at} has no `{field}`; add e.g. {example}")))
            }
        }
    }

    /// An optional text field (absent or `null` is `None`; blank is refused).
    pub(super) fn optional_text(
        &self,
        map: &Map<String, Value>,
        pointer: &str,
        field: &str,
    ) -> Result<Option<String>, Error> {
        let at = child(pointer, field);
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(self.fail_value(
                &at,
                format!("`{}` is blank; write it or remove the field", display(&at)),
            )),
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => Err(self.fail_value(
                &at,
                format!(
                    "`{}` is longer than {MAX_TEXT_CHARS} characters; shorten it",
                    display(&at)
                ),
            )),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(self.fail_value(
                &at,
                format!("`{}` must be text; quote it if it looks like a number", display(&at)),
            )),
        }
    }
}

/// The pointer of `key` in the mapping at `pointer`.
pub(super) fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", pointer_token(key))
}

/// A pointer as people write paths: `/levels/0/checks/2/id` is `levels[0].checks[2].id`.
pub(super) fn display(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}
