//! Identity rules: turning a login or a token into a [`CurrentUser`], and the admin actions on
//! users, tokens and role mappings. Each change writes its audit row in the same transaction.

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::guard::Caller;
use super::repo::{self, RoleOverride, TokenRow, UserRow};
use super::{
    roles_from_groups, team_ref, ActorKind, CreatedToken, CurrentUser, LoginInfo, Role, RoleMapping, RoleSettings,
    TokenRequest, TokenView, UserView,
};
use crate::audit::service::{record, record_alone, Event};
use crate::error::AppError;
use crate::ssr::{AuthSettings, ServerCtx};
use crate::wire::rfc3339;

/// Prefix of every API token, so leaked tokens are recognisable (and scannable).
pub const TOKEN_PREFIX: &str = "brg_";

/// What the identity provider said about a person who just signed in (verified claims).
#[derive(Clone, Debug)]
pub struct LoginClaims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The provider vouches for the email (`email_verified`). Only then does the email link the
    /// person to a catalog User.
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// What the login page shows. Public, without a check: it is how anonymous visitors sign in.
pub fn login_info(ctx: &ServerCtx) -> LoginInfo {
    LoginInfo {
        provider_ready: ctx.auth.ready(),
        issuer: ctx.auth.issuer.clone(),
        dev_users: ctx.auth.dev_users.clone(),
    }
}

/// The signed-in caller (a person or a token), or `Unauthenticated`.
pub fn me(caller: &Caller) -> Result<CurrentUser, AppError> {
    caller.require_user().cloned()
}

/// Records a successful login: upserts the user with their groups and writes the audit row.
/// The row names the person by issuer and subject and records the email and name they came
/// with, so the log can be read by people's names without trusting them.
pub async fn login(ctx: &ServerCtx, caller: &Caller, claims: &LoginClaims) -> Result<CurrentUser, AppError> {
    let mut tx = ctx.pool.begin().await?;
    let row = repo::upsert_user(
        &mut *tx,
        &repo::LoginUser {
            issuer: &claims.issuer,
            subject: &claims.subject,
            email: claims.email.as_deref(),
            link_email: claims.email.as_deref().filter(|_| claims.email_verified),
            name: claims.name.as_deref(),
            groups: &claims.groups,
        },
    )
    .await?;
    let user = to_current_user(ctx, &row).await?;
    let as_user = Caller {
        user: Some(user.clone()),
        ..caller.clone()
    };
    let event = Event::new("auth.login", user.actor()).change(
        None,
        Some(json!({
            "email": user.email, "email_verified": claims.email_verified, "name": user.name,
            "groups": user.groups, "roles": user.roles, "lead_of": user.lead_of,
            "catalog_ref": user.catalog_ref,
        })),
    );
    record(&mut tx, &ctx.audit, &as_user, event).await?;
    tx.commit().await?;
    Ok(user)
}

/// Records a refused login (bad state, invalid token, provider error). `why` must not contain
/// secrets: it is stored in the audit log.
pub async fn record_failed_login(ctx: &ServerCtx, caller: &Caller, why: &str) -> Result<(), AppError> {
    let event = Event {
        action: "auth.login_failed".into(),
        reason: Some(why.to_owned()),
        ..Event::default()
    };
    record_alone(&ctx.pool, &ctx.audit, caller, event).await.map(|_| ())
}

/// Records a logout.
pub async fn record_logout(ctx: &ServerCtx, caller: &Caller) -> Result<(), AppError> {
    let user = caller.require_user()?;
    record_alone(&ctx.pool, &ctx.audit, caller, Event::new("auth.logout", user.actor()))
        .await
        .map(|_| ())
}

/// The signed-in person of a session, or `None` when the user is gone or their sessions were
/// ended after `logged_in_at`.
pub async fn session_user(
    ctx: &ServerCtx,
    id: Uuid,
    logged_in_at: OffsetDateTime,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(row) = repo::user_by_id(&ctx.pool, id).await? else {
        return Ok(None);
    };
    if row.sessions_valid_after.is_some_and(|after| logged_in_at < after) {
        return Ok(None);
    }
    to_current_user(ctx, &row).await.map(Some)
}

