//! Text from outside (callers, identity providers, catalog files, tokens' names) on its way into
//! the server log or the audit log. Both are read in terminals and pages that trust line breaks
//! and escape sequences: a caller who can put CR/LF or ESC into either can forge log lines or
//! rewrite what an operator's terminal shows. [`printable`] is the one place that text is made
//! safe; the audit log's append boundary and every log line that carries caller text use it.

use std::borrow::Cow;

/// `text` without control characters: tabs and line breaks become spaces, every other C0/C1
/// control (ESC, NUL, DEL, ...) and the bidirectional overrides that reorder what a reader
/// sees (U+202A-U+202E, U+2066-U+2069) are removed. Borrowed when nothing changes.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\t' | '\n' | '\r' => Some(' '),
                c if unsafe_char(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_stripped_and_line_breaks_become_spaces() {
        assert_eq!(
            printable("denied\r\n2026-01-01 INFO forged\x1b[2J\x00\x7f\u{9b}"),
            "denied  2026-01-01 INFO forged[2J"
        );
        assert_eq!(printable("a\u{202E}b\u{2066}c"), "abc");
        assert!(matches!(printable("plain text, ünïcode"), Cow::Borrowed(_)));
    }
}
