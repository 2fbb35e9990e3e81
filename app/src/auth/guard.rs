//! The caller of the current request, as the server's auth middleware resolved it, and the
//! checks every service starts with: adapters (server functions, HTTP handlers) hand the
//! caller to one service, and the service decides what it may do.

use axum::Extension;

use super::{ActorKind, CurrentUser};
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Who sent the request and from where. The server's middleware puts one in the request
/// extensions of every request; pages, server functions and API handlers read it.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The signed-in person or the token; `None` when anonymous.
    pub user: Option<CurrentUser>,
    /// The request id (also in the `x-request-id` response header and the logs).
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
}

impl Caller {
    /// A caller for work that no request started (the CLI, startup jobs).
    pub fn system(name: &str) -> Caller {
        Caller {
            user: Some(CurrentUser {
                kind: ActorKind::System,
                id: name.to_owned(),
                name: name.to_owned(),
                email: None,
                groups: Vec::new(),
                roles: super::Role::ALL.to_vec(),
                lead_of: Vec::new(),
                catalog_ref: None,
                issuer: None,
                subject: None,
                scopes: Vec::new(),
            }),
            request_id: None,
            client_addr: None,
        }
    }

    /// May this caller read the catalog? Signed-in callers may; anonymous ones only when
    /// anonymous read access is switched on.
    pub fn require_reader(&self, ctx: &ServerCtx) -> Result<(), AppError> {
        if self.user.is_some() || ctx.auth.anonymous_read {
            Ok(())
        } else {
            Err(AppError::Unauthenticated)
        }
    }

    /// The signed-in caller, or `Unauthenticated`.
    pub fn require_user(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthenticated)
    }

    /// The signed-in admin, or `Unauthenticated` / `Forbidden`.
    pub fn require_admin(&self) -> Result<&CurrentUser, AppError> {
        let user = self.require_user()?;
        if user.is_admin() {
            Ok(user)
        } else {
            Err(AppError::forbidden("this needs the admin role"))
        }
    }
}

/// The caller of the request being handled by a server function or page render.
pub async fn caller() -> Result<Caller, AppError> {
    match leptos_axum::extract::<Extension<Caller>>().await {
        Ok(Extension(caller)) => Ok(caller),
        Err(err) => {
            tracing::error!(error = %err, "no Caller in the request; the auth middleware is not installed");
            Err(AppError::Internal)
        }
    }
}