async fn to_current_user(ctx: &ServerCtx, row: &UserRow) -> Result<CurrentUser, AppError> {
    // Every signed-in request resolves its caller: both reads at once, not one after the other.
    let (mappings, overrides) = tokio::try_join!(
        repo::role_mappings(&ctx.pool),
        repo::active_overrides(&ctx.pool, row.id)
    )?;
    let (roles, lead_of) = grant(&ctx.auth, &mappings, row, &overrides);
    Ok(CurrentUser {
        kind: ActorKind::User,
        id: row.id.to_string(),
        name: row
            .name
            .clone()
            .or_else(|| row.email.clone())
            .unwrap_or_else(|| row.subject.clone()),
        email: row.email.clone(),
        groups: row.groups.clone(),
        roles,
        lead_of,
        catalog_ref: row.catalog_ref.clone(),
        issuer: Some(row.issuer.clone()),
        subject: Some(row.subject.clone()),
        scopes: Vec::new(),
    })
}

/// A person's roles and led teams: from their groups through the mapping file's and the
/// admin-edited mappings (and the lead-group convention, when switched on), plus admin for a
/// bootstrap admin, minus the roles `overrides` took from them (an access review's revoke, see
/// `crate::access_reviews`). Nothing is granted by a group's name alone.
pub(crate) fn grant(
    settings: &AuthSettings,
    stored: &[RoleMapping],
    row: &UserRow,
    overrides: &[RoleOverride],
) -> (Vec<Role>, Vec<String>) {
    let mappings: Vec<RoleMapping> = settings.file_mappings.iter().chain(stored).cloned().collect();
    let (mut roles, lead_of) = roles_from_groups(&row.groups, &mappings, &settings.lead_group_suffix);
    let bootstrap = settings
        .bootstrap_admins
        .iter()
        .any(|(issuer, subject)| *issuer == row.issuer && *subject == row.subject);
    if bootstrap && !roles.contains(&Role::Admin) {
        roles.push(Role::Admin);
        roles.sort();
    }
    let mut lead_of = lead_of;
    without_overridden(&mut roles, &mut lead_of, overrides);
    (roles, lead_of)
}

/// Takes the overridden roles away: an override of `lead` removes one led team (and the lead
/// role with the last one), any other removes that role, whatever granted it (a mapping, the
/// lead-group convention or `--bootstrap-admin`): the revoke of a review must hold until an
/// admin lifts it.
fn without_overridden(roles: &mut Vec<Role>, lead_of: &mut Vec<String>, overrides: &[RoleOverride]) {
    let mut lead_overridden = false;
    for o in overrides {
        match o.role {
            Role::Lead => {
                lead_of.retain(|t| *t != o.team);
                lead_overridden = true;
            }
            role => roles.retain(|r| *r != role),
        }
    }
    if lead_overridden && lead_of.is_empty() {
        roles.retain(|r| *r != Role::Lead);
    }
}

/// The caller an `Authorization: Bearer` token stands for, or `None` if it is unknown, revoked
/// or expired.
pub async fn token_user(ctx: &ServerCtx, token: &str) -> Result<Option<CurrentUser>, AppError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let Some(row) = repo::live_token_by_hash(&ctx.pool, &hash_token(token)).await? else {
        return Ok(None);
    };
    repo::touch_token(&ctx.pool, row.id).await?;
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
    let mut roles = vec![Role::Viewer, role];
    roles.sort();
    roles.dedup();
    Ok(Some(CurrentUser {
        kind: ActorKind::Token,
        id: row.id.to_string(),
        name: row.name.clone(),
        email: None,
        groups: Vec::new(),
        roles,
        lead_of: row.team.into_iter().collect(),
        catalog_ref: None,
        issuer: None,
        subject: None,
        scopes: row.scopes,
    }))
}

fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token (admins, or the CLI acting as the system). The secret is returned once.
pub async fn create_token(ctx: &ServerCtx, caller: &Caller, req: TokenRequest) -> Result<CreatedToken, AppError> {
    let admin = caller.require_admin()?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::invalid(
            "name",
            "give the token a name of 1 to 100 characters",
        ));
    }
    let role = Role::parse(req.role.trim())
        .ok_or_else(|| AppError::invalid("role", "must be one of viewer, producer, lead, auditor, admin"))?;
    let team = match (role, req.team.as_deref().map(str::trim).filter(|t| !t.is_empty())) {
        (Role::Lead, Some(team)) => Some(team_key(ctx, team).await?),
        (Role::Lead, None) => {
            return Err(AppError::invalid(
                "team",
                "a lead token needs the team it leads (--team)",
            ))
        }
        (_, Some(_)) => return Err(AppError::invalid("team", "only lead tokens name a team")),
        (_, None) => None,
    };
    let scopes = token_scopes(ctx, role, &req.scopes).await?;
    let expires_at = Some(token_expiry(req.expires_days, ctx.auth.token_expiry_days)?);
    let token = new_token_secret();
    let mut tx = ctx.pool.begin().await?;
    let row = repo::insert_token(
        &mut *tx,
        &repo::NewToken {
            name,
            hash: &hash_token(&token),
            prefix: &token[..TOKEN_PREFIX.len() + 6],
            role,
            team: team.as_deref(),
            scopes: &scopes,
            created_by: &admin.actor(),
            expires_at,
        },
    )
    .await?;
    let info = token_view(row);
    let after = serde_json::to_value(&info).ok();
    record(
        &mut tx,
        &ctx.audit,
        caller,
        Event::new("token.create", format!("token:{}", info.name)).change(None, after),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken { token, info })
}

