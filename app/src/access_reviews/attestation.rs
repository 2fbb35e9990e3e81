//! The attestation a closed review is signed with: a canonical JSON document naming the review
//! and the SHA-256 of its entries, each entry one canonical JSON line (who was reviewed, for
//! which role and how it was granted, who decided what and when).
//!
//! "Canonical" here means: compact JSON as `serde_json` writes it, keys in the fixed order of
//! the structs below (alphabetical, so a reader can reproduce it with `json.dumps(...,
//! sort_keys=True, separators=(",", ":"), ensure_ascii=False)`), times in RFC 3339 UTC, one
//! line per entry in entry-id order, each ending in `\n`. The lines are stored as signed, so the
//! bundle's `entries.jsonl` is byte for byte what the attestation hashes: `sha256sum
//! entries.jsonl` shows the attestation's `entries_sha256`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::repo::EntryRow;
use crate::wire::rfc3339;

/// The attestation's format name, bumped if the document or the lines ever change shape.
pub const FORMAT: &str = "bearing.access-review.attestation/1";

/// The signed document. Field order is the canonical key order: keep it alphabetical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub closed_at: String,
    pub closed_by: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// How many entries the review has.
    pub entries: u64,
    /// SHA-256 of the entries' canonical JSON lines ([`entries_jsonl`]), 64 hex digits.
    pub entries_sha256: String,
    pub format: String,
    pub kept: u64,
    /// SHA-256 of the signing key's raw public key, so a reader knows which key to verify with.
    pub key_fingerprint: String,
    pub opened_at: String,
    pub opened_by: String,
    pub review_id: i64,
    pub revoked: u64,
    /// `all` or the team's reference key.
    pub scope: String,
    /// Entries nobody but their subject could review, sealed without a decision.
    pub undecided: u64,
}

impl Attestation {
    /// The exact bytes that are signed.
    pub fn to_document(&self) -> String {
        // Strings, integers and a flat struct: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One entry as hashed. Field order is the canonical key order: keep it alphabetical.
#[derive(Serialize)]
struct EntryLine<'a> {
    /// `team_leads:<team>`, `admins` or `unassigned`.
    assigned_to: String,
    decided_at: Option<String>,
    /// Who reviewed it.
    decided_by: Option<&'a str>,
    /// `keep`, `revoke` or `undecided`.
    decision: &'a str,
    entry_id: i64,
    granted_via: &'a str,
    kind: &'a str,
    last_seen_at: Option<String>,
    note: Option<&'a str>,
    role: &'a str,
    subject: &'a str,
    subject_label: &'a str,
    team: &'a str,
}

/// The canonical JSON lines of `entries`, in the order given (entry id).
pub fn entries_jsonl(entries: &[EntryRow]) -> String {
    let mut out = String::new();
    for e in entries {
        let line = EntryLine {
            assigned_to: match e.reviewer.as_str() {
                "team_leads" => format!("team_leads:{}", e.team),
                other => other.to_owned(),
            },
            decided_at: e.decided_at.map(rfc3339),
            decided_by: e.decided_by.as_deref(),
            decision: e.decision.as_deref().unwrap_or("undecided"),
            entry_id: e.id,
            granted_via: &e.granted_via,
            kind: &e.kind,
            last_seen_at: e.last_seen_at.map(rfc3339),
            note: e.note.as_deref(),
            role: &e.role,
            subject: &e.subject,
            subject_label: &e.subject_label,
            team: &e.team,
        };
        // Strings and integers only: serialising cannot fail.
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// SHA-256 of `bytes`, 64 lower-case hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn entry(id: i64, decision: Option<&str>) -> EntryRow {
        EntryRow {
            id,
            kind: "person".into(),
            subject: "user:https://idp#u1".into(),
            subject_label: "Pat \"P\" (pat@example.com)".into(),
            user_id: Some(uuid::Uuid::nil()),
            token_id: None,
            role: "lead".into(),
            team: "group:default/a".into(),
            granted_via: "IdP group `a-leads`".into(),
            last_seen_at: Some(datetime!(2026-12-01 10:00 UTC)),
            reviewer: "team_leads".into(),
            decision: decision.map(str::to_owned),
            note: decision.map(|_| "ok".to_owned()),
            decided_by: decision.map(|_| "user:https://idp#u2".to_owned()),
            decided_at: decision.map(|_| datetime!(2026-12-02 10:00 UTC)),
        }
    }

    #[test]
    fn lines_are_sorted_compact_json_one_per_entry() {
        let text = entries_jsonl(&[entry(1, Some("keep")), entry(2, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(
            lines[0],
            r#"{"assigned_to":"team_leads:group:default/a","decided_at":"2026-12-02T10:00:00Z","decided_by":"user:https://idp#u2","decision":"keep","entry_id":1,"granted_via":"IdP group `a-leads`","kind":"person","last_seen_at":"2026-12-01T10:00:00Z","note":"ok","role":"lead","subject":"user:https://idp#u1","subject_label":"Pat \"P\" (pat@example.com)","team":"group:default/a"}"#
        );
        assert!(lines[1].contains(r#""decision":"undecided""#));
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(lines[0])
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys in alphabetical order");
    }

    #[test]
    fn the_document_keys_are_alphabetical() {
        let doc = Attestation {
            closed_at: "c".into(),
            closed_by: "b".into(),
            due_on: "2026-12-31".into(),
            entries: 2,
            entries_sha256: sha256_hex(b""),
            format: FORMAT.into(),
            kept: 1,
            key_fingerprint: "f".into(),
            opened_at: "o".into(),
            opened_by: "p".into(),
            review_id: 7,
            revoked: 1,
            scope: "all".into(),
            undecided: 0,
        }
        .to_document();
        let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(doc.starts_with("{\"closed_at\""), "{doc}");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
