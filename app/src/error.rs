//! The one error type shared by pages, server functions and the HTTP API.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Everything that can go wrong in a request, in terms a user can act on. Internal details
/// (SQL, driver messages) are logged on the server and never carried here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request carries no valid session or token.
    #[error("sign in first")]
    Unauthenticated,
    /// The caller is known but may not do this; the string says what is missing.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The thing asked for does not exist; the string names it.
    #[error("{0} not found")]
    NotFound(String),
    /// The input is wrong; `field` says which part, `message` how to fix it.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// The request itself is malformed (arguments that do not parse, text no database can
    /// hold); the string says what and how to fix it.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request conflicts with the current state (e.g. an import with problems).
    #[error("{0}")]
    Conflict(String),
    /// Something failed on the server; details are in the server log.
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    /// Calling a server function failed (network, decoding).
    #[error("request failed: {0}")]
    ServerFn(String),
}

impl AppError {
    /// Shorthand for [`AppError::Forbidden`].
    pub fn forbidden(what: impl Into<String>) -> Self {
        AppError::Forbidden(what.into())
    }

    /// Shorthand for [`AppError::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } => 422,
            AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::Internal | AppError::ServerFn(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let err = match value {
            // The caller sent arguments the function cannot read: their fault, not ours.
            ServerFnErrorErr::Args(msg)
            | ServerFnErrorErr::MissingArg(msg)
            | ServerFnErrorErr::Deserialization(msg) => {
                AppError::BadRequest(format!("the arguments could not be read: {msg}"))
            }
            other => AppError::ServerFn(other.to_string()),
        };
        // On the server, the call answers with this error's status rather than server_fn's
        // blanket 500.
        #[cfg(feature = "ssr")]
        if let (Some(response), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(err.status()),
        ) {
            response.set_status(code);
        }
        err
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => AppError::NotFound("row".into()),
            // PostgreSQL text and JSON cannot hold a NUL character (SQLSTATE 22021, 22P05), and
            // numbers have ranges (22003): the input's fault, whichever field carried it.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                AppError::BadRequest("text must not contain NUL (\\0) characters".into())
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22003") => {
                AppError::BadRequest("a number is out of range".into())
            }
            other => {
                tracing::error!(error = %other, "database error");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<bearing_catalog_index::IndexError> for AppError {
    fn from(err: bearing_catalog_index::IndexError) -> Self {
        tracing::error!(error = %err, "catalog list index error");
        AppError::Internal
    }
}

/// A part of a page that failed while the rest of it rendered: a short notice in its place.
/// The failed server function has already set the response status (see `server_call::call`); the
/// page is also marked as not to be stored, so no cache keeps a page with a hole in it.
#[component]
pub fn SectionError(
    /// What could not be shown, as a noun phrase ("the edit panel").
    what: &'static str,
    error: AppError,
) -> impl IntoView {
    mark_not_cacheable();
    view! {
        <p class="mt-6 rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800" role="alert" data-test-section-error=what>
            {format!("Could not show {what}: {error}. Reload the page to try again.")}
        </p>
    }
}

/// During server rendering, marks the response `Cache-Control: no-store`: it shows a failure
/// or a fallback that must not be served again. Does nothing in the browser.
pub fn mark_not_cacheable() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
}

/// Renders an error as a page section and, during server rendering, sets the HTTP status.
#[component]
pub fn ErrorTemplate(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(code) = axum::http::StatusCode::from_u16(error.status()) {
            response.set_status(code);
        }
    }
    let (heading, hint) = match &error {
        AppError::Unauthenticated => ("Sign in to continue", "Your session may have ended."),
        AppError::Forbidden(_) => ("Not allowed", "Ask an admin if you need this."),
        AppError::NotFound(_) => ("Not found", "Check the address, or search the catalog."),
        AppError::Invalid { .. } | AppError::BadRequest(_) => {
            ("That request is not valid", "Fix the input and try again.")
        }
        AppError::Conflict(_) => ("That could not be done", "See the message above."),
        AppError::Internal | AppError::ServerFn(_) => ("Something went wrong", "Try again in a moment."),
    };
    view! {
        <leptos_meta::Title text=heading/>
        <section class="mx-auto max-w-xl py-16 text-center" role="alert" data-test-error=error.status()>
            <p class="text-5xl font-semibold text-slate-300">{error.status()}</p>
            <h1 class="mt-2 text-2xl font-semibold">{heading}</h1>
            <p class="mt-2 text-slate-600">{error.to_string()}</p>
            <p class="mt-1 text-sm text-slate-500">{hint}</p>
            <a href="/catalog" class="mt-6 inline-block rounded bg-indigo-600 px-4 py-2 text-white hover:bg-indigo-700">"Browse the catalog"</a>
        </section>
    }
}

/// Shows the first error of an [`ErrorBoundary`] with [`ErrorTemplate`].
pub fn error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let first = errors
        .get()
        .into_iter()
        .next()
        .map(|(_, e)| {
            e.downcast_ref::<AppError>()
                .cloned()
                .unwrap_or(AppError::ServerFn(e.to_string()))
        })
        .unwrap_or(AppError::Internal);
    view! { <ErrorTemplate error=first/> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(AppError::NotFound("x".into()).status(), 404);
        assert_eq!(AppError::invalid("limit", "too big").status(), 422);
        assert_eq!(AppError::Internal.status(), 500);
        assert_eq!(
            AppError::invalid("limit", "must be 1-500").to_string(),
            "invalid limit: must be 1-500"
        );
    }
}
