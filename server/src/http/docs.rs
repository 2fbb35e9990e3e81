//! `/api/docs`: the API document (`/api/openapi.json`) as an interactive reference, with Swagger
//! UI from npm `swagger-ui-dist`, embedded at compile time (see `server/build.rs`) and served
//! here: no CDN, and nothing the page loads comes from elsewhere.
//!
//! The page fits the Content-Security-Policy every page gets (`crate::security`): its scripts
//! are files of this site, Swagger UI's own and `init.js` below instead of the usual inline
//! start-up script, so it needs neither a nonce nor `'unsafe-inline'`; its icons are `data:`
//! images, which the policy allows; it fetches only this origin.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;

/// The page: Swagger UI's stylesheet and script, then ours to start it.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bearing API reference</title>
<link rel="icon" href="/favicon.svg">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-test-api-docs></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI on the document. `validatorUrl: null`: no badge fetched from
/// validator.swagger.io. "Try it out" sends the requests from this page, with the session
/// cookie, like the app's own pages.
const INIT: &str = r##"window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
"##;

#[cfg(api_docs_assets)]
const BUNDLE: &[u8] = include_bytes!(concat!(env!("BEARING_SWAGGER_UI_DIST"), "/swagger-ui-bundle.js"));
#[cfg(api_docs_assets)]
const STYLESHEET: &[u8] = include_bytes!(concat!(env!("BEARING_SWAGGER_UI_DIST"), "/swagger-ui.css"));

/// `GET /api/docs`.
pub async fn page() -> Response {
    if cfg!(api_docs_assets) {
        Html(PAGE).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "This build of Bearing has no API reference: npm swagger-ui-dist was not installed when \
             it was built (run `npm install` or `make setup`, then build again). The document itself \
             is at /api/openapi.json.",
        )
            .into_response()
    }
}

/// `GET /api/docs/{file}`: the page's scripts and stylesheet.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body): (&str, &'static [u8]) = match file.as_str() {
        "init.js" => ("text/javascript; charset=utf-8", INIT.as_bytes()),
        #[cfg(api_docs_assets)]
        "swagger-ui-bundle.js" => ("text/javascript; charset=utf-8", BUNDLE),
        #[cfg(api_docs_assets)]
        "swagger-ui.css" => ("text/css; charset=utf-8", STYLESHEET),
        _ => {
            return ApiError::App(app::error::AppError::NotFound(format!("/api/docs/{file}"))).into_response();
        }
    };
    // Kept an hour: a new version of Swagger UI reaches browsers within that.
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
