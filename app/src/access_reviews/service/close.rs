//! Closing a review: refused while an entry that has a reviewer is undecided; entries nobody
//! could review (`unassigned`) are sealed as `undecided` and counted in the attestation, so an
//! auditor sees them rather than a review that can never close. The attestation is signed with
//! the audit signing key and stored with the exact entry lines it hashes.

use serde_json::json;
use time::OffsetDateTime;

use super::super::attestation::{entries_jsonl, sha256_hex, Attestation, FORMAT};
use super::super::repo::{self, Closing, Visible};
use super::super::ReviewDetail;
use super::target;
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Closes review `id` and signs its attestation (admins).
pub async fn close_review(ctx: &ServerCtx, caller: &Caller, id: i64) -> Result<ReviewDetail, AppError> {
    let admin = caller.require_admin()?;
    let mut tx = ctx.pool.begin().await?;
    let status = repo::lock_review(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("access review {id}")))?;
    if status != "open" {
        return Err(AppError::Conflict(format!("access review {id} is closed already")));
    }
    let entries = repo::entries_of(&mut *tx, id, Visible::ALL).await?;
    let pending: Vec<String> = entries
        .iter()
        .filter(|e| e.decision.is_none() && e.reviewer != "unassigned")
        .map(|e| e.id.to_string())
        .collect();
    if !pending.is_empty() {
        let shown: Vec<&str> = pending.iter().take(20).map(String::as_str).collect();
        return Err(AppError::Conflict(format!(
            "{} entries of access review {id} still need a decision (entries {}{}); their reviewers keep or revoke them first",
            pending.len(),
            shown.join(", "),
            if pending.len() > shown.len() { ", ..." } else { "" }
        )));
    }
    let review = repo::find_review(&mut *tx, id, Visible::ALL)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("access review {id}")))?;
    let lines = entries_jsonl(&entries);
    let count = |d: Option<&str>| entries.iter().filter(|e| e.decision.as_deref() == d).count() as u64;
    let closed_at = bearing_audit::truncate_to_micros(OffsetDateTime::now_utc());
    let closed_by = admin.actor();
    let key_fingerprint = ctx.audit.key.fingerprint();
    let attestation = Attestation {
        closed_at: rfc3339(closed_at),
        closed_by: closed_by.clone(),
        due_on: review.due_on.to_string(),
        entries: entries.len() as u64,
        entries_sha256: sha256_hex(lines.as_bytes()),
        format: FORMAT.to_owned(),
        kept: count(Some("keep")),
        key_fingerprint: key_fingerprint.clone(),
        opened_at: rfc3339(review.opened_at),
        opened_by: review.opened_by.clone(),
        review_id: id,
        revoked: count(Some("revoke")),
        scope: review.scope.clone(),
        undecided: count(None),
    };
    let document = attestation.to_document();
    let signature = ctx.audit.key.sign_document(document.as_bytes()).map_err(|err| {
        tracing::error!(error = %err, review.id = id, "signing an access review attestation failed");
        AppError::Internal
    })?;
    repo::close_review(
        &mut *tx,
        id,
        &Closing {
            closed_by: &closed_by,
            closed_at,
            attestation: &document,
            entries_jsonl: &lines,
            signature: &signature,
            key_fingerprint: &key_fingerprint,
        },
    )
    .await?;
    let after = json!({
        "entries": attestation.entries, "entries_sha256": attestation.entries_sha256,
        "kept": attestation.kept, "revoked": attestation.revoked, "undecided": attestation.undecided,
        "attestation_sha256": sha256_hex(document.as_bytes()), "key_fingerprint": key_fingerprint,
    });
    record(
        &mut tx,
        &ctx.audit,
        caller,
        Event::new("access_review.close", target(id)).change(None, Some(after)),
    )
    .await?;
    tx.commit().await?;
    super::review_detail(ctx, caller, id).await
}
