//! Timestamps as producers really send them.
//!
//! The schemas say `format: date-time` (RFC 3339), and CDEvents and CloudEvents producers keep
//! to it. OpenLineage's own Python client does not always: its test fixture
//! `client/python/tests/serde_example_run_event.json` has `"eventTime": "2021-11-03T10:53:52.427343"`
//! (Python's `datetime.isoformat()` of a naive datetime) and `"nominalStartTime": "2020-01-01"`.
//! So OpenLineage times without an offset are read as UTC, and nominal times may be bare dates
//! (midnight UTC); both leniencies are OpenLineage-only.

use crate::error::EventError;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// How strict to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leniency {
    /// RFC 3339 only.
    Rfc3339,
    /// Also an ISO 8601 date-time without offset (read as UTC).
    NaiveUtc,
    /// Also a bare date (midnight UTC).
    NaiveOrDate,
}

pub(crate) fn parse(pointer: &str, s: &str, leniency: Leniency) -> Result<OffsetDateTime, EventError> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    if leniency != Leniency::Rfc3339 {
        if let Ok(t) = PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
            return Ok(t.assume_utc());
        }
        // A full ISO 8601 value with an offset that RFC 3339 refuses (`+0000`).
        if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
            return Ok(t);
        }
    }
    if leniency == Leniency::NaiveOrDate {
        if let Ok(d) = Date::parse(s, &Iso8601::DEFAULT) {
            return Ok(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
        }
    }
    let shown: String = s.chars().take(64).collect();
    Err(EventError::invalid(
        pointer,
        format!("{shown:?} is not a timestamp"),
        "send an RFC 3339 date-time with an offset, e.g. \"2024-05-01T12:30:00.000Z\"",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn accepts_what_producers_send() {
        let p = |s, l| parse("/t", s, l);
        assert_eq!(
            p("2020-12-28T19:51:01.641Z", Leniency::Rfc3339).unwrap(),
            datetime!(2020-12-28 19:51:01.641 UTC)
        );
        assert_eq!(
            p("2024-01-01T10:00:00+02:00", Leniency::Rfc3339).unwrap(),
            datetime!(2024-01-01 08:00:00 UTC)
        );
        assert!(p("2021-11-03T10:53:52.427343", Leniency::Rfc3339).is_err());
        assert_eq!(
            p("2021-11-03T10:53:52.427343", Leniency::NaiveUtc).unwrap(),
            datetime!(2021-11-03 10:53:52.427343 UTC)
        );
        assert!(p("2020-01-01", Leniency::NaiveUtc).is_err());
        assert_eq!(
            p("2020-01-01", Leniency::NaiveOrDate).unwrap(),
            datetime!(2020-01-01 0:00 UTC)
        );
        let e = p("yesterday", Leniency::NaiveOrDate).unwrap_err();
        assert_eq!(e.pointer, "/t");
        assert!(e.message.contains("\"yesterday\" is not a timestamp"));
    }
}
