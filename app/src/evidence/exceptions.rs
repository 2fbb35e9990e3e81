//! `exceptions.csv`: what a reviewer would flag, found while the populations are written.

use std::collections::BTreeMap;

/// The columns of `exceptions.csv`.
pub const HEADER: [&str; 5] = ["control", "kind", "subject", "detail", "at"];

/// Rows kept for the file; beyond this the rest are counted (and the count is a row itself), so
/// a pathological period cannot grow the export's memory without bound.
pub const MAX_ROWS: usize = 100_000;

/// The exceptions found so far.
#[derive(Debug, Default)]
pub struct Exceptions {
    rows: Vec<[String; 5]>,
    /// Per control id of `controls.csv`, all found (kept or not).
    counts: BTreeMap<String, u64>,
    dropped: u64,
}

impl Exceptions {
    /// Records one exception under the control `control` (an id of
    /// [`bearing_evidence::CONTROLS`]).
    pub fn flag(&mut self, control: &str, kind: &str, subject: &str, detail: String, at: String) {
        *self.counts.entry(control.to_owned()).or_default() += 1;
        if self.rows.len() < MAX_ROWS {
            self.rows
                .push([control.to_owned(), kind.to_owned(), subject.to_owned(), detail, at]);
        } else {
            self.dropped += 1;
        }
    }

    /// Marks `control` as assessed, so `controls.csv` shows 0 rather than "not assessed".
    pub fn assessed(&mut self, control: &str) {
        self.counts.entry(control.to_owned()).or_default();
    }

    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The rows, worst control first as `controls.csv` lists them, then a row counting what
    /// did not fit.
    pub fn into_rows(mut self) -> Vec<[String; 5]> {
        let order = |control: &str| {
            bearing_evidence::CONTROLS
                .iter()
                .position(|c| c.id == control)
                .unwrap_or(usize::MAX)
        };
        self.rows
            .sort_by(|a, b| (order(&a[0]), &a[1], &a[2]).cmp(&(order(&b[0]), &b[1], &b[2])));
        if self.dropped > 0 {
            self.rows.push([
                "populations".into(),
                "truncated".into(),
                "exceptions.csv".into(),
                format!(
                    "{} more exceptions were found than this file lists; the counts in controls.csv include them",
                    self.dropped
                ),
                String::new(),
            ]);
        }
        self.rows
    }
}