/// Most scopes a producer token may name: enough for a team's pipelines, small enough to show.
pub const MAX_TOKEN_SCOPES: usize = 100;

/// The reference keys a `producer` token is scoped to (teams or components that exist), or an
/// error when another role names scopes or a producer names none.
async fn token_scopes(ctx: &ServerCtx, role: Role, scopes: &[String]) -> Result<Vec<String>, AppError> {
    let named: Vec<&str> = scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    match (role, named.is_empty()) {
        (Role::Producer, true) => {
            return Err(AppError::invalid(
                "scopes",
                "a producer token needs the teams or components it reports on (--scope team-payments or --scope component:default/checkout)",
            ))
        }
        (Role::Producer, false) => {}
        (_, false) => return Err(AppError::invalid("scopes", "only producer tokens name scopes")),
        (_, true) => return Ok(Vec::new()),
    }
    if named.len() > MAX_TOKEN_SCOPES {
        return Err(AppError::invalid(
            "scopes",
            format!("at most {MAX_TOKEN_SCOPES} scopes; scope the token to teams instead of components"),
        ));
    }
    let mut keys = Vec::with_capacity(named.len());
    for scope in named {
        let key = if scope.starts_with("component:") {
            let key = scope.to_ascii_lowercase();
            if !crate::catalog::repo::entity_exists(&ctx.pool, &key).await? {
                return Err(AppError::invalid(
                    "scopes",
                    format!("no component {key} in the catalog"),
                ));
            }
            key
        } else {
            team_key(ctx, scope).await?
        };
        keys.push(key);
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// A reference key for the catalog Group `team` (`payments` or `group:default/payments`), which
/// must exist.
pub(crate) async fn team_key(ctx: &ServerCtx, team: &str) -> Result<String, AppError> {
    let key = team_ref(team).ok_or_else(|| AppError::invalid("team", format!("{team} is not a Group reference")))?;
    let exists = crate::catalog::repo::entity_exists(&ctx.pool, &key).await?;
    if !exists {
        return Err(AppError::invalid("team", format!("no team {key} in the catalog")));
    }
    Ok(key)
}

/// Tokens live at most this many days (ten years): long enough for any real use, and far
/// inside the range of dates the database and `time` can hold.
pub const MAX_TOKEN_EXPIRY_DAYS: u32 = 3650;

/// When a token made now expires: after `days`, or after `default_days` when none is given.
fn token_expiry(days: Option<u32>, default_days: u32) -> Result<OffsetDateTime, AppError> {
    let days = days.unwrap_or(default_days);
    let out_of_range = || {
        AppError::BadRequest(format!(
            "expires_days must be a number of days from 1 to {MAX_TOKEN_EXPIRY_DAYS}, got {days}"
        ))
    };
    if !(1..=MAX_TOKEN_EXPIRY_DAYS).contains(&days) {
        return Err(out_of_range());
    }
    OffsetDateTime::now_utc()
        .checked_add(time::Duration::days(i64::from(days)))
        .ok_or_else(out_of_range)
}

fn new_token_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Every token (admins).
pub async fn list_tokens(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<TokenView>, AppError> {
    caller.require_admin()?;
    Ok(repo::list_tokens(&ctx.pool)
        .await?
        .into_iter()
        .map(token_view)
        .collect())
}

/// Revokes a token (admins).
pub async fn revoke_token(ctx: &ServerCtx, caller: &Caller, id: &str) -> Result<TokenView, AppError> {
    let admin = caller.require_admin()?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::invalid("id", "not a token id"))?;
    let mut tx = ctx.pool.begin().await?;
    let row = repo::revoke_token(&mut *tx, id, &admin.actor())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("live token {id}")))?;
    let info = token_view(row);
    let event =
        Event::new("token.revoke", format!("token:{}", info.name)).change(serde_json::to_value(&info).ok(), None);
    record(&mut tx, &ctx.audit, caller, event).await?;
    tx.commit().await?;
    Ok(info)
}

