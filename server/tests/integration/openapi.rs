//! The OpenAPI document (`/api/openapi.json`) against the router it describes and the OpenAPI
//! 3.1 schema, pinned in a snapshot; and the reference page (`/api/docs`) that shows it.
//!
//! The schema in `openapi/oas-3.1-schema.json` is the official one
//! (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`), as PyPI `openapi-spec-validator`
//! 0.9.0 ships it (`openapi_spec_validator/resources/schemas/v3.1/schema.json`).
//!
//! The snapshot (`snapshots/integration__openapi__the_document_is_pinned.snap`) changes with
//! every change to the API: review it with `cargo insta review`, or accept it with
//! `INSTA_UPDATE=always cargo test -p server --test integration openapi`.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::util::TestApp;

/// The methods the API could use; HEAD and OPTIONS follow GET and the router.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Response header naming the route that answered (test only).
const MATCHED: &str = "x-test-matched-path";

#[tokio::test]
async fn the_document_validates_against_the_openapi_3_1_schema() {
    // Strict: the document is public even where reading the catalog needs credentials.
    let app = TestApp::strict().await;
    let doc = app.get_json("/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0", "{}", doc["openapi"]);

    let schema: Value = serde_json::from_str(include_str!("openapi/oas-3.1-schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document:\n{}",
        errors.join("\n")
    );

    // That schema checks Schema Objects only for being objects; check each against JSON Schema
    // 2020-12 (the dialect of OpenAPI 3.1), and that every `$ref` points at something.
    let schemas = doc["components"]["schemas"].as_object().expect("component schemas");
    assert!(schemas.len() >= 20, "{} schemas", schemas.len());
    for (name, s) in schemas {
        if let Err(e) = jsonschema::meta::validate(s) {
            panic!("schema {name} is not JSON Schema 2020-12: {e}");
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 30, "{} references", refs.len());
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling reference {r}");
    }

    // What the hand-kept document said, still said: the sign-in schemes and the error shapes.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "bearing");
    assert_eq!(schemes["metricsToken"]["scheme"], "bearer");
    assert_eq!(
        doc["paths"]["/metrics"]["get"]["security"],
        serde_json::json!([{"metricsToken": []}])
    );
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], serde_json::json!([]));
    let bs_404 = &doc["paths"]["/api/catalog/entities/by-name/{kind}/{namespace}/{name}"]["get"]["responses"]["404"];
    assert_eq!(
        bs_404["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/BackstageError"
    );
    let v1_404 = &doc["paths"]["/api/v1/entities/{kind}/{namespace}/{name}"]["get"]["responses"]["404"];
    assert_eq!(
        v1_404["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ApiErrors"
    );
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_pinned() {
    let app = TestApp::new().await;
    let doc = app.get_json("/api/openapi.json").await;
    insta::assert_json_snapshot!(doc);
}

/// Every operation the document describes is answered by the route of that path and method,
/// and every route the router holds is described, method by method, unless
/// `server::router::UNDOCUMENTED` or the app's page table names it.
#[tokio::test]
async fn the_document_and_the_router_agree() {
    let app = TestApp::new().await;
    let doc = app.get_json("/api/openapi.json").await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(k)))
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    assert!(documented.len() >= 25, "{documented:?}");

    let pages: BTreeSet<String> = server::site::page_routes()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    let served: BTreeSet<String> = route_paths(&app.router)
        .into_iter()
        .filter(|p| !pages.contains(p) && !server::router::UNDOCUMENTED.iter().any(|u| p.starts_with(u)))
        .collect();
    let documented_paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    let undescribed: Vec<_> = served.difference(&documented_paths).collect();
    let unserved: Vec<_> = documented_paths.difference(&served).collect();
    assert!(
        undescribed.is_empty() && unserved.is_empty(),
        "routes neither in the document nor in server::router::UNDOCUMENTED: {undescribed:?}; \
         documented paths the router does not hold: {unserved:?}"
    );

    // Which methods each path answers: a request of any other gets 405 from its route.
    let router = app.router.clone().route_layer(from_fn(name_the_route));
    let mut answered = BTreeSet::new();
    for path in &served {
        for method in METHODS {
            let req = Request::builder()
                .method(method.clone())
                .uri(fill(path))
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            let matched = resp.headers().get(MATCHED).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                matched.as_deref(),
                Some(path.as_str()),
                "{method} {path} reached another route"
            );
            if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
                answered.insert((method.as_str().to_owned(), path.clone()));
            }
        }
    }
    let undescribed: Vec<_> = answered.difference(&documented).collect();
    let unanswered: Vec<_> = documented.difference(&answered).collect();
    assert!(
        undescribed.is_empty() && unanswered.is_empty(),
        "methods answered but not described: {undescribed:?}; described but answered 405: {unanswered:?}"
    );
}

