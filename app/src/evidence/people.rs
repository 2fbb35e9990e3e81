//! `populations/users_and_roles.csv`, `populations/role_mappings.csv` and
//! `populations/api_tokens.csv`, as of the end of the period.
//!
//! Roles are derived from the identity provider's groups at each sign-in, and every sign-in is
//! in the audit log with the roles it gave (`auth.login`): the sign-ins up to the end of the
//! period are the role history. A role a person held at one sign-in and not at the next was
//! revoked then. Mapping rules are stored as they are now; their changes (`role_mapping.change`)
//! replayed backwards give the rules at the end of the period.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::TryStreamExt;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::export::{cell, ExportError, Out, Table};
use super::repo;
use crate::auth::RoleMapping;
use crate::ssr::AuthSettings;

/// Who holds a role without signing in for this long is flagged.
pub const STALE_SIGN_IN: Duration = Duration::days(90);

/// A token unused for this long at the end of the period is flagged.
pub const UNUSED_TOKEN: Duration = Duration::days(90);

const USERS_AND_ROLES: Table = Table {
    file: "populations/users_and_roles.csv",
    population: "users_and_roles",
    header: &[
        "grant",
        "kind",
        "actor",
        "issuer",
        "subject",
        "display_email",
        "role",
        "team",
        "granted_via",
        "first_granted",
        "last_observed",
        "revoked_at",
        "last_sign_in",
        "active_sessions_at_end",
        "active_tokens_at_end",
    ],
    key: Some("grant"),
};

const ROLE_MAPPINGS: Table = Table {
    file: "populations/role_mappings.csv",
    population: "role_mappings",
    header: &[
        "idp_group",
        "role",
        "team",
        "source",
        "last_changed_by",
        "last_changed_at",
    ],
    key: None,
};

const API_TOKENS: Table = Table {
    file: "populations/api_tokens.csv",
    population: "api_tokens",
    header: &[
        "id",
        "name",
        "prefix",
        "owner",
        "role",
        "team",
        "created_at",
        "expires_at",
        "last_used_at",
        "used_after_period_end",
        "revoked_at",
        "revoked_by",
    ],
    key: Some("id"),
};

/// One role a person held: `(role, team)` with `team` empty except for leads.
type GrantKey = (String, String);

/// A person's actor, grants and last sign-in, gathered from their rows of [`repo::LOGINS`].
type Person = (String, BTreeMap<GrantKey, Grant>, Option<OffsetDateTime>);

#[derive(Debug)]
struct Grant {
    first: OffsetDateTime,
    last: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
    /// The groups of the last sign-in that gave it.
    groups: Vec<String>,
}

