//! Scorecards: the example directory loads, every rule parses, bad files are refused at the
//! right line with a fix, levels and unknown facts are judged as documented, and roll-ups and
//! trends add up by hand.

mod card;
mod errors;
mod evaluate;
mod roll_up;
mod trend;

use bearing_scorecards::card::parse;
use bearing_scorecards::Scorecard;

/// A one-level card whose single check has `rule` (YAML lines at check indent) at line 8.
fn card_with_rule(rule: &str) -> String {
    format!(
        "name: c\ntitle: T\nlevels:\n  - name: Bronze\n    checks:\n      - id: a\n        title: A\n{}",
        rule.lines().map(|l| format!("        {l}\n")).collect::<String>()
    )
}

/// The error `text` is refused with, as the server would print it.
#[track_caller]
fn refused(text: &str) -> String {
    parse("card.yaml", text).unwrap_err().to_string()
}

/// Asserts the error is at `line:column` and says `says`.
#[track_caller]
fn assert_refused(text: &str, line: usize, column: usize, says: &str) {
    let error = refused(text);
    let at = format!("card.yaml:{line}:{column}: ");
    assert!(error.starts_with(&at), "expected {at}…, got {error}\n---\n{text}");
    assert!(error.contains(says), "expected `{says}` in {error}");
}

#[track_caller]
fn parsed(text: &str) -> Scorecard {
    parse("card.yaml", text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}
