//! Resolves the caller of every request (API token, producer access token or session) and refuses, by default, every
//! route an anonymous caller may not reach: `/api/...` answers 401 JSON, pages redirect to the
//! login page. Finer checks (roles) happen in the services.

use std::net::SocketAddr;

use app::auth::guard::Caller;
use app::auth::service;
use app::error::AppError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::access_token;
use super::limit::too_many_requests;
use super::session::{SessionAuth, AUTH_KEY};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::trace::RequestId;

/// Routes anyone may reach: signing in, static assets, probes and the API description with its
/// reference page. (`/metrics` is not here: it sits outside this middleware with a check of its
/// own.)
fn is_public(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/auth/")
        || path.starts_with("/pkg/")
        || path == "/api/docs"
        || path.starts_with("/api/docs/")
        || matches!(
            path,
            "/healthz" | "/readyz" | "/favicon.svg" | "/favicon.ico" | "/api/openapi.json" | "/api/fn/login_info"
        )
}

/// The middleware: puts a [`Caller`] in the request's extensions and enforces sign-in.
pub async fn resolve_caller(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    // Given by `crate::trace::RequestIdLayer`, outside this middleware.
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    let client_ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let mut caller = Caller {
        user: None,
        request_id,
        client_addr: client_ip.map(|ip| ip.to_string()),
    };
    // Static assets are the same for everyone: no session or token lookups for them.
    if req.uri().path().starts_with("/pkg/") {
        req.extensions_mut().insert(caller);
        return next.run(req).await;
    }
    // Anyone can start sign-ins and hit the callback: each costs a session row, a provider
    // round trip or an audit row, so each client gets a budget.
    if req.uri().path().starts_with("/auth/") {
        if let Err(wait) = state.auth.limits.check_auth(client_ip) {
            metrics::counter!("bearing_rate_limited_total", "limit" => "auth").increment(1);
            return too_many_requests(wait, "too many sign-in requests from your address");
        }
    }
    let bearer = req.headers().get(header::AUTHORIZATION).map(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("")
            .trim()
            .to_owned()
    });
    if let Some(token) = bearer {
        if let Some(wait) = state.auth.limits.token_blocked(client_ip) {
            metrics::counter!("bearing_rate_limited_total", "limit" => "token").increment(1);
            return too_many_requests(wait, "too many failed API-token authentications from your address");
        }
        match bearer_user(&state, &token).await {
            Ok(Ok(user)) => caller.user = Some(user),
            Ok(Err(why)) => {
                if let Some(wait) = state.auth.limits.token_failed(client_ip) {
                    metrics::counter!("bearing_rate_limited_total", "limit" => "token").increment(1);
                    return too_many_requests(wait, "too many failed API-token authentications from your address");
                }
                return refuse(&why);
            }
            Err(err) => return ApiError::App(err).into_response(),
        }
    } else {
        match session_user(&state, &session).await {
            Ok(user) => caller.user = user,
            Err(err) => return ApiError::App(err).into_response(),
        }
    }

    let path = req.uri().path();
    if caller.user.is_none() && !state.ctx.auth.anonymous_read && !is_public(path) {
        if path.starts_with("/api/") || !matches!(*req.method(), Method::GET | Method::HEAD) {
            return refuse("sign in first, or send an API token as `Authorization: Bearer <token>`");
        }
        let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut to = form_urlencoded::Serializer::for_suffix(String::from("/login?"), "/login?".len());
        to.append_pair("return_to", here);
        return Redirect::to(&to.finish()).into_response();
    }

    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The caller a Bearer token stands for: a Bearing API token, or a producer's client-credentials
/// access token (a JWT from the identity provider); `Ok(Err(why))` when it is refused.
async fn bearer_user(state: &AppState, token: &str) -> Result<Result<app::auth::CurrentUser, String>, AppError> {
    if !token.starts_with(service::TOKEN_PREFIX) && access_token::looks_like_jwt(token) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let verified = access_token::verify(
            state.auth.provider.as_deref(),
            state.auth.producer_clients.as_deref(),
            token,
            now,
        )
        .await;
        return Ok(verified.map_err(|why| {
            // The reason only, never the token.
            tracing::debug!(reason = %why, "client-credentials access token refused");
            why.to_string()
        }));
    }
    Ok(service::token_user(&state.ctx, token)
        .await?
        .ok_or_else(|| "the API token is invalid, revoked or expired".to_owned()))
}

/// The signed-in user of the session, if the session is still valid. Sessions past their
/// absolute lifetime, of deleted users or ended by an admin are flushed.
async fn session_user(state: &AppState, session: &Session) -> Result<Option<app::auth::CurrentUser>, AppError> {
    let auth: Option<SessionAuth> = session.get(AUTH_KEY).await.map_err(|err| {
        tracing::error!(error = %err, "session store failed");
        AppError::Internal
    })?;
    let Some(auth) = auth else {
        return Ok(None);
    };
    let age = OffsetDateTime::now_utc() - auth.logged_in();
    let user = if age > state.auth.session_lifetime {
        None
    } else {
        service::session_user(&state.ctx, auth.user_id, auth.logged_in()).await?
    };
    if user.is_none() {
        session.flush().await.map_err(|_| AppError::Internal)?;
    }
    Ok(user)
}

fn refuse(detail: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "detail": detail }] });
    let mut response = (axum::http::StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"bearing\""),
    );
    response
}
