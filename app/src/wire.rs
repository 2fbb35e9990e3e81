//! How values are written on the wire: in server-function answers, the JSON API and the pages.
//! One function per kind of value, so every answer writes it the same way.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 (`2026-11-23T10:00:00Z`), the wire form of every time. Empty for a time RFC 3339
/// cannot write (an offset with seconds), which PostgreSQL's `timestamptz` never gives.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_are_rfc3339_in_their_offset() {
        assert_eq!(rfc3339(datetime!(2026-11-23 10:00 UTC)), "2026-11-23T10:00:00Z");
        assert_eq!(
            rfc3339(datetime!(2026-11-23 10:00:00.5 +01:00)),
            "2026-11-23T10:00:00.5+01:00"
        );
        assert_eq!(
            rfc3339(datetime!(2026-11-23 10:00 +01:00:30)),
            "",
            "offsets with seconds have no RFC 3339 form"
        );
    }
}