fn token_view(t: TokenRow) -> TokenView {
    TokenView {
        id: t.id.to_string(),
        name: t.name,
        prefix: t.prefix,
        role: Role::parse(&t.role).unwrap_or(Role::Viewer),
        team: t.team,
        scopes: t.scopes,
        created_by: t.created_by,
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
        revoked_at: t.revoked_at.map(rfc3339),
        revoked_by: t.revoked_by,
    }
}

/// Every user who has signed in (admins).
pub async fn list_users(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<UserView>, AppError> {
    caller.require_admin()?;
    let mappings = repo::role_mappings(&ctx.pool).await?;
    let overrides = repo::all_active_overrides(&ctx.pool).await?;
    Ok(repo::list_users(&ctx.pool)
        .await?
        .into_iter()
        .map(|u| {
            let of_user: Vec<RoleOverride> = overrides.get(&u.id).cloned().unwrap_or_default();
            let (roles, lead_of) = grant(&ctx.auth, &mappings, &u, &of_user);
            UserView {
                id: u.id.to_string(),
                principal: format!("{}:{}", u.issuer, u.subject),
                name: u.name,
                email: u.email,
                groups: u.groups,
                roles,
                lead_of,
                catalog_ref: u.catalog_ref,
                last_login_at: rfc3339(u.last_login_at),
            }
        })
        .collect())
}

/// Ends every session of a user (admins).
pub async fn end_sessions(ctx: &ServerCtx, caller: &Caller, user_id: &str) -> Result<(), AppError> {
    caller.require_admin()?;
    let id = Uuid::parse_str(user_id).map_err(|_| AppError::invalid("id", "not a user id"))?;
    let mut tx = ctx.pool.begin().await?;
    let user = repo::user_by_id(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {id}")))?;
    repo::end_sessions(&mut *tx, id).await?;
    let target = format!("user:{}", user.email.as_deref().unwrap_or(&user.subject));
    record(&mut tx, &ctx.audit, caller, Event::new("auth.sessions_ended", target)).await?;
    tx.commit().await?;
    Ok(())
}

/// The role configuration (admins).
pub async fn role_settings(ctx: &ServerCtx, caller: &Caller) -> Result<RoleSettings, AppError> {
    caller.require_admin()?;
    Ok(RoleSettings {
        mappings: repo::role_mappings(&ctx.pool).await?,
        file_mappings: ctx.auth.file_mappings.clone(),
        mapping_file: ctx.auth.mapping_file.clone(),
        bootstrap_admins: ctx
            .auth
            .bootstrap_admins
            .iter()
            .map(|(issuer, subject)| format!("{issuer}:{subject}"))
            .collect(),
        lead_group_suffix: ctx.auth.lead_group_suffix.clone(),
        anonymous_read: ctx.auth.anonymous_read,
    })
}

/// Adds (`add`) or removes a group-to-role mapping (admins).
pub async fn change_role_mapping(
    ctx: &ServerCtx,
    caller: &Caller,
    m: RoleMapping,
    add: bool,
) -> Result<RoleSettings, AppError> {
    caller.require_admin()?;
    let group = m.idp_group.trim().to_owned();
    if group.is_empty() {
        return Err(AppError::invalid("idp_group", "name the identity provider's group"));
    }
    if m.role == Role::Producer {
        return Err(AppError::invalid(
            "role",
            "producer is a role for machines: create a producer token instead of mapping a group",
        ));
    }
    let team = match (m.role, m.team.trim()) {
        (Role::Lead, "") => return Err(AppError::invalid("team", "a lead mapping needs the team it leads")),
        (Role::Lead, team) if add => team_key(ctx, team).await?,
        (Role::Lead, team) => team.to_owned(),
        (_, "") => String::new(),
        (_, _) => return Err(AppError::invalid("team", "only lead mappings name a team")),
    };
    let m = RoleMapping {
        idp_group: group,
        role: m.role,
        team,
    };
    if ctx.auth.file_mappings.contains(&m) {
        let file = ctx.auth.mapping_file.as_deref().unwrap_or("the role-mapping file");
        return Err(AppError::Conflict(format!(
            "{file} grants this mapping; change it in that file and restart Bearing"
        )));
    }
    let mut tx = ctx.pool.begin().await?;
    let changed = if add {
        repo::insert_role_mapping(&mut *tx, &m).await?
    } else {
        repo::delete_role_mapping(&mut *tx, &m).await?
    };
    if !changed {
        return Err(if add {
            AppError::Conflict("that mapping exists already".into())
        } else {
            AppError::NotFound("that mapping".into())
        });
    }
    let value = serde_json::to_value(&m).ok();
    let (before, after) = if add { (None, value) } else { (value, None) };
    record(
        &mut tx,
        &ctx.audit,
        caller,
        Event::new("role_mapping.change", format!("group:{}", m.idp_group)).change(before, after),
    )
    .await?;
    tx.commit().await?;
    role_settings(ctx, caller).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_by_default_and_never_overflow() {
        let in_90 = token_expiry(None, 90).unwrap() - OffsetDateTime::now_utc();
        assert!((89..=90).contains(&in_90.whole_days()), "{in_90}");
        let in_7 = token_expiry(Some(7), 90).unwrap() - OffsetDateTime::now_utc();
        assert!((6..=7).contains(&in_7.whole_days()), "{in_7}");
        for bad in [Some(0), Some(MAX_TOKEN_EXPIRY_DAYS + 1), Some(u32::MAX)] {
            assert!(
                matches!(token_expiry(bad, 90), Err(AppError::BadRequest(ref m)) if m.contains("expires_days")),
                "{bad:?}"
            );
        }
    }

    fn user(issuer: &str, subject: &str, groups: &[&str]) -> UserRow {
        UserRow {
            id: Uuid::nil(),
            issuer: issuer.into(),
            subject: subject.into(),
            email: None,
            name: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            catalog_ref: None,
            last_login_at: OffsetDateTime::UNIX_EPOCH,
            sessions_valid_after: None,
        }
    }

    #[test]
    fn out_of_the_box_no_group_name_grants_anything() {
        let settings = AuthSettings::default();
        let (roles, lead_of) = grant(
            &settings,
            &[],
            &user("i", "s", &["admins", "auditors", "payments-leads"]),
            &[],
        );
        assert_eq!(roles, vec![Role::Viewer]);
        assert!(lead_of.is_empty());
    }

    #[test]
    fn bootstrap_admins_and_file_mappings_grant_what_they_name() {
        let settings = AuthSettings {
            bootstrap_admins: vec![("https://idp".into(), "root".into())],
            file_mappings: vec![RoleMapping {
                idp_group: "sec".into(),
                role: Role::Auditor,
                team: String::new(),
            }],
            ..AuthSettings::default()
        };
        assert_eq!(
            grant(&settings, &[], &user("https://idp", "root", &[]), &[]).0,
            vec![Role::Viewer, Role::Admin]
        );
        assert_eq!(
            grant(&settings, &[], &user("https://other-idp", "root", &[]), &[]).0,
            vec![Role::Viewer],
            "the subject counts only at its issuer"
        );
        assert_eq!(
            grant(&settings, &[], &user("https://idp", "x", &["sec"]), &[]).0,
            vec![Role::Viewer, Role::Auditor]
        );
    }

    #[test]
    fn overrides_take_roles_away_whatever_granted_them() {
        let settings = AuthSettings {
            bootstrap_admins: vec![("https://idp".into(), "root".into())],
            lead_group_suffix: "-leads".into(),
            ..AuthSettings::default()
        };
        let row = user("https://idp", "root", &["a-leads", "b-leads"]);
        let lead_a = RoleOverride {
            role: Role::Lead,
            team: "group:default/a".into(),
        };
        let (roles, lead_of) = grant(&settings, &[], &row, std::slice::from_ref(&lead_a));
        assert_eq!(roles, vec![Role::Viewer, Role::Lead, Role::Admin]);
        assert_eq!(lead_of, vec!["group:default/b"]);
        let lead_b = RoleOverride {
            role: Role::Lead,
            team: "group:default/b".into(),
        };
        let admin = RoleOverride {
            role: Role::Admin,
            team: String::new(),
        };
        let (roles, lead_of) = grant(&settings, &[], &row, &[lead_a, lead_b, admin]);
        assert_eq!(
            roles,
            vec![Role::Viewer],
            "the last led team takes the lead role with it"
        );
        assert!(lead_of.is_empty());
    }

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token_secret();
        let b = new_token_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_token(&a).len(), 32);
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
