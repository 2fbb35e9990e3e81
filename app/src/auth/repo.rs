//! SQL for users, role mappings, API tokens and session termination.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Role, RoleMapping};

/// A person who has signed in.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub catalog_ref: Option<String>,
    pub last_login_at: OffsetDateTime,
    pub sessions_valid_after: Option<OffsetDateTime>,
}

const USER_COLUMNS: &str = "id, issuer, subject, email, name, groups, catalog_ref, last_login_at, sessions_valid_after";

/// What a login writes about the person.
pub struct LoginUser<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    /// Shown to admins and in the header; never used to identify the person.
    pub email: Option<&'a str>,
    /// The email to link a catalog User by: `Some` only when the provider verified it.
    pub link_email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub groups: &'a [String],
}

/// Creates or updates the user (issuer, subject) at login, linking the catalog User whose
/// profile email is `link_email` (none when it is `None`).
pub async fn upsert_user(db: impl PgExecutor<'_>, u: &LoginUser<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as(&format!(
        "INSERT INTO users (issuer, subject, email, name, groups, catalog_ref)
         VALUES ($1, $2, $3, $4, $5,
                 (SELECT ref FROM entities WHERE kind = 'user' AND $6::text IS NOT NULL
                    AND lower(body #>> '{{spec,profile,email}}') = lower($6) ORDER BY ref LIMIT 1))
         ON CONFLICT (issuer, subject) DO UPDATE
           SET email = EXCLUDED.email, name = EXCLUDED.name, groups = EXCLUDED.groups,
               catalog_ref = EXCLUDED.catalog_ref, last_login_at = now()
         RETURNING {USER_COLUMNS}"
    ))
    .bind(u.issuer)
    .bind(u.subject)
    .bind(u.email)
    .bind(u.name)
    .bind(u.groups)
    .bind(u.link_email)
    .fetch_one(db)
    .await
}

/// "Name (email)" of the people named by (issuer, subject), for showing audit actors.
pub async fn display_names(
    db: impl PgExecutor<'_>,
    people: &[(String, String)],
) -> sqlx::Result<std::collections::HashMap<(String, String), String>> {
    let (issuers, subjects): (Vec<&str>, Vec<&str>) = people.iter().map(|(i, s)| (i.as_str(), s.as_str())).unzip();
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT u.issuer, u.subject, u.name, u.email FROM users u
         JOIN UNNEST($1::text[], $2::text[]) AS p(issuer, subject) ON p.issuer = u.issuer AND p.subject = u.subject",
    )
    .bind(issuers)
    .bind(subjects)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(issuer, subject, name, email)| {
            let label = match (name, email) {
                (Some(n), Some(e)) => format!("{n} ({e})"),
                (n, e) => n.or(e)?,
            };
            Some(((issuer, subject), label))
        })
        .collect())
}

/// One user by id.
pub async fn user_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Every user, most recently signed in first.
pub async fn list_users(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY last_login_at DESC LIMIT 1000"
    ))
    .fetch_all(db)
    .await
}

/// Ends every session of the user that started before now.
pub async fn end_sessions(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE users SET sessions_valid_after = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A role taken from a person although their groups grant it (`role_overrides`, written by
/// access reviews).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleOverride {
    pub role: Role,
    /// The led team for [`Role::Lead`], empty otherwise.
    pub team: String,
}

/// The overrides in force for one person. Read on every request of theirs, so that a revoke
/// holds from their next request on.
pub async fn active_overrides(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Vec<RoleOverride>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT role, team FROM role_overrides WHERE user_id = $1 AND lifted_at IS NULL")
            .bind(user_id)
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(role, team)| {
            Some(RoleOverride {
                role: Role::parse(&role)?,
                team,
            })
        })
        .collect())
}

/// Every override in force, by person.
pub async fn all_active_overrides(
    db: impl PgExecutor<'_>,
) -> sqlx::Result<std::collections::HashMap<Uuid, Vec<RoleOverride>>> {
    let rows: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT user_id, role, team FROM role_overrides WHERE lifted_at IS NULL")
            .fetch_all(db)
            .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<RoleOverride>> = std::collections::HashMap::new();
    for (user, role, team) in rows {
        if let Some(role) = Role::parse(&role) {
            out.entry(user).or_default().push(RoleOverride { role, team });
        }
    }
    Ok(out)
}

/// The explicit group-to-role mappings.
pub async fn role_mappings(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RoleMapping>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT idp_group, role, team FROM role_mappings ORDER BY idp_group, role, team")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(idp_group, role, team)| {
            Some(RoleMapping {
                idp_group,
                role: Role::parse(&role)?,
                team,
            })
        })
        .collect())
}

/// Adds a mapping; false if it existed.
pub async fn insert_role_mapping(db: impl PgExecutor<'_>, m: &RoleMapping) -> sqlx::Result<bool> {
    let done =
        sqlx::query("INSERT INTO role_mappings (idp_group, role, team) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&m.idp_group)
            .bind(m.role.as_str())
            .bind(&m.team)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a mapping; false if there was none.
pub async fn delete_role_mapping(db: impl PgExecutor<'_>, m: &RoleMapping) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM role_mappings WHERE idp_group = $1 AND role = $2 AND team = $3")
        .bind(&m.idp_group)
        .bind(m.role.as_str())
        .bind(&m.team)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// An API token (never its secret).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub team: Option<String>,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

const TOKEN_COLUMNS: &str =
    "id, name, prefix, role, team, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by";

/// Stores a new token by its hash.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub hash: &'a [u8],
    pub prefix: &'a str,
    pub role: Role,
    pub team: Option<&'a str>,
    pub scopes: &'a [String],
    pub created_by: &'a str,
    pub expires_at: Option<OffsetDateTime>,
}

/// Inserts a token.
pub async fn insert_token(db: impl PgExecutor<'_>, t: &NewToken<'_>) -> sqlx::Result<TokenRow> {
    sqlx::query_as(&format!(
        "INSERT INTO api_tokens (name, token_hash, prefix, role, team, created_by, expires_at, scopes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(t.name)
    .bind(t.hash)
    .bind(t.prefix)
    .bind(t.role.as_str())
    .bind(t.team)
    .bind(t.created_by)
    .bind(t.expires_at)
    .bind(t.scopes)
    .fetch_one(db)
    .await
}

/// The live (not revoked, not expired) token with this hash.
pub async fn live_token_by_hash(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
    ))
    .bind(hash)
    .fetch_optional(db)
    .await
}

/// Records a use of the token, at most once a minute (a write per request would be wasteful).
pub async fn touch_token(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Every token, newest first.
pub async fn list_tokens(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC"
    ))
    .fetch_all(db)
    .await
}

/// Revokes a token; returns it as it was before, or `None` if unknown or already revoked.
pub async fn revoke_token(db: impl PgExecutor<'_>, id: Uuid, by: &str) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(&format!(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL
         RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(id)
    .bind(by)
    .fetch_optional(db)
    .await
}
