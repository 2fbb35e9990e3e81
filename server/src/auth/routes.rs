//! `/auth/login`, `/auth/callback`, `/auth/logout`.

use app::auth::guard::Caller;
use app::auth::service::{self, LoginClaims};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session};
use utoipa::IntoParams;

use super::oidc::{LoginError, PendingLogin};
use super::session::{SessionAuth, AUTH_KEY, PENDING_KEY, PRE_LOGIN_TTL};
use crate::http::error::ApiError;
use crate::state::AppState;
use app::text::printable;

/// Query of `/auth/login`: where to go after signing in, and a login hint for the provider.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// Local path to return to (default `/`).
    #[param(example = "/catalog")]
    return_to: Option<String>,
    /// Passed to the identity provider.
    login_hint: Option<String>,
}

/// Starts a sign-in: remembers state, nonce and PKCE verifier in the (pre-login) session and
/// sends the browser to the provider.
#[utoipa::path(
    get,
    path = "/auth/login",
    operation_id = "login",
    summary = "Start signing in (browser)",
    description = "`return_to` must be a local path.",
    tag = "identity",
    security(),
    params(LoginQuery),
    responses(
        (status = 303, description = "To the identity provider, or to /login?error=unavailable when none is configured or it does not answer"),
        (status = 422, description = "`return_to` is not a local path", body = crate::http::openapi::schemas::ApiErrors),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let return_to = match q.return_to.as_deref() {
        None | Some("") => "/".to_owned(),
        Some(path) => safe_return_to(path).ok_or_else(|| {
            ApiError::App(app::error::AppError::invalid(
                "return_to",
                "must be a path on this site, such as /catalog (no scheme or host)",
            ))
        })?,
    };
    let Some(provider) = &state.auth.provider else {
        return Ok(Redirect::to("/login?error=unavailable").into_response());
    };
    // A provider that went down after discovery: say so here, rather than send the browser to it.
    if !provider.reachable().await {
        return Ok(Redirect::to("/login?error=unavailable").into_response());
    }
    let hint = q
        .login_hint
        .as_deref()
        .filter(|h| !h.is_empty() && h.len() <= 200 && !h.chars().any(char::is_control));
    match provider.start(return_to, hint) {
        Ok((url, pending)) => {
            // Anyone can start a sign-in: a session that holds only a sign-in in progress
            // lives minutes, not the signed-in idle time. (Signing in stores the long expiry
            // again; a signed-in session starting another sign-in keeps its own.)
            let signed_in: Option<SessionAuth> = session.get(AUTH_KEY).await.map_err(session_error)?;
            if signed_in.is_none() {
                session.set_expiry(Some(Expiry::OnInactivity(PRE_LOGIN_TTL)));
            }
            session.insert(PENDING_KEY, pending).await.map_err(session_error)?;
            Ok(Redirect::to(&url).into_response())
        }
        Err(_) => Ok(Redirect::to("/login?error=unavailable").into_response()),
    }
}

/// Only same-origin relative paths: `/x`, not `//host`, `/\host`, `https://…` or control
/// characters.
pub fn safe_return_to(path: &str) -> Option<String> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.len() <= 2000;
    ok.then(|| path.to_owned())
}

/// Query of `/auth/callback`, as the identity provider sends it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    code: Option<String>,
    /// The `state` of the sign-in this browser started.
    state: Option<String>,
    /// The provider's error code, when it refused.
    error: Option<String>,
}

