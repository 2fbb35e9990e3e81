//! Deciding an entry: keep, or revoke with effect at once. A revoked person's role is taken by a
//! role override (their groups may still grant it; the override is read on every request) and
//! their sessions are ended; a revoked token is revoked. The decision, its effects and the audit
//! row commit together.

use serde_json::json;

use super::super::repo;
use super::super::{DecisionRequest, ReviewEntry};
use super::{entry_view, may_decide};
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::auth::repo as auth_repo;
use crate::auth::{ActorKind, Role};
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Longest note kept: a few paragraphs.
const MAX_NOTE: usize = 2000;

/// Keeps or revokes entry `entry_id` of review `review_id` (a person of the entry's reviewer
/// group who is not its subject).
pub async fn decide_entry(
    ctx: &ServerCtx,
    caller: &Caller,
    review_id: i64,
    entry_id: i64,
    req: DecisionRequest,
) -> Result<ReviewEntry, AppError> {
    let user = caller.require_user()?;
    if user.kind != ActorKind::User {
        return Err(AppError::forbidden(
            "review entries are decided by a person signed in, not by an API token: the attestation names who reviewed",
        ));
    }
    if !(user.is_admin() || user.has(Role::Lead)) {
        return Err(AppError::forbidden("only team leads and admins review access"));
    }
    let mut tx = ctx.pool.begin().await?;
    let (entry, status) = repo::lock_entry(&mut tx, review_id, entry_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("entry {entry_id} of access review {review_id}")))?;
    let is_subject = entry.user_id.is_some_and(|id| id.to_string() == user.id);
    if is_subject {
        return Err(AppError::forbidden(
            "you cannot review your own access; another lead or an admin decides this entry",
        ));
    }
    if status != "open" {
        return Err(AppError::Conflict(format!("access review {review_id} is closed")));
    }
    if let Some(decision) = &entry.decision {
        return Err(AppError::Conflict(format!(
            "entry {entry_id} was decided already ({decision}, by {})",
            entry.decided_by.as_deref().unwrap_or("someone")
        )));
    }
    if !may_decide(&entry, user) {
        return Err(AppError::forbidden(match entry.reviewer.as_str() {
            "team_leads" => format!("only a lead of {} decides this entry", entry.team),
            "admins" => "only an admin decides this entry".to_owned(),
            _ => "nobody but its subject could review this entry; it stays undecided".to_owned(),
        }));
    }
    let (revoke, note) = decision(&req)?;

    let effects = if revoke {
        let by = user.actor();
        match (entry.user_id, entry.token_id) {
            (Some(person), _) => {
                let reason = format!("revoked in access review {review_id}: {}", note.unwrap_or_default());
                let over =
                    repo::insert_override(&mut *tx, person, &entry.role, &entry.team, &reason, Some(entry.id), &by)
                        .await?;
                auth_repo::end_sessions(&mut *tx, person).await?;
                json!({ "role_override": over, "sessions_ended": true })
            }
            (None, Some(token)) => {
                let revoked = auth_repo::revoke_token(&mut *tx, token, &by).await?.is_some();
                json!({ "token_revoked": revoked })
            }
            (None, None) => json!({}),
        }
    } else {
        json!({})
    };
    let decision = if revoke { "revoke" } else { "keep" };
    let row = repo::set_decision(&mut *tx, entry.id, decision, note, &user.actor()).await?;
    let after = json!({
        "review_id": review_id, "entry_id": entry.id, "role": entry.role, "team": entry.team,
        "decision": decision, "note": note, "effects": effects,
    });
    let mut event = Event::new("access_review.decide", entry.subject.clone()).change(None, Some(after));
    if let Some(note) = note {
        event = event.reason(note);
    }
    record(&mut tx, &ctx.audit, caller, event).await?;
    tx.commit().await?;
    Ok(entry_view(row, true, Some(user)))
}

/// Reads the request: `(revoke, note)`. A revoke needs a note.
fn decision(req: &DecisionRequest) -> Result<(bool, Option<&str>), AppError> {
    let revoke = match req.decision.trim() {
        "keep" => false,
        "revoke" => true,
        other => {
            return Err(AppError::invalid(
                "decision",
                format!("`{other}` is not a decision; send `keep` or `revoke`"),
            ))
        }
    };
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if revoke && note.is_none() {
        return Err(AppError::invalid(
            "note",
            "say why the access is revoked; the note goes into the attestation",
        ));
    }
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AppError::invalid(
            "note",
            format!("keep the note under {MAX_NOTE} characters"),
        ));
    }
    Ok((revoke, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(decision: &str, note: Option<&str>) -> DecisionRequest {
        DecisionRequest {
            decision: decision.into(),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn decisions_are_keep_or_revoke_and_a_revoke_says_why() {
        assert_eq!(decision(&req("keep", None)).unwrap(), (false, None));
        assert_eq!(
            decision(&req(" revoke ", Some(" left "))).unwrap(),
            (true, Some("left"))
        );
        for (bad, field) in [
            (req("drop", Some("x")), "decision"),
            (req("revoke", Some("  ")), "note"),
            (req("keep", Some(&"x".repeat(MAX_NOTE + 1))), "note"),
        ] {
            assert!(
                matches!(decision(&bad), Err(AppError::Invalid { field: ref f, .. }) if f == field),
                "{bad:?}"
            );
        }
    }
}
