//! Sessions in PostgreSQL (tower-sessions). The cookie is `__Host-bearing` over https (Secure,
//! HttpOnly, SameSite=Lax, Path=/) and `bearing` on plain-http localhost. A session ends after
//! the idle timeout (the store's expiry, renewed on use) or the absolute lifetime (checked
//! against the login time kept in the session). A session holding only a sign-in in progress
//! expires after [`PRE_LOGIN_TTL`].

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

use crate::config::AuthArgs;

/// Session key of the signed-in user (shared with the evidence bundle, which counts sessions).
pub const AUTH_KEY: &str = app::auth::SESSION_AUTH_KEY;
/// Session key of a sign-in in progress.
pub const PENDING_KEY: &str = "pending_login";

/// How long a sign-in in progress (and a session holding nothing else) lives: anyone can start
/// one, so it must not cost a row for the signed-in idle time.
pub const PRE_LOGIN_TTL: time::Duration = time::Duration::minutes(10);

/// What a signed-in session holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    /// Unix seconds of the sign-in: the absolute lifetime counts from here, and "end all
    /// sessions" ends sessions signed in before it.
    pub logged_in_at: i64,
    /// The ID token, sent back to the provider as the logout hint.
    pub id_token: String,
}

impl SessionAuth {
    /// The sign-in time.
    pub fn logged_in(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.logged_in_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The session cookie's name for this deployment.
pub fn cookie_name(args: &AuthArgs) -> &'static str {
    if args.https() {
        "__Host-bearing"
    } else {
        "bearing"
    }
}

/// The session layer, storing sessions in the `sessions` table.
pub fn layer(pool: PgPool, args: &AuthArgs) -> anyhow::Result<SessionManagerLayer<PostgresStore>> {
    let store = PostgresStore::new(pool)
        .with_schema_name("public")
        .map_err(anyhow::Error::msg)?
        .with_table_name("sessions")
        .map_err(anyhow::Error::msg)?;
    let idle = time::Duration::try_from(args.session_idle)?;
    Ok(SessionManagerLayer::new(store)
        .with_name(cookie_name(args))
        .with_secure(args.https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle)))
}

/// Deletes expired sessions every 10 minutes (the store leaves them otherwise).
pub async fn delete_expired(pool: PgPool) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(err) = sqlx::query("DELETE FROM sessions WHERE expiry_date < now()")
            .execute(&pool)
            .await
        {
            if !pool.is_closed() {
                tracing::warn!(error = %err, "deleting expired sessions failed");
            }
        }
    }
}
