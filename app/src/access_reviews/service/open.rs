//! Opening a review: its entries are computed from the state at that moment (people's roles as
//! derived from their identity-provider groups, minus overrides; live tokens; mesh services)
//! and each is assigned a reviewer who is not its subject.

use std::collections::HashMap;

use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::super::repo::{self, NewEntry, ServiceRow};
use super::super::{grants, OpenReviewRequest, ReviewDetail};
use super::target;
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::auth::repo::{self as auth_repo, TokenRow, UserRow};
use crate::auth::service::{grant, team_key};
use crate::auth::Role;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// A review may be due at most this many days ahead: a review that long is not a review.
const MAX_DUE_DAYS: i64 = 366;

/// Opens a review of `scope` (admins) and returns it with its entries.
pub async fn open_review(ctx: &ServerCtx, caller: &Caller, req: OpenReviewRequest) -> Result<ReviewDetail, AppError> {
    let admin = caller.require_admin()?;
    let due_on = due_date(&req.due_on, OffsetDateTime::now_utc().date())?;
    let scope = match req
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "all")
    {
        Some(team) => Some(team_key(ctx, team).await?),
        None => None,
    };
    let scope_name = scope.clone().unwrap_or_else(|| "all".to_owned());
    let mut tx = ctx.pool.begin().await?;
    let users = repo::all_users(&mut *tx).await?;
    let tokens = repo::live_tokens(&mut *tx).await?;
    let mappings = auth_repo::role_mappings(&mut *tx).await?;
    let overrides = auth_repo::all_active_overrides(&mut *tx).await?;
    let held: Vec<(&UserRow, Vec<Role>, Vec<String>)> = users
        .iter()
        .map(|u| {
            let of_user = overrides.get(&u.id).map(Vec::as_slice).unwrap_or_default();
            let (roles, lead_of) = grant(&ctx.auth, &mappings, u, of_user);
            (u, roles, lead_of)
        })
        .collect();
    let who = Reviewers::of(&held);
    let in_scope = |team: &str| scope.as_deref().is_none_or(|s| s == team);

    let mut entries = Vec::new();
    for (u, roles, lead_of) in &held {
        let mut grants_held: Vec<(Role, &str)> = lead_of.iter().map(|t| (Role::Lead, t.as_str())).collect();
        grants_held.extend(
            roles
                .iter()
                .filter(|r| matches!(r, Role::Auditor | Role::Admin))
                .map(|r| (*r, "")),
        );
        for (role, team) in grants_held {
            if scope.is_some() && (role != Role::Lead || !in_scope(team)) {
                continue;
            }
            let why = grants::explain(&ctx.auth, &mappings, &u.groups, (&u.issuer, &u.subject), role, team);
            entries.push(NewEntry {
                kind: "person",
                subject: format!("user:{}#{}", u.issuer, u.subject),
                subject_label: person_label(u),
                user_id: Some(u.id),
                token_id: None,
                role: role.as_str().to_owned(),
                team: team.to_owned(),
                granted_via: if why.is_empty() { "unknown".to_owned() } else { why },
                last_seen_at: Some(u.last_login_at),
                reviewer: who.for_person(u.id, role, team),
            });
        }
    }
    for t in tokens.iter().filter(|t| in_scope(t.team.as_deref().unwrap_or(""))) {
        entries.push(token_entry(t, who.for_token(t.team.as_deref())));
    }
    let services = service_rows(&mut tx, &held, &tokens, scope.as_deref()).await?;

    if let Some(open) = repo::list_reviews(&mut *tx, repo::Visible::ALL)
        .await?
        .into_iter()
        .find(|r| r.status == "open" && r.scope == scope_name)
    {
        return Err(AppError::Conflict(format!(
            "access review {} of `{scope_name}` is still open; close it before opening another",
            open.id
        )));
    }
    let id = repo::insert_review(&mut *tx, &scope_name, due_on, &admin.actor()).await?;
    for e in &entries {
        repo::insert_entry(&mut *tx, id, e).await?;
    }
    for s in &services {
        repo::insert_service(&mut *tx, id, s).await?;
    }
    let after = json!({
        "id": id, "scope": scope_name, "due_on": due_on.to_string(),
        "entries": entries.len(), "services": services.len(),
    });
    record(
        &mut tx,
        &ctx.audit,
        caller,
        Event::new("access_review.open", target(id)).change(None, Some(after)),
    )
    .await?;
    tx.commit().await?;
    super::review_detail(ctx, caller, id).await
}

/// Parses `due_on` (`YYYY-MM-DD`, from `today` to [`MAX_DUE_DAYS`] ahead).
fn due_date(due_on: &str, today: Date) -> Result<Date, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let due = Date::parse(due_on.trim(), &format).map_err(|_| {
        AppError::invalid(
            "due_on",
            format!(
                "`{}` is not a date; write it as YYYY-MM-DD, e.g. 2026-12-31",
                due_on.trim()
            ),
        )
    })?;
    if due < today {
        return Err(AppError::invalid(
            "due_on",
            format!("{due} is in the past; choose today ({today}) or later"),
        ));
    }
    if (due - today).whole_days() > MAX_DUE_DAYS {
        return Err(AppError::invalid(
            "due_on",
            format!("{due} is more than {MAX_DUE_DAYS} days away; choose a date within a year"),
        ));
    }
    Ok(due)
}

/// Who could review what, from the roles everyone holds now. Only people count: a token
/// never decides an entry.
struct Reviewers {
    leads: HashMap<String, Vec<Uuid>>,
    admins: Vec<Uuid>,
}

