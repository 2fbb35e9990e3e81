//! The period an export covers, checked before anything is read.

use time::{Duration, OffsetDateTime};

use super::EvidenceQuery;
use crate::error::AppError;

/// The longest period one export covers: three years and a day, beyond any audit window.
pub const MAX_SPAN: Duration = Duration::days(3 * 366);

/// The longest sampling seed, in characters.
pub const MAX_SEED_CHARS: usize = 128;

/// A checked request: `[from, to)` and the seed samples are drawn with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    /// As given; `None` means the period text is the seed ([`Period::seed`]).
    pub sample_seed: Option<String>,
}

impl Period {
    /// Checks `q` against `now`: both ends given and parseable, `from < to`, the span at most
    /// [`MAX_SPAN`], the end at most a day ahead, and a printable seed of at most
    /// [`MAX_SEED_CHARS`] characters.
    pub fn parse(q: &EvidenceQuery, now: OffsetDateTime) -> Result<Period, AppError> {
        let from = required("from", q.from.as_deref())?;
        let to = required("to", q.to.as_deref())?;
        if from >= to {
            return Err(AppError::invalid(
                "to",
                "must be after `from`: the period is [from, to)",
            ));
        }
        if to - from > MAX_SPAN {
            return Err(AppError::invalid(
                "to",
                "the period may span at most three years; export longer periods in parts",
            ));
        }
        if to > now + Duration::days(1) {
            return Err(AppError::invalid(
                "to",
                "lies in the future: evidence is what happened, so the period must end by tomorrow",
            ));
        }
        let sample_seed = q.sample_seed.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(seed) = sample_seed {
            if seed.chars().count() > MAX_SEED_CHARS {
                return Err(AppError::invalid(
                    "sample_seed",
                    format!("at most {MAX_SEED_CHARS} characters"),
                ));
            }
            if seed.chars().any(char::is_control) {
                return Err(AppError::invalid("sample_seed", "use printable characters only"));
            }
        }
        Ok(Period {
            from,
            to,
            sample_seed: sample_seed.map(str::to_owned),
        })
    }

    /// The seed samples are drawn with: the auditor's, or else `FROM..TO` in RFC 3339.
    pub fn seed(&self) -> String {
        self.sample_seed
            .clone()
            .unwrap_or_else(|| format!("{}..{}", rfc3339(self.from), rfc3339(self.to)))
    }
}

fn required(field: &str, value: Option<&str>) -> Result<OffsetDateTime, AppError> {
    crate::audit::service::parse_time(field, value)?
        .ok_or_else(|| AppError::invalid(field, "is required: a date such as 2026-10-01 or an RFC 3339 time"))
}

/// RFC 3339 in UTC, as every time in the bundle is written.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str, seed: Option<&str>) -> EvidenceQuery {
        EvidenceQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            sample_seed: seed.map(str::to_owned),
        }
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-05 12:00 UTC)
    }

    #[test]
    fn dates_and_times_make_a_period() {
        let p = Period::parse(&q("2026-10-01", "2026-12-01T00:00:00Z", None), now()).unwrap();
        assert_eq!(p.from, time::macros::datetime!(2026-10-01 0:00 UTC));
        assert_eq!(p.seed(), "2026-10-01T00:00:00Z..2026-12-01T00:00:00Z");
        let p = Period::parse(&q("2026-10-01", "2026-12-01", Some(" Q4 ")), now()).unwrap();
        assert_eq!(p.seed(), "Q4");
    }

    #[test]
    fn bad_periods_say_which_field_and_why() {
        for (from, to, seed, field) in [
            ("", "2026-12-01", None, "from"),
            ("2026-12-01", "2026-10-01", None, "to"),
            ("2020-01-01", "2026-12-01", None, "to"),
            ("2026-10-01", "2027-01-01", None, "to"),
            ("yesterday", "2026-12-01", None, "from"),
            ("2026-10-01", "2026-12-01", Some("a\u{7}b"), "sample_seed"),
        ] {
            match Period::parse(&q(from, to, seed), now()) {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field, "{from}..{to}"),
                other => panic!("{from}..{to}: {other:?}"),
            }
        }
        let long = "x".repeat(MAX_SEED_CHARS + 1);
        assert!(Period::parse(&q("2026-10-01", "2026-12-01", Some(&long)), now()).is_err());
    }
}
