//! Requests you can trace (issue 11, part 4): an id on every answer, errors logged once inside
//! the request's span with that id, and every API rejection in the API's error shape.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::util::TestApp;

/// Sends `req`; returns status, the `x-request-id` header and the body as JSON (or a string).
async fn send(app: &TestApp, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, id, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn as_admin(app: &TestApp, method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", app.admin_token))
}

/// The API's error shape: `{"errors":[{"detail": "..."}]}` with a non-empty detail.
fn assert_api_error(body: &Value, what: &str) {
    let details: Vec<&str> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not the API error shape: {body}"))
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        !details.is_empty() && details.iter().all(|d| !d.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_refusals_and_probes_included() {
    let app = TestApp::strict().await;
    let cases = [
        Request::get("/healthz").body(Body::empty()).unwrap(),
        // Refused by the sign-in middleware before any handler runs.
        Request::get("/api/v1/entities").body(Body::empty()).unwrap(),
        // Outside the sign-in middleware, refused by its own check.
        Request::get("/metrics").body(Body::empty()).unwrap(),
        Request::get("/no/such/page").body(Body::empty()).unwrap(),
    ];
    let mut ids = Vec::new();
    for req in cases {
        let uri = req.uri().clone();
        let (_, id, _) = send(&app, req).await;
        let id = id.unwrap_or_else(|| panic!("{uri}: no x-request-id"));
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{uri}: {id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each request its own id");
}

#[tokio::test]
async fn an_internal_error_is_logged_once_inside_the_span_with_the_id_the_client_sees() {
    let logs = crate::logs::install();
    let app = TestApp::with_demo().await;
    // The catalog's table disappears under the server: a query fails, which is our bug or the
    // operator's, never the caller's.
    sqlx::query("ALTER TABLE entities RENAME TO entities_moved")
        .execute(&app.superuser)
        .await
        .unwrap();
    let req = as_admin(&app, "GET", "/api/v1/entities?q=trace-me")
        .header("x-request-id", "client-trace-1")
        .body(Body::empty())
        .unwrap();
    let (status, id, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_api_error(&body, "500");
    assert!(
        !body.to_string().contains("entities_moved") && !body.to_string().contains("relation"),
        "no database detail reaches the client: {body}"
    );
    let id = id.expect("x-request-id");
    // Exactly one line names this request id, and it is the database error, inside the
    // request's span (which carries the route and the client's own id).
    let lines = logs.lines_with(&id);
    assert_eq!(lines.len(), 1, "logged once: {lines:#?}");
    let line = &lines[0];
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("database error"), "{line}");
    assert!(line.contains("route=/api/v1/entities"), "{line}");
    assert!(line.contains("client_request_id=client-trace-1"), "{line}");
    assert!(line.contains("method=GET"), "{line}");
}

#[tokio::test]
async fn rejected_bodies_queries_and_paths_answer_in_the_error_shape() {
    let app = TestApp::with_demo().await;
    let entity = "/api/v1/entities/component/default/checkout";
    let cases = [
        (
            "a body that is not JSON",
            as_admin(&app, "PATCH", entity)
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "JSON of the wrong shape",
            as_admin(&app, "PATCH", entity)
                .header("content-type", "application/json")
                .body(Body::from(json!({"lifecycle": 42}).to_string()))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a body without a JSON content type",
            as_admin(&app, "PATCH", entity)
                .header("content-type", "text/plain")
                .body(Body::from(json!({"lifecycle": "production"}).to_string()))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a query parameter of the wrong type",
            as_admin(&app, "GET", "/api/v1/entities?limit=many")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a path parameter of the wrong type",
            as_admin(&app, "POST", "/api/v1/transfers/not-a-number/accept")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, req, expected) in cases {
        let (status, _, body) = send(&app, req).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert_api_error(&body, what);
    }
    // Nothing changed.
    let entity = app.get_json(entity).await;
    assert_eq!(entity["lifecycle"], "production");

    // The Backstage-compatible routes answer in Backstage's shape instead.
    let req = as_admin(&app, "POST", "/api/catalog/entities/by-refs")
        .header("content-type", "application/json")
        .body(Body::from("{\"entityRefs\": [oops"))
        .unwrap();
    let (status, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["name"], "InputError", "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["response"]["statusCode"], 400, "{body}");
}
