//! Access reviews in the evidence bundle (issue 14 §2, CC6.2–6.3). The export reads the reviews
//! of its period with [`reviews_for_period`] and writes them with [`write_reviews`]:
//!
//! * `access_reviews/reviews.csv`: one row per review (scope, dates, progress, entries hash);
//! * `access_reviews/<id>/entries.csv`: every entry, who reviewed it, the decision and note;
//! * `access_reviews/<id>/service_access.csv`: per mesh service, who could change its policies
//!   and ownership when the review opened;
//! * closed reviews also `entries.jsonl` (the canonical lines the attestation hashes:
//!   `sha256sum entries.jsonl` shows its `entries_sha256`), `attestation.json` (the signed
//!   bytes) and `attestation.sig` (raw 64-byte Ed25519, the audit signing key), which verify
//!   with `openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in attestation.json
//!   -sigfile attestation.sig`.
//!
//! Neither function checks a caller: the export that calls them does (auditors and admins).

use std::io::Write;

use bearing_evidence::{BundleWriter, EvidenceError};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::attestation::sha256_hex;
use super::repo::{self, Visible};
use super::service::{entry_view, service_view, summary};
use super::{ReviewEntry, ReviewSummary, ServiceAccess};
use crate::error::AppError;

/// A review with everything the bundle holds of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRecord {
    pub review: ReviewSummary,
    /// Every entry, in id order.
    pub entries: Vec<ReviewEntry>,
    pub services: Vec<ServiceAccess>,
    /// Closed reviews: what was signed.
    pub signed: Option<SignedReview>,
}

/// The signed part of a closed review, byte for byte as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedReview {
    /// The attestation document (canonical JSON), the bytes the signature covers.
    pub attestation: String,
    /// The entries' canonical JSON lines, whose SHA-256 the attestation names.
    pub entries_jsonl: String,
    /// Raw Ed25519 signature, 64 bytes.
    pub signature: Vec<u8>,
    pub key_fingerprint: String,
}

/// The reviews opened or closed in `[from, to)`, oldest first, with their entries, service
/// snapshots and attestations.
pub async fn reviews_for_period(
    pool: &PgPool,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<ReviewRecord>, AppError> {
    let mut out = Vec::new();
    for row in repo::reviews_in_period(pool, from, to).await? {
        let id = row.id;
        let entries = repo::entries_of(pool, id, Visible::ALL).await?;
        let services = repo::services_of(pool, id, None).await?;
        let signed = repo::signed_of(pool, id).await?.map(|s| SignedReview {
            attestation: s.attestation,
            entries_jsonl: s.entries_jsonl,
            signature: s.signature,
            key_fingerprint: s.key_fingerprint,
        });
        out.push(ReviewRecord {
            review: summary(row),
            entries: entries.into_iter().map(|e| entry_view(e, false, None)).collect(),
            services: services.into_iter().map(service_view).collect(),
            signed,
        });
    }
    Ok(out)
}

/// Header of `access_reviews/reviews.csv`.
pub const REVIEWS_HEADER: [&str; 13] = [
    "review_id",
    "scope",
    "status",
    "due_on",
    "opened_by",
    "opened_at",
    "closed_by",
    "closed_at",
    "entries",
    "decided",
    "revoked",
    "unassigned",
    "entries_sha256",
];

/// Header of `access_reviews/<id>/entries.csv`.
pub const ENTRIES_HEADER: [&str; 14] = [
    "entry_id",
    "kind",
    "subject",
    "subject_label",
    "role",
    "team",
    "granted_via",
    "last_seen_at",
    "reviewer",
    "decision",
    "note",
    "decided_by",
    "decided_at",
    "review_id",
];

/// Header of `access_reviews/<id>/service_access.csv`.
pub const SERVICES_HEADER: [&str; 6] = ["control_plane", "mesh", "service", "component", "owner", "may_change"];

/// Writes `reviews` into the bundle (see the module documentation for the files); returns how
/// many entries were written.
pub fn write_reviews<W: Write>(bundle: &mut BundleWriter<W>, reviews: &[ReviewRecord]) -> Result<u64, EvidenceError> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut index = bundle.csv("access_reviews/reviews.csv", REVIEWS_HEADER)?;
    for r in reviews {
        let s = &r.review;
        let hash = r.signed.as_ref().map(|x| sha256_hex(x.entries_jsonl.as_bytes()));
        index.row([
            s.id.to_string(),
            s.scope.clone(),
            s.status.clone(),
            s.due_on.clone(),
            s.opened_by.clone(),
            s.opened_at.clone(),
            opt(&s.closed_by),
            opt(&s.closed_at),
            s.entries.to_string(),
            s.decided.to_string(),
            s.revoked.to_string(),
            s.unassigned.to_string(),
            hash.unwrap_or_default(),
        ])?;
    }
    index.finish()?;
    let mut written = 0;
    for r in reviews {
        let dir = format!("access_reviews/{}", r.review.id);
        let mut csv = bundle.csv(&format!("{dir}/entries.csv"), ENTRIES_HEADER)?;
        for e in &r.entries {
            csv.row([
                e.id.to_string(),
                e.kind.clone(),
                e.subject.clone(),
                e.subject_label.clone(),
                e.role.clone(),
                opt(&e.team),
                e.granted_via.clone(),
                opt(&e.last_seen_at),
                match (&e.reviewer[..], &e.team) {
                    ("team_leads", Some(team)) => format!("team_leads:{team}"),
                    (other, _) => other.to_owned(),
                },
                e.decision.clone().unwrap_or_else(|| "undecided".to_owned()),
                opt(&e.note),
                opt(&e.decided_by),
                opt(&e.decided_at),
                r.review.id.to_string(),
            ])?;
        }
        written += csv.finish()?;
        let mut csv = bundle.csv(&format!("{dir}/service_access.csv"), SERVICES_HEADER)?;
        for s in &r.services {
            let mut may: Vec<&str> = s.leads.iter().map(String::as_str).collect();
            may.push("every admin");
            csv.row([
                s.control_plane.clone(),
                s.mesh.clone(),
                s.service.clone(),
                opt(&s.component),
                opt(&s.owner),
                may.join("; "),
            ])?;
        }
        csv.finish()?;
        if let Some(signed) = &r.signed {
            bundle.file(&format!("{dir}/entries.jsonl"), signed.entries_jsonl.as_bytes())?;
            bundle.file(&format!("{dir}/attestation.json"), signed.attestation.as_bytes())?;
            bundle.file(&format!("{dir}/attestation.sig"), &signed.signature)?;
        }
    }
    Ok(written)
}