impl Reviewers {
    fn of(held: &[(&UserRow, Vec<Role>, Vec<String>)]) -> Reviewers {
        let mut leads: HashMap<String, Vec<Uuid>> = HashMap::new();
        let mut admins = Vec::new();
        for (u, roles, lead_of) in held {
            for t in lead_of {
                leads.entry(t.clone()).or_default().push(u.id);
            }
            if roles.contains(&Role::Admin) {
                admins.push(u.id);
            }
        }
        Reviewers { leads, admins }
    }

    fn admin_besides(&self, subject: Option<Uuid>) -> bool {
        self.admins.iter().any(|a| Some(*a) != subject)
    }

    fn lead_besides(&self, team: &str, subject: Option<Uuid>) -> bool {
        self.leads
            .get(team)
            .is_some_and(|l| l.iter().any(|a| Some(*a) != subject))
    }

    /// A lead role goes to the team's other leads; when the subject is the team's only lead, to
    /// an admin (who could change the mapping anyway). Admin and auditor roles go to another
    /// admin. With nobody else, the entry is `unassigned`: never the subject's own.
    fn for_person(&self, subject: Uuid, role: Role, team: &str) -> &'static str {
        if role == Role::Lead && self.lead_besides(team, Some(subject)) {
            "team_leads"
        } else if self.admin_besides(Some(subject)) {
            "admins"
        } else {
            "unassigned"
        }
    }

    /// A team token goes to the team's leads (an admin when it has none); any other to an admin.
    fn for_token(&self, team: Option<&str>) -> &'static str {
        match team {
            Some(team) if self.lead_besides(team, None) => "team_leads",
            _ if self.admin_besides(None) => "admins",
            _ => "unassigned",
        }
    }
}

/// "Name (email)", or whichever of the two the person has, else their subject.
fn person_label(u: &UserRow) -> String {
    match (&u.name, &u.email) {
        (Some(n), Some(e)) => format!("{n} ({e})"),
        (Some(n), None) => n.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => u.subject.clone(),
    }
}

fn token_entry(t: &TokenRow, reviewer: &'static str) -> NewEntry {
    let mut via = format!("API token created by {} on {}", t.created_by, t.created_at.date());
    if !t.scopes.is_empty() {
        via.push_str(&format!("; reports on {}", t.scopes.join(", ")));
    }
    if let Some(expires) = t.expires_at {
        via.push_str(&format!("; expires {}", expires.date()));
    }
    NewEntry {
        kind: "token",
        subject: format!("token:{}", t.name),
        subject_label: format!("{} ({}…)", t.name, t.prefix),
        user_id: None,
        token_id: Some(t.id),
        role: t.role.clone(),
        team: t.team.clone().unwrap_or_default(),
        granted_via: via,
        last_seen_at: t.last_used_at,
        reviewer,
    }
}

/// Every mesh service (of `scope`'s team, if any) with its owner's leads: the people leading the
/// team now and the team's lead tokens. Admins may change every service and are not repeated.
async fn service_rows(
    tx: &mut sqlx::PgConnection,
    held: &[(&UserRow, Vec<Role>, Vec<String>)],
    tokens: &[TokenRow],
    scope: Option<&str>,
) -> Result<Vec<ServiceRow>, AppError> {
    let mut leads: HashMap<&str, Vec<String>> = HashMap::new();
    for (u, _, lead_of) in held {
        for t in lead_of {
            leads.entry(t).or_default().push(person_label(u));
        }
    }
    for t in tokens.iter().filter(|t| t.role == "lead") {
        if let Some(team) = t.team.as_deref() {
            leads.entry(team).or_default().push(format!("token:{}", t.name));
        }
    }
    let mut rows = repo::mesh_service_owners(&mut *tx).await?;
    rows.retain(|s| scope.is_none_or(|team| s.owner.as_deref() == Some(team)));
    for s in &mut rows {
        s.leads = s
            .owner
            .as_deref()
            .and_then(|o| leads.get(o))
            .cloned()
            .unwrap_or_default();
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn due_dates_are_checked_with_a_fix() {
        let today = date!(2026 - 12 - 07);
        assert_eq!(due_date("2026-12-31", today).unwrap(), date!(2026 - 12 - 31));
        assert_eq!(due_date(" 2026-12-07 ", today).unwrap(), today);
        for (bad, says) in [
            ("31/12/2026", "YYYY-MM-DD"),
            ("2026-12-06", "in the past"),
            ("2028-01-01", "within a year"),
        ] {
            match due_date(bad, today) {
                Err(AppError::Invalid { field, message }) => {
                    assert_eq!(field, "due_on");
                    assert!(message.contains(says), "{bad}: {message}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn nobody_reviews_themselves() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let only_a = Reviewers {
            leads: HashMap::from([("group:default/t".to_owned(), vec![a])]),
            admins: vec![a],
        };
        assert_eq!(only_a.for_person(a, Role::Lead, "group:default/t"), "unassigned");
        assert_eq!(only_a.for_person(a, Role::Admin, ""), "unassigned");
        assert_eq!(only_a.for_person(b, Role::Lead, "group:default/t"), "team_leads");
        assert_eq!(only_a.for_token(Some("group:default/t")), "team_leads");
        let with_admin_b = Reviewers {
            admins: vec![b],
            ..only_a
        };
        assert_eq!(with_admin_b.for_person(a, Role::Lead, "group:default/t"), "admins");
        assert_eq!(with_admin_b.for_person(b, Role::Auditor, ""), "unassigned");
        assert_eq!(with_admin_b.for_token(None), "admins");
    }
}
