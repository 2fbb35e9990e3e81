//! `GET /api/openapi.json`: the OpenAPI 3 description of every API route.
//!
//! The document is maintained by hand next to the handlers (`openapi.json`), because the
//! wire types live in the `app` crate, which is also compiled to wasm and should not carry
//! an OpenAPI derive. The integration test `openapi::documents_every_route` fails when a
//! route is added without being described here.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, embedded at build time.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_is_valid_json_openapi_3() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).expect("openapi.json parses");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
