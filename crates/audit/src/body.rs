use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};

/// The `prev_hash` of the first row (seq 1). All zeroes, so a chain's start needs no secret and
/// no configuration: any row claiming to be first must link to exactly this value.
pub const GENESIS: [u8; 32] = [0; 32];

/// What one audit row says. This is the hashed content; `prev_hash` and `hash` live beside it in
/// [`StoredEntry`].
///
/// Serialization is the hashed form, so it is part of the on-disk format:
/// * `at` is written as RFC 3339 in UTC with exactly six fractional digits (see
///   [`format_timestamp`]), whatever offset and precision the value carries.
/// * Absent optional fields are omitted rather than written as `null`, so that an optional field
///   added in a later version leaves the hashes of older rows unchanged. For `before`/`after`,
///   `Some(Value::Null)` counts as absent too: the database may hand back SQL `NULL` or JSON
///   `null` for the same row, and both must hash alike.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EntryBody {
    /// Position in the log, starting at 1, without gaps.
    pub seq: i64,
    /// When the action happened. Hashed at microsecond precision in UTC.
    #[serde(with = "timestamp")]
    pub at: OffsetDateTime,
    /// Who did it: a user name, a token id, or the name of a system job.
    pub actor: String,
    /// `"user"`, `"token"` or `"system"`. A string, not an enum, so that a verifier never fails to
    /// read (and therefore to hash) a row written by a newer server.
    pub actor_kind: String,
    /// What was done, e.g. `"entity.update"`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "json_absent")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "json_absent")]
    pub after: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
}

fn json_absent(value: &Option<serde_json::Value>) -> bool {
    matches!(value, None | Some(serde_json::Value::Null))
}

impl EntryBody {
    /// A body with the required fields and no optional ones.
    ///
    /// `at` is converted to UTC and truncated to microseconds here, so the value the server binds
    /// into PostgreSQL (which keeps microseconds) is exactly the value it hashed, and the row read
    /// back compares equal to the one written.
    pub fn new(
        seq: i64,
        at: OffsetDateTime,
        actor: impl Into<String>,
        actor_kind: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self {
            seq,
            at: truncate_to_micros(at),
            actor: actor.into(),
            actor_kind: actor_kind.into(),
            action: action.into(),
            target: None,
            before: None,
            after: None,
            reason: None,
            request_id: None,
            client_addr: None,
        }
    }
}

/// A row as stored: its body, the hash of the row before it, and its own hash.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEntry {
    pub body: EntryBody,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

impl StoredEntry {
    /// Links `body` after the row whose hash is `prev_hash` (use [`GENESIS`] for seq 1): what the
    /// server does when it appends.
    pub fn seal(prev_hash: [u8; 32], body: EntryBody) -> Self {
        let hash = entry_hash(&prev_hash, &body);
        Self { body, prev_hash, hash }
    }
}

/// `at` in UTC, with the sub-microsecond part dropped.
///
/// PostgreSQL `timestamptz` keeps microseconds (and sqlx's binary encoding truncates to them), so
/// anything finer would not survive the round trip and the row read back would hash differently.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    let nanos = at.nanosecond();
    // `nanosecond()` is always below 1e9, so the truncated value is always valid.
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// The one textual form of a timestamp in hashed and signed data: RFC 3339, UTC written as `Z`,
/// exactly six fractional digits, e.g. `2024-05-01T12:00:00.000000Z`.
///
/// Written by hand rather than through a format description so it cannot fail and cannot change
/// with the `time` crate's defaults. Years are written with four digits (0000–9999).
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = truncate_to_micros(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// The bytes that are hashed for a body: RFC 8785 (JCS) canonical JSON.
///
/// JCS fixes key order (sorted by UTF-16 code units), whitespace, string escaping and number
/// formatting, so the same body gives the same bytes in any implementation and for any key order
/// in `before`/`after`.
pub fn canonical_bytes(body: &EntryBody) -> Vec<u8> {
    // Every field is a string, an integer, a timestamp (formatted infallibly) or a
    // `serde_json::Value` (which cannot hold NaN or infinities), so serialization cannot fail.
    serde_jcs::to_vec(body).expect("an EntryBody always serializes to canonical JSON")
}

/// A row's hash: `SHA-256(prev || canonical_bytes(body))`.
///
/// Including the previous row's hash is what chains the rows: changing any row changes every
/// hash after it.
pub fn entry_hash(prev: &[u8; 32], body: &EntryBody) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical_bytes(body));
    hasher.finalize().into()
}

pub(crate) mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcOffset};

    pub(crate) fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_timestamp(*at))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|at| at.to_offset(UtcOffset::UTC))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamp_form_is_utc_z_with_six_digits() {
        assert_eq!(
            format_timestamp(datetime!(2024-05-01 14:00:00.123456789 +02:00)),
            "2024-05-01T12:00:00.123456Z"
        );
        assert_eq!(
            format_timestamp(datetime!(2024-05-01 12:00:00 UTC)),
            "2024-05-01T12:00:00.000000Z"
        );
    }

    #[test]
    fn json_null_and_absent_hash_alike() {
        let mut a = EntryBody::new(1, datetime!(2024-05-01 12:00:00 UTC), "alice", "user", "x");
        let b = a.clone();
        a.before = Some(serde_json::Value::Null);
        assert_eq!(canonical_bytes(&a), canonical_bytes(&b));
    }
}
