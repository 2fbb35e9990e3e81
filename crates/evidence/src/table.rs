//! CSV entries: RFC 4180, and safe to open in a spreadsheet.

use std::borrow::Cow;
use std::io::Write;

use crate::bundle::EntryWriter;
use crate::EvidenceError;

/// The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"):
/// `=`, `+`, `-`, `@`, and tab or carriage return, which some spreadsheets skip before looking
/// for one of the others.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written to a CSV: `'` put in front of a cell that starts like a formula, or that
/// already starts with `'`, otherwise the cell unchanged.
///
/// Catalog data is written by anyone who can edit a component, and auditors open these files in
/// Excel, where `=HYPERLINK(…)` or `=cmd|'/c calc'!A1` would run. OWASP's remedy is a leading `'`,
/// which makes the cell text. Prefixing cells that already start with `'` as well makes the rule
/// reversible, as `VERIFY.md` tells the auditor: a cell starting with `'` had exactly one `'`
/// added, so dropping it gives the value Bearing holds (which the sample redraw relies on).
/// Negative numbers are prefixed too: the rule stays simple enough to state in one sentence.
pub fn neutralise_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if c == '\'' || FORMULA_START.contains(&c) => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Rows of one CSV entry, written as they come.
///
/// The format is RFC 4180: UTF-8 (no byte order mark), `,` between cells, CRLF after every row,
/// and a cell in double quotes (inner quotes doubled) when it contains a comma, a quote, CR or
/// LF. Every row has as many cells as the header. Every cell, header included, goes through
/// [`neutralise_cell`].
///
/// Rows pass through the `csv` crate's buffer (8 KiB) on their way into the zip, so memory stays
/// bounded however many rows there are. Call [`finish`](Self::finish) to flush it and see any
/// error; dropping the writer flushes too, but ignores errors.
pub struct CsvWriter<'a, W: Write> {
    path: String,
    inner: csv::Writer<EntryWriter<'a, W>>,
    rows: u64,
}

impl<'a, W: Write> CsvWriter<'a, W> {
    pub(crate) fn new<I, S>(path: &str, entry: EntryWriter<'a, W>, header: I) -> Result<Self, EvidenceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let inner = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .flexible(false)
            .from_writer(entry);
        let mut writer = Self {
            path: path.to_owned(),
            inner,
            rows: 0,
        };
        writer.write(header)?;
        Ok(writer)
    }

    /// Writes one row. An error if it has a different number of cells than the header.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), EvidenceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.write(cells)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes the last rows into the zip and returns how many rows (header excluded) were
    /// written.
    pub fn finish(self) -> Result<u64, EvidenceError> {
        let Self { path, inner, rows } = self;
        // `into_inner` flushes, and leaves nothing for the writer's drop to flush again.
        inner.into_inner().map_err(|e| EvidenceError::Csv {
            path,
            source: e.into_error().into(),
        })?;
        Ok(rows)
    }

    fn write<I, S>(&mut self, cells: I) -> Result<(), EvidenceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for cell in cells {
            let cell = neutralise_cell(cell.as_ref());
            self.inner.write_field(cell.as_bytes()).map_err(|e| self.error(e))?;
        }
        // An empty record ends the row (and checks its length against the header).
        self.inner.write_record(None::<&[u8]>).map_err(|e| self.error(e))
    }

    fn error(&self, source: csv::Error) -> EvidenceError {
        EvidenceError::Csv {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        for (cell, expected) in [
            ("=cmd|'/c calc'!A1", "'=cmd|'/c calc'!A1"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("'quoted", "''quoted"),
        ] {
            assert_eq!(neutralise_cell(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn other_cells_are_untouched() {
        for cell in ["", "component:default/api", "a=b", "1-2", " =x", "\n=x", "é=", "\"=x\""] {
            assert!(
                matches!(neutralise_cell(cell), Cow::Borrowed(c) if c == cell),
                "{cell:?}"
            );
        }
    }

    /// Dropping the first `'` of a cell that starts with one gives back the original, whatever
    /// it was.
    #[test]
    fn neutralisation_is_reversible() {
        for cell in ["'", "''", "'=x", "=x", "x", "", "-", "+'"] {
            let written = neutralise_cell(cell).into_owned();
            let read = written.strip_prefix('\'').unwrap_or(&written);
            assert_eq!(read, cell);
        }
    }
}