/// Completes a sign-in. The pending login is removed before anything else, so a replayed
/// callback finds nothing to complete.
///
/// Only a callback that matches the sign-in this browser started (its `state`, within
/// [`PRE_LOGIN_TTL`]) can fail into the audit log; any other is anonymous noise that anyone can
/// send, and is only counted (`bearing_auth_callback_unmatched_total` in /metrics).
#[utoipa::path(
    get,
    path = "/auth/callback",
    operation_id = "callback",
    summary = "The identity provider's redirect back (browser)",
    tag = "identity",
    security(),
    params(CallbackQuery),
    responses((status = 303, description = "To `return_to`, or to /login?error=... when refused")),
)]
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Extension(caller): Extension<Caller>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let pending: Option<PendingLogin> = session.remove(PENDING_KEY).await.map_err(session_error)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let unmatched = match (&pending, q.state.as_deref()) {
        (None, _) => Some("no_pending_sign_in"),
        (Some(_), None) => Some("no_state"),
        (Some(p), Some(st)) if !p.matches(st) => Some("state_mismatch"),
        (Some(p), _) if p.expired(now, PRE_LOGIN_TTL) => Some("expired"),
        _ => None,
    };
    let pending = match (pending, unmatched) {
        (Some(p), None) => p,
        (_, why) => {
            let why = why.unwrap_or("unknown");
            metrics::counter!("bearing_auth_callback_unmatched_total", "reason" => why).increment(1);
            tracing::debug!(
                callback.unmatched = why,
                "sign-in callback matches no sign-in in progress"
            );
            forget_pre_login(&session).await?;
            return Ok(Redirect::to("/login?error=state").into_response());
        }
    };
    let return_to = pending.return_to.clone();
    let outcome = match (&state.auth.provider, q.error, q.code, q.state) {
        (None, ..) => Err(LoginError::Unavailable),
        (_, Some(error), _, _) => Err(LoginError::Provider(printable(&error).chars().take(100).collect())),
        (Some(provider), None, Some(code), Some(st)) => provider.finish(pending, &st, &code).await,
        _ => Err(LoginError::Exchange(
            "the provider sent neither a code nor an error".into(),
        )),
    };
    let login = match outcome {
        Ok(login) => login,
        Err(err) => {
            let why = printable(&err.to_string()).into_owned();
            tracing::warn!(error = %why, "sign-in refused");
            service::record_failed_login(&state.ctx, &caller, &why).await?;
            forget_pre_login(&session).await?;
            let code = match err {
                LoginError::Unavailable => "unavailable",
                LoginError::StateMismatch => "state",
                LoginError::Provider(_) => "provider",
                LoginError::Exchange(_) => "exchange",
                LoginError::InvalidToken(_) => "token",
            };
            return Ok(Redirect::to(&format!("/login?error={code}")).into_response());
        }
    };
    let claims = LoginClaims {
        issuer: login.issuer.clone(),
        subject: login.subject.clone(),
        email: login.email.clone(),
        email_verified: login.email_verified,
        name: login.name.clone(),
        groups: login.groups.clone(),
    };
    let user = service::login(&state.ctx, &caller, &claims).await?;
    // A new session id at sign-in: an id planted before login is worthless after it.
    session.cycle_id().await.map_err(session_error)?;
    let auth = SessionAuth {
        user_id: user
            .id
            .parse()
            .map_err(|_| ApiError::App(app::error::AppError::Internal))?,
        logged_in_at: OffsetDateTime::now_utc().unix_timestamp(),
        id_token: login.id_token,
    };
    session.insert(AUTH_KEY, auth).await.map_err(session_error)?;
    Ok(Redirect::to(&return_to).into_response())
}

/// Deletes a session that held only a sign-in in progress (a signed-in one stays), so a
/// finished or refused sign-in leaves no row behind.
async fn forget_pre_login(session: &Session) -> Result<(), ApiError> {
    let signed_in: Option<SessionAuth> = session.get(AUTH_KEY).await.map_err(session_error)?;
    if signed_in.is_none() {
        session.flush().await.map_err(session_error)?;
    }
    Ok(())
}

/// Ends the session here and, when the provider supports it, at the provider too.
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "logout",
    summary = "End the session here and, when supported, at the identity provider",
    tag = "identity",
    responses(
        (status = 303, description = "To the provider's end-session endpoint or /login"),
        (status = 403, description = "A cross-origin request", body = crate::http::openapi::schemas::ApiErrors),
    ),
)]
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let auth: Option<SessionAuth> = session.get(AUTH_KEY).await.map_err(session_error)?;
    if caller.user.is_some() {
        service::record_logout(&state.ctx, &caller).await?;
    }
    session.flush().await.map_err(session_error)?;
    let to = state
        .auth
        .provider
        .as_ref()
        .and_then(|p| p.logout_url(auth.as_ref().map(|a| a.id_token.as_str())))
        .unwrap_or_else(|| "/login".into());
    Ok((StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, to)]).into_response())
}

fn session_error(err: tower_sessions::session::Error) -> ApiError {
    tracing::error!(error = %err, "session store failed");
    ApiError::App(app::error::AppError::Internal)
}
