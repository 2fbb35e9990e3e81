//! Browser-facing protections on every response: cross-origin state changes are refused, and
//! security headers are set.
//!
//! The Content-Security-Policy is decided here, and only here. Each request gets a fresh nonce
//! before anything renders: the page renderer takes it from the request (see
//! [`provide_request_nonce`]) for Leptos' inline hydration scripts, the page cache joins cached
//! pages with it, and this middleware puts the same value in the response's policy. A page's
//! scripts and its policy therefore cannot disagree, however the page was produced (rendered,
//! served from the page cache, or the 404 fallback).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::nonce::Nonce;

use std::sync::Arc;

use app::ssr::AuthSettings;

use crate::state::AuthRuntime;

/// Refuses a state-changing request (anything but GET/HEAD/OPTIONS) that a browser sent from
/// another origin. Browsers send `Origin` on such requests; without it, `Sec-Fetch-Site` must say
/// the request is same-origin. Requests without cookies (API clients with a token) cannot ride
/// on a user's session and are let through.
pub async fn refuse_cross_origin(State(auth): State<Arc<AuthRuntime>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let has_cookie = headers.contains_key(header::COOKIE);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let allowed = match (origin, fetch_site) {
        (Some(origin), _) => origin == auth.public_origin,
        (None, Some(site)) => site == "same-origin" || site == "none",
        (None, None) => !has_cookie,
    };
    if !allowed {
        tracing::warn!(
            origin = %app::text::printable(origin.unwrap_or("-")),
            path = %app::text::printable(req.uri().path()),
            "cross-origin request refused"
        );
        let body = serde_json::json!({ "errors": [{ "detail": format!(
            "cross-origin request refused: state changes must come from {}", auth.public_origin) }] });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(req).await
}

/// Chooses this request's script nonce, then adds `X-Content-Type-Options`, `Referrer-Policy`,
/// `X-Frame-Options`, the Content-Security-Policy (with that nonce on HTML pages),
/// `Strict-Transport-Security` when the public URL is https, and `Cache-Control: no-store` on
/// pages and API answers, which may show what only this caller may see.
pub async fn security_headers(
    State(auth): State<Arc<AuthRuntime>>,
    State(settings): State<Arc<AuthSettings>>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if auth.public_origin.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_html = content_type.starts_with("text/html");
    let is_json = content_type.starts_with("application/json");
    if (is_html || is_json) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let policy = if is_html {
        page_policy(&nonce, settings.issuer.as_deref())
    } else {
        "default-src 'none'; frame-ancestors 'none'".to_owned()
    };
    match HeaderValue::from_str(&policy) {
        Ok(policy) => {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        // The nonce is base64url and the provider's origin a serialized URL origin, so this
        // cannot happen; a page without a policy would be worse than an error.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    response
}

/// The policy of an HTML page: scripts only from this site or carrying `nonce`,
/// `wasm-unsafe-eval` for the wasm bundle, no plugins, no `<base>`, no framing; forms may post
/// only here and to the identity provider (`issuer`; sign-out redirects there).
fn page_policy(nonce: &str, issuer: Option<&str>) -> String {
    let provider = issuer
        .and_then(|issuer| openidconnect::url::Url::parse(issuer).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple())
        .map(|origin| format!(" {}", origin.ascii_serialization()))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'{provider}; frame-ancestors 'none'"
    )
}

/// Gives the page being rendered the nonce [`security_headers`] chose for its request, so the
/// inline scripts Leptos writes carry the nonce the response's policy names. Called in the
/// rendering context of every page (after Leptos provides a nonce of its own, which this one
/// replaces).
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(nonce) = use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_names_the_nonce_and_the_provider_origin() {
        let policy = page_policy("AbC_1-x", Some("https://idp.example:8443/realms/x"));
        assert!(
            policy.contains("script-src 'self' 'nonce-AbC_1-x' 'wasm-unsafe-eval';"),
            "{policy}"
        );
        assert!(
            policy.contains("form-action 'self' https://idp.example:8443;"),
            "{policy}"
        );
        assert!(policy.contains("base-uri 'none'"), "{policy}");
        let without = page_policy("n", None);
        assert!(without.contains("form-action 'self';"), "{without}");
        // A configured issuer that is not a URL adds nothing rather than text to the header.
        assert!(page_policy("n", Some("not a url; script-src *")).contains("form-action 'self';"));
    }
}
