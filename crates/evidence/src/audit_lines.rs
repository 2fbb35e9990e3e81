//! The audit log as the bundle carries it: `audit/audit_log.jsonl`, `audit/checkpoints.jsonl` and
//! the checker `audit/verify_chain.py`.
//!
//! Each row line carries the exact text that was hashed (`canonical`) next to the body as
//! ordinary JSON, so the checker can do both halves of the job with the Python standard library:
//! recompute RFC 8785 from the body and compare it with `canonical` (the body says what the row
//! says), then recompute `SHA-256(prev_hash || canonical)` (the row is the one the chain and the
//! checkpoints vouch for).

use std::io::Write;

use bearing_audit::{canonical_bytes, format_timestamp, ChainHead, Checkpoint, EntryBody, StoredEntry};
use serde::{Deserialize, Serialize};

use crate::{BundleWriter, EvidenceError};

/// `audit/audit_log.jsonl`.
pub const AUDIT_LOG_PATH: &str = "audit/audit_log.jsonl";
/// `audit/checkpoints.jsonl`.
pub const CHECKPOINTS_PATH: &str = "audit/checkpoints.jsonl";
/// `audit/verify_chain.py`.
pub const VERIFY_CHAIN_PATH: &str = "audit/verify_chain.py";

/// The checker, Python 3 standard library plus the `openssl` binary; write it to
/// [`VERIFY_CHAIN_PATH`]. It reads [`AuditLogLine`]s and [`CheckpointLine`]s and exits 0 only if
/// every row and checkpoint holds.
pub const VERIFY_CHAIN_PY: &str = include_str!("../assets/verify_chain.py");

/// One line of `audit/audit_log.jsonl`, for one audit row:
///
/// ```text
/// {"seq":7,"prev_hash":"<64 hex>","hash":"<64 hex>","canonical":"{\"action\":…}","body":{"action":…}}
/// ```
///
/// `hash` is `SHA-256(prev_hash || canonical as UTF-8)`; `canonical` is the RFC 8785 form of
/// `body` ([`canonical_bytes`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditLogLine {
    /// The row's position in the log, also in `body`; repeated first so the file reads easily.
    pub seq: i64,
    /// Hash of the row before (all zeroes for row 1), 64 hex digits.
    #[serde(with = "hex_bytes")]
    pub prev_hash: [u8; 32],
    /// The row's hash as stored, 64 hex digits.
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
    /// The hashed bytes, as text (JCS output is always UTF-8).
    pub canonical: String,
    /// The row's content as ordinary JSON, for reading and for recomputing `canonical`.
    pub body: EntryBody,
}

impl AuditLogLine {
    /// The line for a row as read from the database. The row is not checked here: a tampered
    /// row goes into the bundle as it is, and the checker reports it.
    pub fn from_entry(entry: &StoredEntry) -> Self {
        let canonical =
            String::from_utf8(canonical_bytes(&entry.body)).expect("RFC 8785 output is JSON text, always valid UTF-8");
        Self {
            seq: entry.body.seq,
            prev_hash: entry.prev_hash,
            hash: entry.hash,
            canonical,
            body: entry.body.clone(),
        }
    }
}

/// One line of `audit/checkpoints.jsonl`: exactly the shipped checkpoint form that
/// `bearing audit checkpoints` prints, so one checker reads both:
///
/// ```text
/// {"seq":1000,"head_hash":"<64 hex>","at":"2024-05-01T12:00:00.250000Z","key_id":"<16 hex>","signature":"<128 hex>"}
/// ```
///
/// The signature is Ed25519 over `bearing-audit-checkpoint-v1\n<seq>\n<head_hash>\n<at>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointLine {
    /// The row whose hash was signed.
    pub seq: i64,
    /// That row's hash, 64 hex digits.
    #[serde(with = "hex_bytes")]
    pub head_hash: [u8; 32],
    /// RFC 3339 UTC with six fractional digits, as signed.
    pub at: String,
    /// First 16 hex digits of the signing key's fingerprint.
    pub key_id: String,
    /// Ed25519 signature, 128 hex digits.
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
}

