//! Access-review rules: who may read, open, decide and close. Every function takes the caller
//! and checks it here, whichever adapter (page, server function, JSON API) calls it.
//!
//! * Admins open and close reviews; admins and auditors read every review.
//! * A lead reads the reviews with entries of the teams they lead (or about themselves), and
//!   only those entries.
//! * An entry is decided by a *person* (not an API token: the attestation names who reviewed)
//!   of its reviewer group, never by its subject.

mod close;
mod decide;
mod open;

pub use close::close_review;
pub use decide::decide_entry;
pub use open::open_review;

use super::repo::{self, EntryRow, ReviewRow, ServiceRow, Visible};
use super::{AttestationView, ReviewDetail, ReviewEntry, ReviewSummary, ServiceAccess};
use crate::auth::guard::Caller;
use crate::auth::{ActorKind, CurrentUser, Role};
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Which entries `user` may read, or `Forbidden`.
fn readable(user: &CurrentUser) -> Result<Visible<'_>, AppError> {
    if user.can_read_audit() {
        Ok(Visible::ALL)
    } else if user.has(Role::Lead) {
        Ok(Visible {
            teams: Some(&user.lead_of),
            subject: "",
        })
    } else {
        Err(AppError::forbidden(
            "access reviews are for admins, auditors and team leads",
        ))
    }
}

/// Open and past reviews the caller may read, newest first.
pub async fn list_reviews(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<ReviewSummary>, AppError> {
    let user = caller.require_user()?;
    let actor = user.actor();
    let visible = with_subject(readable(user)?, &actor);
    let rows = repo::list_reviews(&ctx.pool, visible).await?;
    Ok(rows.into_iter().map(summary).collect())
}

/// One review with the entries and services the caller may read.
pub async fn review_detail(ctx: &ServerCtx, caller: &Caller, id: i64) -> Result<ReviewDetail, AppError> {
    let user = caller.require_user()?;
    let actor = user.actor();
    let visible = with_subject(readable(user)?, &actor);
    let not_found = || AppError::NotFound(format!("access review {id}"));
    let row = repo::find_review(&ctx.pool, id, visible).await?.ok_or_else(not_found)?;
    if visible.teams.is_some() && row.entries == 0 {
        // A lead with nothing in this review learns nothing about it, not even that it exists.
        return Err(not_found());
    }
    let open = row.status == "open";
    let entries = repo::entries_of(&ctx.pool, id, visible).await?;
    let services = repo::services_of(&ctx.pool, id, visible.teams).await?;
    let signed = if open {
        None
    } else {
        repo::signed_of(&ctx.pool, id).await?
    };
    let pending = entries
        .iter()
        .filter(|e| e.decision.is_none() && e.reviewer != "unassigned")
        .count();
    let mut entries: Vec<ReviewEntry> = entries.into_iter().map(|e| entry_view(e, open, Some(user))).collect();
    entries.sort_by_key(|e| (!e.may_decide, group_of(e), e.id));
    Ok(ReviewDetail {
        may_close: open && user.is_admin() && pending == 0,
        review: summary(row),
        entries,
        services: services.into_iter().map(service_view).collect(),
        attestation: signed.map(|s| AttestationView {
            document: s.attestation,
            signature: super::attestation::hex(&s.signature),
            key_fingerprint: s.key_fingerprint,
        }),
    })
}

/// A lead also sees the entries about themselves.
fn with_subject<'a>(visible: Visible<'a>, actor: &'a str) -> Visible<'a> {
    Visible {
        subject: actor,
        ..visible
    }
}

/// The reviewer group an entry is shown under: a team's leads, then admins, then unassigned.
fn group_of(e: &ReviewEntry) -> (u8, String) {
    match e.reviewer.as_str() {
        "team_leads" => (0, e.team.clone().unwrap_or_default()),
        "admins" => (1, String::new()),
        _ => (2, String::new()),
    }
}

/// Whether `user` may decide `e` now (the review being open): undecided, assigned to a group
/// `user` belongs to, and not about `user`. Only people decide.
pub(crate) fn may_decide(e: &EntryRow, user: &CurrentUser) -> bool {
    let is_subject = e.kind == "person" && e.user_id.is_some_and(|id| id.to_string() == user.id);
    let in_group = match e.reviewer.as_str() {
        "team_leads" => user.leads(&e.team),
        "admins" => user.is_admin(),
        _ => false,
    };
    e.decision.is_none() && user.kind == ActorKind::User && !is_subject && in_group
}

/// An entry on the wire; `may_decide` for `user` when the review is open.
pub(crate) fn entry_view(e: EntryRow, open: bool, user: Option<&CurrentUser>) -> ReviewEntry {
    let may = open && user.is_some_and(|u| may_decide(&e, u));
    ReviewEntry {
        id: e.id,
        kind: e.kind,
        subject: e.subject,
        subject_label: e.subject_label,
        role: e.role,
        team: Some(e.team).filter(|t| !t.is_empty()),
        granted_via: e.granted_via,
        last_seen_at: e.last_seen_at.map(rfc3339),
        reviewer: e.reviewer,
        decision: e.decision,
        note: e.note,
        decided_by: e.decided_by,
        decided_at: e.decided_at.map(rfc3339),
        may_decide: may,
    }
}

/// A review on the wire.
pub(crate) fn summary(r: ReviewRow) -> ReviewSummary {
    let today = time::OffsetDateTime::now_utc().date();
    ReviewSummary {
        overdue: r.status == "open" && r.due_on < today,
        id: r.id,
        scope: r.scope,
        status: r.status,
        due_on: r.due_on.to_string(),
        opened_by: r.opened_by,
        opened_at: rfc3339(r.opened_at),
        closed_by: r.closed_by,
        closed_at: r.closed_at.map(rfc3339),
        entries: r.entries,
        decided: r.decided,
        revoked: r.revoked,
        unassigned: r.unassigned,
    }
}

/// A service row on the wire.
pub(crate) fn service_view(s: ServiceRow) -> ServiceAccess {
    ServiceAccess {
        control_plane: s.control_plane,
        mesh: s.mesh,
        service: s.service,
        component: s.component,
        owner: s.owner,
        leads: s.leads,
    }
}

/// How the audit log names review `id`.
fn target(id: i64) -> String {
    format!("access_review:{id}")
}
