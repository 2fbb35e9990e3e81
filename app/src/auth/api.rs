//! Server functions for the login page, the header and the admin page. Thin adapters: the
//! service checks the caller.

use leptos::prelude::*;

use super::{CreatedToken, CurrentUser, LoginInfo, Rights, RoleSettings, TokenView, UserView};
#[cfg(feature = "ssr")]
use super::{Role, RoleMapping, TokenRequest};
use crate::error::AppError;

/// What the login page shows. Public: it is how anonymous visitors sign in.
#[server(prefix = "/api/fn", endpoint = "login_info")]
pub async fn get_login_info() -> Result<LoginInfo, AppError> {
    crate::server_call::call(|ctx, _caller| async move { Ok(super::service::login_info(&ctx)) }).await
}

/// The signed-in caller; `None` when anonymous.
#[server(prefix = "/api/fn", endpoint = "me")]
pub async fn get_me() -> Result<Option<CurrentUser>, AppError> {
    crate::server_call::call(|_ctx, caller| async move { Ok(super::service::me(&caller).ok()) }).await
}

/// What the signed-in caller may see and do (`None` when anonymous), without who they are: the
/// header's links come from it, so a page rendered for one person can be shared with everyone
/// who has the same rights. The name is read separately, by the browser ([`get_me`]).
#[server(prefix = "/api/fn", endpoint = "my_rights")]
pub async fn get_my_rights() -> Result<Option<Rights>, AppError> {
    crate::server_call::call(|_ctx, caller| async move { Ok(super::service::me(&caller).ok().map(|u| u.rights())) })
        .await
}

/// Every API token (admins).
#[server(prefix = "/api/fn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::list_tokens(&ctx, &caller).await }).await
}

/// Creates an API token (admins); the secret is in the answer, once.
#[server(prefix = "/api/fn", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    role: String,
    team: Option<String>,
    expires_days: Option<String>,
    /// Producer tokens: teams and components, separated by commas or spaces.
    #[server(default)]
    scopes: Option<String>,
) -> Result<CreatedToken, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let expires_days = match expires_days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(d.parse::<u32>().map_err(|e| match e.kind() {
                std::num::IntErrorKind::PosOverflow => AppError::BadRequest(format!(
                    "expires_days must be a number of days from 1 to {}, got {d}",
                    super::service::MAX_TOKEN_EXPIRY_DAYS
                )),
                _ => AppError::invalid("expires_days", "a whole number of days"),
            })?),
            None => None,
        };
        let scopes = scopes
            .unwrap_or_default()
            .split([',', ' ', '\n'])
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .collect();
        let request = TokenRequest {
            name,
            role,
            team,
            expires_days,
            scopes,
        };
        super::service::create_token(&ctx, &caller, request).await
    })
    .await
}

/// Revokes an API token (admins).
#[server(prefix = "/api/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<TokenView, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::revoke_token(&ctx, &caller, &id).await }).await
}

/// Everyone who has signed in (admins).
#[server(prefix = "/api/fn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::list_users(&ctx, &caller).await }).await
}

/// Ends every session of a user (admins).
#[server(prefix = "/api/fn", endpoint = "end_user_sessions")]
pub async fn end_user_sessions(id: String) -> Result<(), AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::end_sessions(&ctx, &caller, &id).await }).await
}

/// How groups become roles (admins).
#[server(prefix = "/api/fn", endpoint = "get_role_settings")]
pub async fn get_role_settings() -> Result<RoleSettings, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::role_settings(&ctx, &caller).await }).await
}

/// Adds or removes a group-to-role mapping (admins).
#[server(prefix = "/api/fn", endpoint = "change_role_mapping")]
pub async fn change_role_mapping(
    idp_group: String,
    role: String,
    team: String,
    add: bool,
) -> Result<RoleSettings, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let role =
            Role::parse(&role).ok_or_else(|| AppError::invalid("role", "must be viewer, lead, auditor or admin"))?;
        let mapping = RoleMapping { idp_group, role, team };
        super::service::change_role_mapping(&ctx, &caller, mapping, add).await
    })
    .await
}