impl From<&Checkpoint> for CheckpointLine {
    fn from(checkpoint: &Checkpoint) -> Self {
        Self {
            seq: checkpoint.seq,
            head_hash: checkpoint.head_hash,
            at: format_timestamp(checkpoint.at),
            key_id: checkpoint.key_id.clone(),
            signature: checkpoint.signature,
        }
    }
}

/// Writes the audit section: `audit/audit_log.jsonl` (one line per row, streamed from `rows` in
/// seq order), `audit/checkpoints.jsonl` and `audit/verify_chain.py`. Returns the last row's
/// `SEQ:HASH`, the head the checker prints (and a good chain head for sampling), or `None` when
/// the period has no rows.
///
/// Give it the checkpoints whose seq lies within the rows: the checker fails on a checkpoint it
/// cannot match to a row of the bundle.
pub fn write_audit<W, I>(
    bundle: &mut BundleWriter<W>,
    rows: I,
    checkpoints: &[Checkpoint],
) -> Result<Option<ChainHead>, EvidenceError>
where
    W: Write,
    I: IntoIterator<Item = StoredEntry>,
{
    let mut head = None;
    let mut log = bundle.writer(AUDIT_LOG_PATH)?;
    for row in rows {
        log.json_line(&AuditLogLine::from_entry(&row))?;
        head = Some(ChainHead {
            seq: row.body.seq,
            hash: row.hash,
        });
    }
    write_checkpoints_and_checker(bundle, checkpoints)?;
    Ok(head)
}

/// The rest of the audit section after `audit/audit_log.jsonl`: `audit/checkpoints.jsonl` and
/// `audit/verify_chain.py`. For a writer that streams the log's rows itself (from a database
/// cursor, pumping the bundle between rows) instead of through [`write_audit`].
pub fn write_checkpoints_and_checker<W: Write>(
    bundle: &mut BundleWriter<W>,
    checkpoints: &[Checkpoint],
) -> Result<(), EvidenceError> {
    let mut lines = bundle.writer(CHECKPOINTS_PATH)?;
    for checkpoint in checkpoints {
        lines.json_line(&CheckpointLine::from(checkpoint))?;
    }
    bundle.file(VERIFY_CHAIN_PATH, VERIFY_CHAIN_PY.as_bytes())
}

/// Fixed-length byte arrays as lowercase hex strings.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0u8; N];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|e| serde::de::Error::custom(format!("expected {} hex digits: {e}", 2 * N)))?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_audit::{entry_hash, SigningKey, GENESIS};
    use time::macros::datetime;

    #[test]
    fn audit_line_carries_the_hashed_text() {
        let mut body = EntryBody::new(1, datetime!(2024-05-01 12:00:00 UTC), "alice", "user", "entity.update");
        body.after = Some(serde_json::json!({"b": 1, "a": "é"}));
        let entry = StoredEntry::seal(GENESIS, body);
        let line = AuditLogLine::from_entry(&entry);
        assert_eq!(line.canonical.as_bytes(), canonical_bytes(&entry.body));
        assert_eq!(line.hash, entry_hash(&GENESIS, &entry.body));
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(&format!(r#"{{"seq":1,"prev_hash":"{}","hash":"#, "0".repeat(64))),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<AuditLogLine>(&text).unwrap(), line);
    }

    #[test]
    fn checkpoint_line_is_the_shipped_checkpoint_form() {
        let key = SigningKey::generate();
        let checkpoint = key.sign_checkpoint(9, [3; 32], datetime!(2024-05-01 12:00:00.25 UTC));
        assert_eq!(
            serde_json::to_string(&CheckpointLine::from(&checkpoint)).unwrap(),
            serde_json::to_string(&checkpoint).unwrap()
        );
    }
}
