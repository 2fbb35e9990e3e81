//! How a server function calls its service: one helper that gets the server context and the
//! caller, runs the service (which checks the caller's rights itself) and turns a failure into
//! the right HTTP status. Kept apart from [`crate::ssr`], which the services use, so that the
//! context does not depend on the domains that depend on it.

use std::future::Future;

use leptos::prelude::*;

use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Runs one server function: gets the server context and the caller, hands both to `service`
/// (which checks the caller's rights itself) and, when it fails, sets the response status to
/// the error's (see [`respond`]).
///
/// ```ignore
/// server_call::call(|ctx, caller| async move { service::home(&ctx, &caller).await }).await
/// ```
pub async fn call<T, F, Fut>(service: F) -> Result<T, AppError>
where
    F: FnOnce(ServerCtx, Caller) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let result = async {
        let ctx = crate::ssr::ctx()?;
        let caller = crate::auth::guard::caller().await?;
        service(ctx, caller).await
    };
    respond(result.await)
}

/// Sets the HTTP status of a failed server-function call to the error's status (403 for a
/// forbidden action, 401 without sign-in, ...) instead of a blanket 500, then passes the
/// result on.
fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let (Some(response), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(err.status()),
        ) {
            response.set_status(code);
        }
    }
    result
}