/// Writes the three files; returns nothing, flags exceptions on `out`.
pub(super) async fn write(out: &mut Out, conn: &mut PgConnection, auth: &AuthSettings) -> Result<(), ExportError> {
    let (from, to) = (out.period.from, out.period.to);
    let mappings = mappings_at_end(conn, auth, to).await?;
    let tokens: Vec<repo::TokenRow> = sqlx::query_as(repo::TOKENS)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    let users: HashMap<String, repo::UserRow> = sqlx::query_as::<_, repo::UserRow>(repo::USERS)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|u| (format!("user:{}#{}", u.issuer, u.subject), u))
        .collect();
    let active_at_end =
        |t: &repo::TokenRow| t.revoked_at.is_none_or(|r| r >= to) && t.expires_at.is_none_or(|e| e >= to);
    let mut tokens_of: HashMap<String, u64> = HashMap::new();
    for t in tokens.iter().filter(|t| active_at_end(t)) {
        *tokens_of.entry(t.created_by.clone()).or_default() += 1;
    }
    let lookups = Lookups {
        users,
        mappings: &mappings,
        auth,
        tokens_of,
        sessions: super::sessions::open_at(&mut *conn, to).await?,
    };

    // People, one at a time from the sign-ins sorted by person.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut held_at_end: HashMap<String, BTreeSet<GrantKey>> = HashMap::new();
    {
        let mut logins = sqlx::query_as::<_, repo::LoginRow>(repo::LOGINS)
            .bind(from)
            .bind(to)
            .fetch(&mut *conn);
        let mut person: Option<Person> = None;
        while let Some(login) = logins.try_next().await? {
            if person.as_ref().is_some_and(|(actor, _, _)| *actor != login.actor) {
                if let Some(done) = person.take() {
                    finish_person(out, done, &lookups, &mut rows, &mut held_at_end);
                }
            }
            let (_, grants, last_sign_in) = person.get_or_insert_with(|| (login.actor.clone(), BTreeMap::new(), None));
            if login.action == "auth.login" {
                *last_sign_in = Some(login.at);
                apply_login(grants, &login);
            } else {
                apply_review_revoke(grants, &login);
            }
        }
        if let Some(done) = person.take() {
            finish_person(out, done, &lookups, &mut rows, &mut held_at_end);
        }
    }
    for t in &tokens {
        rows.push(vec![
            format!("token:{}|{}|{}", t.id, t.role, t.team.as_deref().unwrap_or_default()),
            "token".into(),
            format!("token:{}", t.name),
            String::new(),
            t.id.clone(),
            String::new(),
            t.role.clone(),
            t.team.clone().unwrap_or_default(),
            format!("API token made by {}", t.created_by),
            cell::time(t.created_at),
            cell::opt_time(t.last_used_at.filter(|u| *u < to)),
            cell::opt_time(t.revoked_at.filter(|r| *r < to).or(t.expires_at.filter(|e| *e < to))),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    out.rows(&USERS_AND_ROLES, repo::LOGINS, rows).await?;

    let mapping_rows = mappings.iter().map(|m| {
        vec![
            m.rule.idp_group.clone(),
            m.rule.role.as_str().to_owned(),
            m.rule.team.clone(),
            m.source.to_owned(),
            m.changed.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
            m.changed.as_ref().map(|c| cell::time(c.1)).unwrap_or_default(),
        ]
    });
    out.rows(&ROLE_MAPPINGS, repo::MAPPING_CHANGES, mapping_rows.collect())
        .await?;

    out.exceptions.assessed("role_mappings_and_tokens");
    let mut token_rows = Vec::with_capacity(tokens.len());
    for t in &tokens {
        let last_used = t.last_used_at.filter(|u| *u < to);
        if active_at_end(t) && last_used.unwrap_or(t.created_at) < to - UNUSED_TOKEN {
            out.exceptions.flag(
                "role_mappings_and_tokens",
                "token_unused_90_days",
                &format!("token:{}", t.id),
                format!(
                    "{:?} ({}) was not used in the 90 days before the period's end",
                    t.name, t.role
                ),
                cell::opt_time(last_used),
            );
        }
        if active_at_end(t) && outlived_owner(t, &held_at_end) {
            out.exceptions.flag(
                "role_mappings_and_tokens",
                "token_outlived_owner_role",
                &format!("token:{}", t.id),
                format!(
                    "{:?} ({}{}) is still valid, but {} no longer held that role at the period's end",
                    t.name,
                    t.role,
                    t.team.as_deref().map(|team| format!(" of {team}")).unwrap_or_default(),
                    t.created_by
                ),
                cell::time(to),
            );
        }
        token_rows.push(vec![
            t.id.clone(),
            t.name.clone(),
            t.prefix.clone(),
            t.created_by.clone(),
            t.role.clone(),
            t.team.clone().unwrap_or_default(),
            cell::time(t.created_at),
            cell::opt_time(t.expires_at),
            cell::opt_time(last_used),
            cell::yes_no(t.last_used_at.is_some_and(|u| u >= to)),
            cell::opt_time(t.revoked_at.filter(|r| *r < to)),
            t.revoked_by
                .clone()
                .filter(|_| t.revoked_at.is_some_and(|r| r < to))
                .unwrap_or_default(),
        ]);
    }
    out.rows(&API_TOKENS, repo::TOKENS, token_rows).await.map(drop)
}

/// Folds one sign-in into a person's grants: what it gave is held (again), what it did not give
/// any more was revoked at that sign-in.
fn apply_login(grants: &mut BTreeMap<GrantKey, Grant>, login: &repo::LoginRow) {
    let after = login.after.as_ref();
    let strings = |field: &str| -> Vec<String> {
        after
            .and_then(|a| a.get(field))
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let (roles, lead_of, groups) = (strings("roles"), strings("lead_of"), strings("groups"));
    let mut now: BTreeSet<GrantKey> = roles
        .into_iter()
        .filter(|r| r != "lead")
        .map(|r| (r, String::new()))
        .collect();
    now.extend(lead_of.into_iter().map(|team| ("lead".to_owned(), team)));
    for (key, grant) in grants.iter_mut() {
        if !now.contains(key) && grant.revoked_at.is_none() {
            grant.revoked_at = Some(login.at);
        }
    }
    for key in now {
        let grant = grants.entry(key).or_insert_with(|| Grant {
            first: login.at,
            last: login.at,
            revoked_at: None,
            groups: Vec::new(),
        });
        grant.last = login.at;
        grant.revoked_at = None;
        grant.groups = groups.clone();
    }
}

/// An access review's revoke: the role ends at the decision, whatever the next sign-in says.
fn apply_review_revoke(grants: &mut BTreeMap<GrantKey, Grant>, decision: &repo::LoginRow) {
    let field = |name: &str| {
        decision
            .after
            .as_ref()
            .and_then(|a| a.get(name))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(grant) = grants.get_mut(&(field("role"), field("team"))) {
        if grant.revoked_at.is_none() {
            grant.revoked_at = Some(decision.at);
        }
    }
}

/// What each person's rows are completed with.
struct Lookups<'a> {
    /// By actor (`user:<issuer>#<subject>`).
    users: HashMap<String, repo::UserRow>,
    mappings: &'a [MappingAtEnd],
    auth: &'a AuthSettings,
    /// Tokens valid at the period's end, by the actor who made them.
    tokens_of: HashMap<String, u64>,
    /// Sessions open at the period's end, by user id ([`super::sessions`]).
    sessions: HashMap<uuid::Uuid, u64>,
}

fn finish_person(
    out: &mut Out,
    (actor, grants, last_sign_in): Person,
    lookups: &Lookups<'_>,
    rows: &mut Vec<Vec<String>>,
    held_at_end: &mut HashMap<String, BTreeSet<GrantKey>>,
) {
    let (from, to) = (out.period.from, out.period.to);
    let user = lookups.users.get(&actor);
    let sessions = user.and_then(|u| lookups.sessions.get(&u.id)).copied().unwrap_or(0);
    out.exceptions.assessed("users_and_roles");
    let mut privileged_at_end = Vec::new();
    for ((role, team), g) in &grants {
        if g.revoked_at.is_some_and(|r| r < from) {
            continue;
        }
        if g.revoked_at.is_none() {
            held_at_end
                .entry(actor.clone())
                .or_default()
                .insert((role.clone(), team.clone()));
            if role != "viewer" {
                privileged_at_end.push(if team.is_empty() {
                    role.clone()
                } else {
                    format!("{role} of {team}")
                });
            }
        }
        rows.push(vec![
            format!("{actor}|{role}|{team}"),
            "person".into(),
            actor.clone(),
            user.map(|u| u.issuer.clone()).unwrap_or_default(),
            user.map(|u| u.subject.clone()).unwrap_or_default(),
            user.and_then(|u| u.email.clone()).unwrap_or_default(),
            role.clone(),
            team.clone(),
            granted_via(role, team, &g.groups, lookups.mappings, lookups.auth, user),
            cell::time(g.first),
            cell::time(g.last),
            cell::opt_time(g.revoked_at),
            cell::opt_time(last_sign_in),
            sessions.to_string(),
            lookups.tokens_of.get(actor.as_str()).copied().unwrap_or(0).to_string(),
        ]);
    }
    if let Some(last_sign_in) = last_sign_in.filter(|at| !privileged_at_end.is_empty() && *at < to - STALE_SIGN_IN) {
        out.exceptions.flag(
            "users_and_roles",
            "no_sign_in_90_days",
            &actor,
            format!(
                "holds {} but last signed in more than 90 days before the period's end",
                privileged_at_end.join(", ")
            ),
            cell::time(last_sign_in),
        );
    }
}

/// How a role came to a person: the group and the rule that mapped it, as of the period's end.
fn granted_via(
    role: &str,
    team: &str,
    groups: &[String],
    mappings: &[MappingAtEnd],
    auth: &AuthSettings,
    user: Option<&repo::UserRow>,
) -> String {
    if role == "viewer" {
        return "signed in (everyone is a viewer)".into();
    }
    let mut via: Vec<String> = mappings
        .iter()
        .filter(|m| m.rule.role.as_str() == role && m.rule.team == team && groups.contains(&m.rule.idp_group))
        .map(|m| format!("group {} ({} rule)", m.rule.idp_group, m.source))
        .collect();
    let suffix = if auth.lead_group_suffix.is_empty() {
        "-leads"
    } else {
        auth.lead_group_suffix.as_str()
    };
    if role == "lead" {
        via.extend(
            groups
                .iter()
                .filter(|g| {
                    g.strip_suffix(suffix)
                        .is_some_and(|t| format!("group:default/{}", t.to_ascii_lowercase()) == team)
                })
                .map(|g| format!("group {g} (the {suffix} convention)")),
        );
    }
    if role == "admin"
        && user.is_some_and(|u| {
            auth.bootstrap_admins
                .iter()
                .any(|(i, s)| *i == u.issuer && *s == u.subject)
        })
    {
        via.push("--bootstrap-admin".into());
    }
    if via.is_empty() {
        "no rule of the period's end maps these groups to it (the rule changed within the period)".into()
    } else {
        via.join("; ")
    }
}

/// Whether a privileged token's maker no longer held what the token grants.
fn outlived_owner(t: &repo::TokenRow, held_at_end: &HashMap<String, BTreeSet<GrantKey>>) -> bool {
    if !t.created_by.starts_with("user:") || !matches!(t.role.as_str(), "lead" | "auditor" | "admin") {
        return false;
    }
    let held = held_at_end.get(&t.created_by);
    let holds = |role: &str, team: &str| held.is_some_and(|h| h.contains(&(role.to_owned(), team.to_owned())));
    let team = t.team.as_deref().unwrap_or_default();
    !(holds(&t.role, if t.role == "lead" { team } else { "" }) || holds("admin", ""))
}

/// A mapping rule in force at the end of the period.
pub(super) struct MappingAtEnd {
    pub rule: RoleMapping,
    /// `database` (edited on /admin) or `file` (`--role-mapping-file`).
    pub source: &'static str,
    /// Who last changed it before the end, and when.
    pub changed: Option<(String, OffsetDateTime)>,
}

async fn mappings_at_end(
    conn: &mut PgConnection,
    auth: &AuthSettings,
    to: OffsetDateTime,
) -> Result<Vec<MappingAtEnd>, ExportError> {
    let key = |m: &RoleMapping| (m.idp_group.clone(), m.role.as_str().to_owned(), m.team.clone());
    let mut rules: BTreeMap<(String, String, String), RoleMapping> = crate::auth::repo::role_mappings(&mut *conn)
        .await?
        .into_iter()
        .map(|m| (key(&m), m))
        .collect();
    let changes: Vec<repo::MappingChangeRow> = sqlx::query_as(repo::MAPPING_CHANGES).fetch_all(&mut *conn).await?;
    let parse = |v: &Option<serde_json::Value>| v.clone().and_then(|v| serde_json::from_value::<RoleMapping>(v).ok());
    for change in changes.iter().rev().filter(|c| c.at >= to) {
        if let Some(added) = parse(&change.after) {
            rules.remove(&key(&added));
        }
        if let Some(removed) = parse(&change.before) {
            rules.insert(key(&removed), removed);
        }
    }
    let mut last_change: HashMap<(String, String, String), (String, OffsetDateTime)> = HashMap::new();
    for change in changes.iter().filter(|c| c.at < to) {
        for m in [parse(&change.before), parse(&change.after)].into_iter().flatten() {
            last_change.insert(key(&m), (change.actor.clone(), change.at));
        }
    }
    let mut all: Vec<MappingAtEnd> = rules
        .into_values()
        .map(|rule| MappingAtEnd {
            changed: last_change.get(&key(&rule)).cloned(),
            rule,
            source: "database",
        })
        .collect();
    all.extend(auth.file_mappings.iter().map(|rule| MappingAtEnd {
        rule: rule.clone(),
        source: "file",
        changed: None,
    }));
    Ok(all)
}
