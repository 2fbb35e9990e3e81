//! Authorization: default-deny, tokens, cross-origin refusal, security headers, and the matrix
//! of every mutating route against every role.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::util::{TestApp, ORIGIN};

#[tokio::test]
async fn without_credentials_every_api_route_answers_401_json_and_pages_redirect_to_login() {
    let app = TestApp::strict_with_demo().await;
    for uri in [
        "/api/v1/entities",
        "/api/v1/entities/component/default/checkout",
        "/api/v1/me",
        "/api/v1/audit",
        "/api/v1/transfers",
        "/api/catalog/entities/by-query",
        "/api/catalog/entity-facets?facet=kind",
    ] {
        let (status, body) = app.call("GET", uri, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {uri}");
        assert!(body["errors"][0]["detail"].as_str().is_some(), "GET {uri}: {body}");
    }
    let (status, _) = app.call("POST", "/api/fn/get_catalog", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let resp = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/catalog?kind=api").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/login?return_to=%2Fcatalog%3Fkind%3Dapi");
    // The login page, health and the API description stay reachable.
    for uri in ["/healthz", "/api/openapi.json"] {
        assert_eq!(app.get(uri).await.0, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn tokens_authenticate_until_revoked_and_wrong_ones_are_refused() {
    let app = TestApp::strict_with_demo().await;
    let viewer = app.token("viewer", None).await;
    let (status, me) = app.call("GET", "/api/v1/me", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["kind"], "token");
    assert_eq!(me["roles"], json!(["viewer"]));
    assert_eq!(
        app.call("GET", "/api/v1/entities", Some(&viewer), None).await.0,
        StatusCode::OK
    );

    let (status, _) = app.call("GET", "/api/v1/entities", Some("brg_not-a-token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Revoke through the admin server function (the same path as the admin page).
    let tokens: Vec<(String, String)> = sqlx::query_as("SELECT id::text, name FROM api_tokens WHERE role = 'viewer'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let req = Request::post("/api/fn/revoke_token")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("id={}", tokens[0].0)))
        .unwrap();
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.call("GET", "/api/v1/entities", Some(&viewer), None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Only a hash is stored: the token text is nowhere in the database.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE token_hash::text LIKE '%' || $1 || '%'")
            .bind(&viewer)
            .fetch_one(&app.superuser)
            .await
            .unwrap();
    assert_eq!(stored, 0);
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        audit.contains(&"token.create".to_string()) && audit.contains(&"token.revoke".to_string()),
        "{audit:?}"
    );
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let app = TestApp::with_demo().await;
    let lead = app.token("lead", Some("team-checkout")).await;
    let patch = |origin: Option<&'static str>, site: Option<&'static str>, cookie: bool| {
        let mut req = Request::patch("/api/v1/entities/component/default/checkout")
            .header("authorization", format!("Bearer {lead}"))
            .header("content-type", "application/json");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        if cookie {
            req = req.header("cookie", "bearing=abc");
        }
        req.body(Body::from(json!({"lifecycle": "production"}).to_string()))
            .unwrap()
    };
    let (status, body) = app.send(patch(Some("https://evil.example"), None, false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("cross-origin"));
    assert_eq!(
        app.send(patch(None, Some("cross-site"), true)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(patch(None, None, true)).await.0,
        StatusCode::FORBIDDEN,
        "cookie without Origin"
    );
    assert_eq!(app.send(patch(Some(ORIGIN), None, true)).await.0, StatusCode::OK);
    assert_eq!(
        app.send(patch(None, None, false)).await.0,
        StatusCode::OK,
        "token clients send no Origin"
    );
}

#[tokio::test]
async fn responses_carry_security_headers_and_pages_a_nonce_csp() {
    let app = TestApp::with_demo().await;
    let resp = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/catalog").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("referrer-policy"));
    assert!(h.contains_key("x-request-id"));
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("nonce in CSP")
        .to_owned();
    let body = String::from_utf8(
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    // Every inline script carries this response's nonce.
    for script in body.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        if !tag.contains("src=") {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "inline script without the nonce: <script{tag}>"
            );
        }
    }
    let (_, api) = app.get("/api/v1/entities?limit=1").await;
    assert!(!api.is_empty());
}

#[tokio::test]
async fn return_to_must_be_a_local_path() {
    let app = TestApp::new().await;
    for bad in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let uri = format!("/auth/login?return_to={}", urlencode(bad));
        let (status, body) = app.get(&uri).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body.contains("return_to"), "{body}");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One mutating route: how to prepare state, the request, and which roles may call it.
struct Route {
    name: &'static str,
    allowed: &'static [&'static str],
}

/// Every mutating route (JSON API and server functions) against every role. Allowed calls
/// succeed (2xx); the others get 401 (anonymous) or 403 and change nothing.
#[tokio::test]
async fn matrix_of_mutating_routes_and_roles() {
    let routes = [
        Route {
            name: "POST /api/v1/import",
            allowed: &["admin"],
        },
        Route {
            name: "PATCH /api/v1/entities/..",
            allowed: &["lead-owner", "admin"],
        },
        Route {
            name: "POST /api/v1/entities/../transfer",
            allowed: &["lead-owner", "admin"],
        },
        Route {
            name: "POST /api/v1/transfers/{id}/accept",
            allowed: &["lead-receiver", "admin"],
        },
        Route {
            name: "POST /api/v1/transfers/{id}/reject",
            allowed: &["lead-receiver", "admin"],
        },
        Route {
            name: "fn edit_entity",
            allowed: &["lead-owner", "admin"],
        },
        Route {
            name: "fn transfer_entity",
            allowed: &["lead-owner", "admin"],
        },
        Route {
            name: "fn decide_transfer",
            allowed: &["lead-receiver", "admin"],
        },
        Route {
            name: "fn create_token",
            allowed: &["admin"],
        },
        Route {
            name: "fn revoke_token",
            allowed: &["admin"],
        },
        Route {
            name: "fn end_user_sessions",
            allowed: &["admin"],
        },
        Route {
            name: "fn change_role_mapping",
            allowed: &["admin"],
        },
    ];
    let roles = [
        "anonymous",
        "viewer",
        "auditor",
        "lead-other",
        "lead-receiver",
        "lead-owner",
        "admin",
    ];
    let mut failures = Vec::new();
    for route in &routes {
        let app = TestApp::strict_with_demo().await;
        let mut tokens = std::collections::HashMap::new();
        tokens.insert("viewer", app.token("viewer", None).await);
        tokens.insert("auditor", app.token("auditor", None).await);
        tokens.insert("lead-other", app.token("lead", Some("team-storefront")).await);
        tokens.insert("lead-receiver", app.token("lead", Some("team-fulfilment")).await);
        tokens.insert("lead-owner", app.token("lead", Some("team-checkout")).await);
        tokens.insert("admin", app.admin_token.clone());
        for (i, role) in roles.iter().enumerate() {
            let (method, uri, body, form) = prepare(&app, route.name, i).await;
            let mut req = Request::builder().method(method).uri(&uri);
            if let Some(t) = tokens.get(role) {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let req = match (body, form) {
                (Some(b), _) => req
                    .header("content-type", "application/json")
                    .body(Body::from(b.to_string())),
                (None, Some(f)) => req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(f)),
                (None, None) => req
                    .header("content-type", "application/yaml")
                    .body(Body::from(IMPORT_YAML)),
            }
            .unwrap();
            let audit_before = audit_rows(&app).await;
            let (status, text) = app.send(req).await;
            let allowed = route.allowed.contains(role);
            let expected_ok = status.is_success();
            let expected_denied = if *role == "anonymous" {
                status == StatusCode::UNAUTHORIZED
            } else {
                status == StatusCode::FORBIDDEN
            };
            if allowed && !expected_ok || !allowed && !expected_denied {
                failures.push(format!(
                    "{} as {role}: {status} {}",
                    route.name,
                    text.chars().take(200).collect::<String>()
                ));
            }
            if !allowed && audit_rows(&app).await != audit_before {
                failures.push(format!(
                    "{} as {role}: a refused call wrote to the audit log",
                    route.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "unexpected outcomes:\n{}", failures.join("\n"));
}

const IMPORT_YAML: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: matrix-probe\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-checkout\n";

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Puts the app into the state the route needs (checkout owned by team-checkout, a pending
/// transfer to team-fulfilment, a user, a token) and returns the request to send.
async fn prepare(
    app: &TestApp,
    route: &str,
    n: usize,
) -> (&'static str, String, Option<serde_json::Value>, Option<String>) {
    // Back to the starting point: checkout owned by team-checkout, no transfers.
    sqlx::query("DELETE FROM transfers").execute(&app.pool).await.unwrap();
    let owner: Option<String> =
        sqlx::query_scalar("SELECT owner_ref FROM entities WHERE ref = 'component:default/checkout'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    if owner.as_deref() != Some("group:default/team-checkout") {
        app::catalog::ownership::service::transfer(
            &app.ctx,
            &app::auth::guard::Caller::system("reset"),
            "component:default/checkout",
            "team-checkout",
            "reset for the next case",
        )
        .await
        .unwrap();
    }
    let pending = || async {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfers (entity_id, entity_ref, from_team, to_team, reason, requested_by)
             SELECT id, ref, owner_ref, 'group:default/team-fulfilment', 'matrix', 'test' FROM entities
             WHERE ref = 'component:default/checkout' RETURNING id",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        id
    };
    let e = "/api/v1/entities/component/default/checkout";
    match route {
        "POST /api/v1/import" => ("POST", "/api/v1/import?source=matrix".into(), None, None),
        "PATCH /api/v1/entities/.." => ("PATCH", e.into(), Some(json!({"lifecycle": format!("stage{n}")})), None),
        "POST /api/v1/entities/../transfer" => (
            "POST",
            format!("{e}/transfer"),
            Some(json!({"to": "team-fulfilment", "reason": "matrix"})),
            None,
        ),
        "POST /api/v1/transfers/{id}/accept" => (
            "POST",
            format!("/api/v1/transfers/{}/accept", pending().await),
            None,
            Some(String::new()),
        ),
        "POST /api/v1/transfers/{id}/reject" => (
            "POST",
            format!("/api/v1/transfers/{}/reject", pending().await),
            None,
            Some(String::new()),
        ),
        "fn edit_entity" => (
            "POST",
            "/api/fn/edit_entity".into(),
            None,
            Some(format!(
                "entity=component%3Adefault%2Fcheckout&lifecycle=stage{n}&description=d&links="
            )),
        ),
        "fn transfer_entity" => (
            "POST",
            "/api/fn/transfer_entity".into(),
            None,
            Some("entity=component%3Adefault%2Fcheckout&to=team-fulfilment&reason=matrix".into()),
        ),
        "fn decide_transfer" => (
            "POST",
            "/api/fn/decide_transfer".into(),
            None,
            Some(format!("id={}&accept=true", pending().await)),
        ),
        "fn create_token" => (
            "POST",
            "/api/fn/create_token".into(),
            None,
            Some(format!("name=t{n}&role=viewer")),
        ),
        "fn revoke_token" => {
            let t = app::auth::service::create_token(
                &app.ctx,
                &app::auth::guard::Caller::system("test"),
                app::auth::TokenRequest {
                    name: format!("victim{n}"),
                    role: "viewer".into(),
                    team: None,
                    expires_days: None,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            (
                "POST",
                "/api/fn/revoke_token".into(),
                None,
                Some(format!("id={}", t.info.id)),
            )
        }
        "fn end_user_sessions" => {
            let id: String = sqlx::query_scalar(
                "INSERT INTO users (issuer, subject, email) VALUES ('http://idp', $1, 'x@example.com') RETURNING id::text",
            )
            .bind(format!("s{n}"))
            .fetch_one(&app.pool)
            .await
            .unwrap();
            (
                "POST",
                "/api/fn/end_user_sessions".into(),
                None,
                Some(format!("id={id}")),
            )
        }
        "fn change_role_mapping" => (
            "POST",
            "/api/fn/change_role_mapping".into(),
            None,
            Some(format!("idp_group=g{n}&role=auditor&team=&add=true")),
        ),
        other => panic!("unknown route {other}"),
    }
}

/// The sum of a Prometheus counter over all its label sets (the recorder is process-wide:
/// compare before and after).
fn counter_total(name: &str) -> f64 {
    let rendered = server::telemetry::metrics_recorder()
        .expect("metrics recorder")
        .render();
    rendered
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn audit_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A request from `ip` (as the server's `ConnectInfo` would record the peer).
fn from(ip: &str, req: axum::http::request::Builder) -> Request<Body> {
    let mut req = req.body(Body::empty()).unwrap();
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    req
}

/// Issue 10, item 5: a callback that matches no sign-in in progress (no pending login, a
/// provider `error=`, any text) is anonymous noise. It is counted in /metrics, and writes
/// nothing to the permanent audit log (before: one `auth.login_failed` row each, every one
/// taking the chain-head lock).
#[tokio::test]
async fn issue_10_callbacks_that_match_no_sign_in_write_no_audit_rows() {
    let app = TestApp::strict().await;
    let rows_before = audit_count(&app).await;
    let counted_before = counter_total("bearing_auth_callback_unmatched_total");
    for i in 0..25 {
        let uri = match i % 3 {
            0 => "/auth/callback?error=access_denied%0D%0A2026-01-01T00:00:00Z%20INFO%20forged%1B%5B2J",
            1 => "/auth/callback?code=abc&state=def",
            _ => "/auth/callback",
        };
        let (status, _) = app.get(uri).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
    }
    assert_eq!(
        audit_count(&app).await,
        rows_before,
        "no audit rows for anonymous callbacks"
    );
    let counted = counter_total("bearing_auth_callback_unmatched_total") - counted_before;
    assert!(counted >= 25.0, "counted {counted}");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "and no session rows");
}

/// Issue 10, item 5: caller text reaches the audit log without control characters (CR/LF, ESC,
/// NUL), whichever text column it lands in: a reason, a token's name in the actor.
#[tokio::test]
async fn issue_10_control_characters_never_reach_the_audit_log() {
    let app = TestApp::strict_with_demo().await;
    let token = app::auth::service::create_token(
        &app.ctx,
        &app::auth::guard::Caller::system("test"),
        app::auth::TokenRequest {
            name: "ci\r\n2026-01-01 INFO forged".into(),
            role: "lead".into(),
            team: Some("team-checkout".into()),
            expires_days: None,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .token;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/entities/component/default/checkout/transfer",
            Some(&token),
            Some(json!({"to": "team-fulfilment", "reason": "reorg\r\n\u{1b}[31mforged line\u{7f}\u{9b}"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (actor, reason): (String, String) =
        sqlx::query_as("SELECT actor, reason FROM audit_log WHERE action = 'transfer.request'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor, "token:ci  2026-01-01 INFO forged");
    assert_eq!(reason, "reorg  [31mforged line");
    let dirty: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE concat(actor, target, reason, request_id, client_addr) ~ '[[:cntrl:]]'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(dirty, 0);
    // NUL cannot be stored at all: refused with a message, not a database error.
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/entities/component/default/cart/transfer",
            Some(&token),
            Some(json!({"to": "team-fulfilment", "reason": "nul\u{0}byte"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("NUL"), "{body}");
}

/// Issue 10, item 5: each client address gets a budget of `/auth/*` requests a minute (60 by
/// default); past it, 429 with Retry-After, while other clients go on.
#[tokio::test]
async fn issue_10_sign_in_routes_are_rate_limited_per_client() {
    let app = TestApp::strict().await;
    for i in 0..60 {
        let (status, _) = app.send(from("192.0.2.10", Request::get("/auth/login"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "request {i}");
    }
    let resp = tower::ServiceExt::oneshot(app.router.clone(), from("192.0.2.10", Request::get("/auth/callback")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, _) = app.send(from("192.0.2.11", Request::get("/auth/login"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "another client is not limited");
    let (status, _) = app.send(from("192.0.2.10", Request::get("/healthz"))).await;
    assert_eq!(status, StatusCode::OK, "only /auth/* is limited");
}

/// Issue 10, item 5: after 20 failed token authentications in a minute a client's token
/// requests get 429, even with a valid token (the answers stop telling a guesser anything);
/// other clients are not affected.
#[tokio::test]
async fn issue_10_failed_token_authentications_are_rate_limited_per_client() {
    let app = TestApp::strict_with_demo().await;
    let viewer = app.token("viewer", None).await;
    let with = |ip: &str, token: &str| {
        from(
            ip,
            Request::get("/api/v1/me").header("authorization", format!("Bearer {token}")),
        )
    };
    for i in 0..20 {
        let (status, _) = app.send(with("198.51.100.7", &format!("brg_guess{i}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let (status, body) = app.send(with("198.51.100.7", "brg_guess-over")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _) = app.send(with("198.51.100.7", &viewer)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "blocked, whatever the token");
    let (status, body) = app.send(with("198.51.100.8", &viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Issue 10, item 9: an overflowing `expires_days` is refused (400) with a message naming the field
/// (before: a panic on the date arithmetic, answered 500), and a token created without one
/// expires in 90 days (before: never).
#[tokio::test]
async fn issue_10_token_expiry_is_bounded_and_defaults_to_90_days() {
    let app = TestApp::strict().await;
    let create = |form: String| {
        Request::post("/api/fn/create_token")
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    for days in ["4294967295", "3651", "99999999999999999999", "0"] {
        let (status, body) = app
            .send(create(format!("name=big{days}&role=viewer&expires_days={days}")))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{days}: {body}");
        assert!(body.contains("expires_days") && body.contains("3650"), "{days}: {body}");
    }
    let (status, body) = app.send(create("name=neg&role=viewer&expires_days=-1".into())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not a number of days: {body}");
    let refused: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE name LIKE 'big%' OR name = 'neg'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refused, 0, "nothing was created");
    let (status, body) = app.send(create("name=plain&role=viewer".into())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days: f64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 FROM api_tokens WHERE name = 'plain'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((89.9..=90.0).contains(&days), "{days}");
    let (status, body) = app.send(create("name=week&role=viewer&expires_days=7".into())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Issue 10, item 9: a client's `x-request-id` is kept as the client's, never as the id the
/// audit log and the server log use for the request.
#[tokio::test]
async fn a_clients_request_id_is_never_the_audit_request_id() {
    let app = TestApp::with_demo().await;
    let req = Request::builder()
        .method("PATCH")
        .uri("/api/v1/entities/component/default/checkout")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .header("x-request-id", "forged-request-id")
        .body(Body::from(
            json!({"lifecycle": "deprecated", "reason": "ids"}).to_string(),
        ))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(resp.headers()["x-client-request-id"], "forged-request-id");
    assert!(uuid::Uuid::parse_str(&ours).is_ok(), "the server's own id: {ours}");
    let ids: Vec<Option<String>> =
        sqlx::query_scalar("SELECT request_id FROM audit_log WHERE action = 'entity.update'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(ids, vec![Some(ours)], "the audit row carries the server's id");
}

/// Issue 10, item 9: pages and API answers are never stored by browsers or proxies (they may
/// show what only this caller may see); static assets may be; HSTS only when the public URL
/// is https.
#[tokio::test]
async fn private_answers_are_not_stored_and_https_servers_send_hsts() {
    let app = TestApp::with_demo().await;
    for uri in [
        "/catalog",
        "/catalog/component/default/checkout",
        "/api/v1/entities?limit=1",
        "/api/v1/me",
    ] {
        let req = Request::get(uri)
            .header("authorization", format!("Bearer {}", app.admin_token))
            .body(Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{uri}");
        assert!(
            !resp.headers().contains_key("strict-transport-security"),
            "{uri}: plain http"
        );
    }

    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/bearing.css"), "a{}").unwrap();
    let options = server::site::leptos_options(Some(site.path().to_owned())).unwrap();
    let https = crate::util::router_at(
        "https://bearing.test",
        app.ctx.clone(),
        options,
        server::page_cache::PageCache::new(&Default::default()),
        Default::default(),
    );
    for uri in ["/catalog", "/healthz"] {
        let resp = tower::ServiceExt::oneshot(https.clone(), Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(
            resp.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{uri}"
        );
    }
    let resp = tower::ServiceExt::oneshot(https, Request::get("/pkg/bearing.css").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        !resp.headers().contains_key("cache-control"),
        "static assets may be cached"
    );
}
