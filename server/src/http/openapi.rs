//! The OpenAPI 3.1 document of Bearing's HTTP API, generated from the code: every handler carries
//! `#[utoipa::path]` (method, path, parameters, answers), the wire types derive `ToSchema` (in
//! the `app` crate only under `ssr`, so the wasm bundle does not carry them), and
//! [`crate::router`] registers a handler and its description at once with `routes!`. A route
//! therefore cannot be served without being described, and the description cannot drift from
//! the path it is served at. This module adds what the whole API shares: title, sign-in
//! schemes, tags and error shapes.
//!
//! `GET /api/openapi.json` serves the document; `/api/docs` shows it (see [`super::docs`]).
//! The integration tests in `server/tests/integration/openapi.rs` check it against the router
//! and the OpenAPI 3.1 schema, and pin it in a snapshot.

pub mod schemas;

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

const DESCRIPTION: &str = "\
Bearing's catalog API, Backstage-compatible catalog reads, health and metrics.

Authenticate with an API token (`Authorization: Bearer <token>`, from `bearing token create` or \
the admin page) or, in a browser, with the session cookie set by signing in. Producers of \
delivery events may instead send a client-credentials access token (a JWT) from the identity \
provider, when their client is listed in `--producer-clients`. After too many \
failed token authentications from one address, requests answer 429 with `Retry-After`.

Errors of Bearing's own routes are `{\"errors\": [{\"detail\": ...}]}`; the Backstage-compatible \
routes under `/api/catalog` answer Backstage's `{\"error\": {\"name\", \"message\"}, \"response\": \
{\"statusCode\"}}` so that `@backstage/catalog-client` understands them.";

/// The parts of the document no handler owns: info, tags, security, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(title = "Bearing", description = DESCRIPTION),
    tags(
        (name = "catalog", description = "Entities of the software catalog"),
        (name = "ownership", description = "Edits and transfers of ownership between teams"),
        (name = "mesh", description = "What the Kuma service mesh says about each service"),
        (name = "delivery", description = "Runs, deployments, changes and incidents reported by pipelines (OpenLineage, CDEvents)"),
        (name = "scorecards", description = "Scorecards: levels of checks on the catalog, the mesh and delivery, per component, team, system and organisation"),
        (name = "identity", description = "Who is calling, and signing in and out"),
        (name = "audit", description = "The audit log (admins and auditors)"),
        (name = "access-reviews", description = "Access reviews: who holds which role, kept or revoked by a reviewer who is never the subject, closed with a signed attestation"),
        (name = "backstage", description = "The catalog API of Backstage, for `@backstage/catalog-client`"),
        (name = "meta", description = "Health, metrics and this document"),
    ),
    security(("bearer" = []), ("session" = [])),
    components(schemas(schemas::ApiErrors, schemas::BackstageError)),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// The ways to authenticate that `security` above and on single operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_default();
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API token from `bearing token create` or the admin page; for producers, also a \
                 client-credentials access token from the identity provider (`--producer-clients`)",
            ))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        // The name depends on the deployment (`crate::auth::session::cookie_name`); the plain-http
        // one is given, the https one is described.
        let session = ApiKey::Cookie(ApiKeyValue::with_description(
            "bearing",
            "The session cookie after signing in (`__Host-bearing` over https); state changes also \
             need a same-origin Origin header",
        ));
        components.add_security_scheme("session", SecurityScheme::ApiKey(session));
        let metrics = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The secret given with `--metrics-token` (not an API token)"))
            .build();
        components.add_security_scheme("metricsToken", SecurityScheme::Http(metrics));
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")),
)]
pub async fn get_document() -> impl IntoResponse {
    // The document is a function of the code alone: built once per process.
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        let json = crate::router::api_document()
            .to_pretty_json()
            .expect("the OpenAPI document serializes: it is built from types, not input");
        Bytes::from(json)
    });
    ([(header::CONTENT_TYPE, "application/json")], body.clone())
}