/// The path template of every route in `router`. axum has no API to list routes; its `Debug`
/// output names them (`RouteId(3): "/api/v1/me"`), which is what this reads. Should that
/// output change, the comparison with the document fails rather than passes.
fn route_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let main = debug.split("fallback_router").next().unwrap_or_default();
    let paths: BTreeSet<String> = main
        .split("RouteId(")
        .skip(1)
        .filter_map(|part| {
            let (_, rest) = part.split_once("): \"")?;
            rest.split('"').next().map(str::to_owned)
        })
        .collect();
    assert!(
        paths.contains("/api/v1/me"),
        "no routes read from the router's Debug output"
    );
    paths
}

/// A concrete URI for a path template: every `{param}` becomes `probe`.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "probe" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Puts the route that matched in a response header.
async fn name_the_route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let mut resp = next.run(req).await;
    if let Some(v) = matched.and_then(|m| HeaderValue::from_str(&m).ok()) {
        resp.headers_mut().insert(MATCHED, v);
    }
    resp
}

#[tokio::test]
async fn the_reference_page_and_its_assets_are_served_by_bearing() {
    // Strict: the reference is public, like the document.
    let app = TestApp::strict().await;
    let (status, headers, html) = get(&app, "/api/docs").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    // The policy every page gets, unweakened: a nonce, no inline code, no other origins.
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");

    let page = scraper::Html::parse_document(&html);
    let scripts = scraper::Selector::parse("script").unwrap();
    let stylesheets = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
    let mut assets = Vec::new();
    for script in page.select(&scripts) {
        let src = script
            .value()
            .attr("src")
            .expect("no inline scripts: the policy allows none");
        assert!(script.text().all(|t| t.trim().is_empty()), "script with a body: {src}");
        assets.push((src.to_owned(), "text/javascript"));
    }
    for link in page.select(&stylesheets) {
        assets.push((link.value().attr("href").unwrap().to_owned(), "text/css"));
    }
    let names: Vec<&str> = assets.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "/api/docs/swagger-ui-bundle.js",
            "/api/docs/init.js",
            "/api/docs/swagger-ui.css"
        ]
    );
    for (asset, content_type) in &assets {
        let (status, headers, body) = get(&app, asset).await;
        assert_eq!(status, StatusCode::OK, "{asset}: {body}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{asset}: {:?}",
            headers[header::CONTENT_TYPE]
        );
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY), "{asset}");
        // Nothing fetched from elsewhere at run time (source-map comments aside).
        assert!(
            !body.contains("@import url(http"),
            "{asset} imports from another origin"
        );
    }
    let (_, _, bundle) = get(&app, "/api/docs/swagger-ui-bundle.js").await;
    assert!(
        bundle.len() > 500_000 && bundle.contains("SwaggerUIBundle"),
        "{} bytes",
        bundle.len()
    );
    let (_, _, init) = get(&app, "/api/docs/init.js").await;
    assert!(
        init.contains("url: \"/api/openapi.json\"") && init.contains("validatorUrl: null"),
        "{init}"
    );
    // Compressed for browsers that accept it: the bundle is 1.7 MB.
    let req = Request::get("/api/docs/swagger-ui-bundle.js")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");

    let (status, _, body) = get(&app, "/api/docs/../../etc/passwd").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, body) = get(&app, "/api/docs/index.html").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app
        .router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
