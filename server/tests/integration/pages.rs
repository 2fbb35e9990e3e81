//! The rendered-page cache: pages are served again only to viewers with the same rights, with a fresh CSP
//! nonce each time, and never after something they show has changed.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::util::TestApp;

const CHECKOUT_PAGE: &str = "/catalog/component/default/checkout";

/// A GET as `token` (anonymous without one): status, Content-Security-Policy and body.
async fn page(app: &TestApp, uri: &str, token: Option<&str>) -> (StatusCode, String, String) {
    page_from(app.router.clone(), uri, token).await
}

/// [`page`] from `router`.
async fn page_from(router: axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = router
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let policy = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, policy, String::from_utf8_lossy(&bytes).into_owned())
}

/// The nonce in a Content-Security-Policy.
fn nonce(policy: &str) -> String {
    let start = policy.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    let len = policy[start..].find('\'').expect("closing quote");
    policy[start..start + len].to_owned()
}

/// The display name of `token`'s caller, as the page header shows it.
async fn name_of(app: &TestApp, token: &str) -> String {
    let me = app.get_json_as("/api/v1/me", token).await;
    let name = me["name"].as_str().unwrap_or_default().to_owned();
    assert!(!name.is_empty(), "no name in {me}");
    name
}

/// Retries `check` on the page for up to five seconds (notifications arrive asynchronously).
async fn eventually(app: &TestApp, uri: &str, token: Option<&str>, check: impl Fn(&str) -> bool) -> bool {
    eventually_within(app, uri, token, Duration::from_secs(5), |_, body| check(body))
        .await
        .is_some()
}

/// Retries `check` on the page's status and body for up to `limit` (a render in the
/// background, on a busy test machine, takes longer than a notification); the first answer that
/// passes, if any.
async fn eventually_within(
    app: &TestApp,
    uri: &str,
    token: Option<&str>,
    limit: Duration,
    check: impl Fn(StatusCode, &str) -> bool,
) -> Option<(StatusCode, String)> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let (status, _, body) = page(app, uri, token).await;
        if check(status, &body) {
            return Some((status, body));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// How long a test waits for a render in the background.
const BACKGROUND_RENDER_LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_page_is_rendered_once_and_served_again_with_its_own_nonce() {
    let app = TestApp::with_demo().await;
    let (status, policy1, body1) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, policy2, body2) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK);
    let stats = app.pages.stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (1, 1),
        "rendered once, then served from the cache"
    );

    let (n1, n2) = (nonce(&policy1), nonce(&policy2));
    assert_ne!(n1, n2, "every response carries its own nonce");
    assert!(
        body2.contains(&format!("nonce=\"{n2}\"")),
        "the hydration script carries the new nonce"
    );
    assert!(!body2.contains(&n1), "no trace of the nonce the page was rendered with");
    assert_eq!(
        body1.replace(&n1, "N"),
        body2.replace(&n2, "N"),
        "otherwise the same page"
    );
    assert_eq!(policy1.replace(&n1, "N"), policy2.replace(&n2, "N"));
}

#[tokio::test]
async fn viewers_with_the_same_rights_share_a_page_that_names_none_of_them() {
    let app = TestApp::strict_with_demo().await;
    let viewers = [app.token("viewer", None).await, app.token("viewer", None).await];
    let leads = [
        app.token("lead", Some("team-checkout")).await,
        app.token("lead", Some("team-checkout")).await,
    ];
    let mut names = Vec::new();
    for token in viewers.iter().chain(&leads) {
        names.push(name_of(&app, token).await);
    }

    let mut bodies = Vec::new();
    for (viewer, lead) in viewers.iter().zip(&leads) {
        let (_, policy, as_viewer) = page(&app, CHECKOUT_PAGE, Some(viewer)).await;
        assert!(
            !as_viewer.contains("data-test=\"edit-form\""),
            "a viewer gets no edit form"
        );
        assert!(!as_viewer.contains("href=\"/transfers\""), "nor a lead's links");
        let (_, _, as_lead) = page(&app, CHECKOUT_PAGE, Some(lead)).await;
        assert!(
            as_lead.contains("data-test=\"edit-form\""),
            "the owning team's lead may edit"
        );
        assert!(as_lead.contains("href=\"/transfers\""));
        for name in &names {
            assert!(
                !as_viewer.contains(name.as_str()) && !as_lead.contains(name.as_str()),
                "no page names its viewer ({name}): the browser asks for the name"
            );
        }
        bodies.push(as_viewer.replace(&nonce(&policy), "N"));
    }
    assert_eq!(bodies[0], bodies[1], "two viewers, one page");
    let stats = app.pages.stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (2, 2),
        "one render per set of rights, served again to the second person with them"
    );

    // The name the header shows comes from the browser's own call.
    let (status, me) = app.call("POST", "/api/fn/me", Some(&viewers[1]), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], names[1].as_str(), "{me}");

    // Signed out, the page is not served at all.
    let (status, _, _) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "redirected to sign in");
}

#[tokio::test]
async fn an_edit_shows_at_once() {
    let app = TestApp::strict_with_demo().await;
    let lead = app.token("lead", Some("team-checkout")).await;
    let viewer = app.token("viewer", None).await;
    for token in [&lead, &viewer] {
        let before = ok_page(&app, CHECKOUT_PAGE, token).await;
        assert!(!before.contains("Rewritten in Bearing"));
    }
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/entities/component/default/checkout",
            Some(&lead),
            Some(json!({"description": "Rewritten in Bearing"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in [&lead, &viewer] {
        let after = ok_page(&app, CHECKOUT_PAGE, token).await;
        assert!(
            after.contains("Rewritten in Bearing"),
            "the next request shows the edit"
        );
    }

    // A transfer request changes nothing in the catalog, but the edit panel shows it pending.
    const PENDING: &str = "data-test=\"pending-transfer\"";
    assert!(!ok_page(&app, CHECKOUT_PAGE, &lead).await.contains(PENDING));
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/entities/component/default/checkout/transfer",
            Some(&lead),
            Some(json!({"to": "team-fulfilment", "reason": "they run it now"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pending = ok_page(&app, CHECKOUT_PAGE, &lead).await;
    assert!(pending.contains(PENDING), "the request shows at once");
}

/// The page at `uri` as `token`, which must render completely (200, no section failed).
async fn ok_page(app: &TestApp, uri: &str, token: &str) -> String {
    let (status, _, body) = page(app, uri, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", section_errors(&body));
    body
}

/// The notices of page sections that failed to render, for failure messages.
fn section_errors(page: &str) -> String {
    let notices: Vec<&str> = page
        .match_indices("data-test-section-error")
        .map(|(i, _)| &page[i..page[i..].find("</p>").map_or(page.len(), |end| i + end)])
        .collect();
    if notices.is_empty() {
        "(no section failed)".into()
    } else {
        notices.join("; ")
    }
}

#[tokio::test]
async fn a_page_with_a_failed_section_says_so_and_is_not_kept() {
    let app = TestApp::strict_with_demo().await;
    let lead = app.token("lead", Some("team-checkout")).await;
    const FAILED_PANEL: &str = "data-test-section-error=\"the edit panel\"";
    const TRANSFER_FORM: &str = "data-test=\"transfer-form\"";
    // The edit panel reads overrides; the server may no longer do so (in this test's database).
    sqlx::query("REVOKE SELECT ON entity_overrides FROM bearing_app")
        .execute(&app.superuser)
        .await
        .expect("revoke");
    app.cache.invalidate();
    for _ in 0..2 {
        let (status, _, body) = page(&app, CHECKOUT_PAGE, Some(&lead)).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the status says something failed"
        );
        assert!(
            body.contains("id=\"graph-heading\""),
            "the rest of the entity page is there"
        );
        assert!(
            body.contains(FAILED_PANEL),
            "the failure is said where the panel would be"
        );
        assert!(!body.contains(TRANSFER_FORM));
    }
    let stats = app.pages.stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (2, 0),
        "a page with a failed section is not kept"
    );

    sqlx::query("GRANT SELECT ON entity_overrides TO bearing_app")
        .execute(&app.superuser)
        .await
        .expect("grant");
    let (_, _, body) = page(&app, CHECKOUT_PAGE, Some(&lead)).await;
    assert!(body.contains(TRANSFER_FORM), "the next request shows the panel again");
    assert!(!body.contains(FAILED_PANEL));
}

#[tokio::test]
async fn an_import_by_another_process_shows_on_the_next_pages() {
    let app = TestApp::with_demo().await;
    let list = "/catalog?kind=component&q=brand-new-service";
    let (_, _, before) = page(&app, list, None).await;
    assert!(!before.contains("/catalog/component/default/brand-new-service"));

    // Imported as `bearing import` does, in its own transaction: only its NOTIFY reaches us.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: brand-new-service\n\
         spec:\n  type: service\n  lifecycle: production\n  owner: team-checkout\n",
    )
    .expect("write");
    app.import_paths(&[dir.path().to_owned()]).await.expect("import");
    assert!(
        eventually(&app, list, None, |p| p
            .contains("/catalog/component/default/brand-new-service"))
        .await,
        "the imported component shows on the list page"
    );
}

#[tokio::test]
async fn mesh_writes_drop_rendered_pages() {
    let app = TestApp::with_demo().await;
    let now = time::OffsetDateTime::now_utc();
    app::mesh::repo::write::upsert_control_plane(&app.pool, "default", "http://kuma.test:5681")
        .await
        .expect("control plane");
    app::mesh::repo::write::replace_state(&app.pool, "default", &Default::default(), now)
        .await
        .expect("state");
    assert!(
        eventually(&app, "/mesh", None, |p| p
            .contains("data-test-control-plane=\"default\""))
        .await
    );
    assert!(!page(&app, "/mesh", None).await.2.contains("boom-1"));

    // Changed behind Bearing's back (no notification): the rendered page is still served.
    sqlx::query("UPDATE mesh_control_planes SET last_error = 'boom-1', last_error_at = now()")
        .execute(&app.superuser)
        .await
        .expect("update");
    let hits = app.pages.stats().hits;
    assert!(
        !page(&app, "/mesh", None).await.2.contains("boom-1"),
        "served from the cache"
    );
    assert_eq!(app.pages.stats().hits, hits + 1);

    // The poller's own write notifies every server.
    app::mesh::repo::write::record_error(&app.pool, "default", "boom-2", now)
        .await
        .expect("record error");
    assert!(
        eventually(&app, "/mesh", None, |p| p.contains("boom-2")).await,
        "the overview shows the new error"
    );
}

#[tokio::test]
async fn requests_for_a_page_being_rendered_wait_for_that_render() {
    let app = TestApp::with_demo().await;
    let requests = (0..8).map(|_| page(&app, CHECKOUT_PAGE, None));
    let answers = futures::future::join_all(requests).await;
    for (status, _, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{}", section_errors(body));
    }
    let bodies: Vec<String> = answers
        .iter()
        .map(|(_, policy, body)| body.replace(&nonce(policy), "NONCE"))
        .collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one page for all, each with its nonce"
    );
    let stats = app.pages.stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (1, 7),
        "rendered once for eight requests at once"
    );
}

/// Stores a run of checkout's behind every cache's back (no notification), as a change the
/// page cache only follows by its time to live; its row in the page names `job`.
async fn add_run_unannounced(app: &TestApp, job: &str) {
    sqlx::query(
        "INSERT INTO delivery_runs (run_id, job_namespace, job_name, component, status, first_event_at, last_event_at, producer)
         VALUES ($1, 'ci', $1, 'component:default/checkout', 'complete', now(), now(), 'test')",
    )
    .bind(job)
    .execute(&app.superuser)
    .await
    .expect("insert run");
}

/// The time to live of the pages in the tests of expiry.
const SHORT_TTL: Duration = Duration::from_millis(300);

/// An app with the demo catalog whose pages expire after [`SHORT_TTL`] and may be served for
/// `stale` longer.
async fn app_with_short_ttl(stale: Duration) -> TestApp {
    TestApp::with_demo_and_pages(server::config::PageCacheArgs {
        page_cache_ttl: SHORT_TTL,
        page_cache_stale: stale,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_page_past_its_ttl_is_served_at_once_while_one_render_replaces_it() {
    let app = app_with_short_ttl(Duration::from_secs(3600)).await;
    let (_, policy, first) = page(&app, CHECKOUT_PAGE, None).await;
    add_run_unannounced(&app, "refreshed-later").await;
    tokio::time::sleep(SHORT_TTL * 2).await;

    let (status, policy2, served) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        served.replace(&nonce(&policy2), "N"),
        first.replace(&nonce(&policy), "N"),
        "the expired page is served as it was"
    );
    assert!(!served.contains("ci/refreshed-later"));
    let new_page = eventually_within(&app, CHECKOUT_PAGE, None, BACKGROUND_RENDER_LIMIT, |_, body| {
        body.contains("ci/refreshed-later")
    })
    .await;
    assert!(new_page.is_some(), "the page rendered in the background replaces it");
    let stats = app.pages.stats();
    assert_eq!(stats.misses, 1, "nobody waited for a render after the first: {stats:?}");
    assert!(stats.refreshes >= 1, "{stats:?}");
}

#[tokio::test]
async fn a_page_whose_background_render_fails_is_no_longer_served() {
    let app = app_with_short_ttl(Duration::from_secs(3600)).await;
    // Checkout has no runs: its delivery section says so.
    const NO_RUNS: &str = "data-test-delivery-empty";
    let (status, _, body) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(NO_RUNS));
    // The delivery section reads runs; the server may no longer do so.
    sqlx::query("REVOKE SELECT ON delivery_runs FROM bearing_app")
        .execute(&app.superuser)
        .await
        .expect("revoke");
    tokio::time::sleep(SHORT_TTL * 2).await;

    let (status, _, body) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK, "served as it was while the render runs");
    assert!(body.contains(NO_RUNS));
    let answer = eventually_within(&app, CHECKOUT_PAGE, None, BACKGROUND_RENDER_LIMIT, |status, _| {
        status != StatusCode::OK
    })
    .await
    .unwrap_or_default();
    assert_eq!(
        answer.0,
        StatusCode::INTERNAL_SERVER_ERROR,
        "once its render failed, the old page is dropped and the failure shown"
    );
    assert!(
        answer.1.contains("data-test=\"delivery-section\"") && !answer.1.contains(NO_RUNS),
        "the delivery section shows its failure"
    );
    assert!(app.pages.stats().refreshes >= 1);
}

#[tokio::test]
async fn without_a_stale_window_an_expired_page_is_rendered_on_request() {
    let app = app_with_short_ttl(Duration::ZERO).await;
    page(&app, CHECKOUT_PAGE, None).await;
    add_run_unannounced(&app, "rendered-on-request").await;
    tokio::time::sleep(SHORT_TTL * 2).await;

    let (status, _, body) = page(&app, CHECKOUT_PAGE, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("ci/rendered-on-request"),
        "the expired page is not served"
    );
    let stats = app.pages.stats();
    assert_eq!((stats.misses, stats.refreshes), (2, 0), "{stats:?}");
}

/// A far corner of the demo catalog: its graph and checkout's do not meet.
const FEATURE_STORE_PAGE: &str = "/catalog/component/default/feature-store";

/// A control plane whose mesh has one proxy for each of checkout, feature-store and a service
/// no component maps to; `offline` names those whose proxy is offline.
fn demo_mesh(offline: &[&str]) -> app::mesh::repo::write::Snapshot {
    use app::mesh::repo::write::{ServiceRow, Snapshot};
    let names = ["checkout", "feature-store", "unmapped"];
    let up = |name: &str| !offline.contains(&name);
    Snapshot {
        proxies: names
            .iter()
            .map(|name| app::mesh::repo::ProxyRow {
                mesh: "default".into(),
                name: format!("{name}-1"),
                services: vec![(*name).into()],
                gateway: None,
                status: if up(name) { "online" } else { "offline" }.into(),
                cert_expires_at: None,
                cert_state: "no_mtls".into(),
                labels: [("kuma.io/service".to_owned(), (*name).to_owned())]
                    .into_iter()
                    .collect(),
            })
            .collect(),
        services: names
            .iter()
            .map(|name| ServiceRow {
                mesh: "default".into(),
                service: (*name).into(),
                status: if up(name) { "online" } else { "offline" }.into(),
                total: 1,
                online: i32::from(up(name)),
                offline: i32::from(!up(name)),
                partially_degraded: 0,
            })
            .collect(),
        ..Snapshot::default()
    }
}

/// Waits until this server was told of `n` changes of the mesh state.
async fn told_of_mesh_changes(app: &TestApp, n: u64) {
    for _ in 0..100 {
        if app.pages.mesh_changes() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("told of {} mesh changes, waited for {n}", app.pages.mesh_changes());
}

/// Requests each of `uris` and returns how many were rendered rather than served again.
async fn rendered(app: &TestApp, uris: &[&str]) -> Vec<String> {
    let mut misses = Vec::new();
    for uri in uris {
        let before = app.pages.stats().misses;
        let (status, _, body) = page(app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", section_errors(&body));
        if app.pages.stats().misses > before {
            misses.push((*uri).to_owned());
        }
    }
    misses
}

#[tokio::test]
async fn a_mesh_write_drops_only_the_pages_that_show_what_changed() {
    use app::mesh::repo::write;
    let app = TestApp::with_demo().await;
    let now = time::OffsetDateTime::now_utc();
    write::upsert_control_plane(&app.pool, "default", "http://kuma.test:5681")
        .await
        .expect("control plane");
    let told = app.pages.mesh_changes();
    write::replace_state(&app.pool, "default", &demo_mesh(&[]), now)
        .await
        .expect("state");
    told_of_mesh_changes(&app, told + 1).await;

    // The list, search, home and a person's page (whose graph reaches no component) show no
    // mesh state; a component's page shows its own and its graph's, the overview all of it.
    let no_mesh = [
        "/catalog",
        "/search?q=checkout",
        "/",
        "/catalog/user/default/grace-ndlovu",
    ];
    let all = [&no_mesh[..], &[CHECKOUT_PAGE, FEATURE_STORE_PAGE, "/mesh"]].concat();
    rendered(&app, &all).await;
    assert_eq!(rendered(&app, &all).await, Vec::<String>::new(), "all cached");

    // feature-store's proxy goes offline: its page and the overview are rendered again.
    write::replace_state(&app.pool, "default", &demo_mesh(&["feature-store"]), now)
        .await
        .expect("state");
    told_of_mesh_changes(&app, told + 2).await;
    assert_eq!(rendered(&app, &all).await, vec![FEATURE_STORE_PAGE, "/mesh"]);
    let (_, _, body) = page(&app, FEATURE_STORE_PAGE, None).await;
    assert!(body.contains("offline"), "the new state is shown");

    // Traffic into checkout: its page and the overview.
    let sample = write::TrafficRow {
        mesh: "default".into(),
        service: "checkout".into(),
        peer: String::new(),
        direction: "inbound",
        requests_per_s: 12.0,
        errors_per_s: 0.0,
        denied_per_s: 0.0,
        p99_ms: Some(40.0),
    };
    write::insert_traffic(&app.pool, "default", now, &[sample])
        .await
        .expect("traffic");
    told_of_mesh_changes(&app, told + 3).await;
    assert_eq!(rendered(&app, &all).await, vec![CHECKOUT_PAGE, "/mesh"]);

    // A service no component maps to: only the overview shows it.
    write::replace_state(&app.pool, "default", &demo_mesh(&["feature-store", "unmapped"]), now)
        .await
        .expect("state");
    told_of_mesh_changes(&app, told + 4).await;
    assert_eq!(rendered(&app, &all).await, vec!["/mesh"]);

    // A failed poll changes how fresh every mesh page is: all of them.
    write::record_error(&app.pool, "default", "boom-3", now)
        .await
        .expect("record error");
    told_of_mesh_changes(&app, told + 5).await;
    assert_eq!(
        rendered(&app, &all).await,
        vec![CHECKOUT_PAGE, FEATURE_STORE_PAGE, "/mesh"]
    );
    let (_, _, body) = page(&app, "/mesh", None).await;
    assert!(body.contains("boom-3"), "the write was seen");
}

#[tokio::test]
async fn pages_with_per_request_state_and_errors_are_rendered_every_time() {
    let app = TestApp::with_demo().await;
    let auditor = app.token("auditor", None).await;
    for _ in 0..2 {
        let (status, _, _) = page(&app, "/audit", Some(&auditor)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = page(&app, "/catalog/component/default/no-such-thing", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let stats = app.pages.stats();
    assert_eq!(stats.hits, 0, "nothing was served from the cache");
    assert_eq!(stats.misses, 2, "the audit page bypasses the cache; each 404 renders");
}

/// Issue 10, item 10: a page once came with a policy whose nonce its inline scripts did not
/// carry, and never hydrated. Every page, many times, for several viewers at once, with the page
/// cache on and off: each inline script carries exactly the nonce of its own response's
/// policy, and no two responses share a nonce.
#[tokio::test]
async fn every_inline_script_carries_its_responses_nonce() {
    use scraper::{Html, Selector};

    let app = TestApp::strict_with_demo().await;
    let uncached = crate::util::router_with_pages(
        app.ctx.clone(),
        server::site::leptos_options(None).expect("options"),
        server::page_cache::PageCache::new(&server::config::PageCacheArgs {
            page_cache_ttl: Duration::ZERO,
            ..Default::default()
        }),
    );
    let tokens = [
        app.token("viewer", None).await,
        app.token("lead", Some("team-checkout")).await,
        app.token("auditor", None).await,
        app.admin_token.clone(),
    ];
    let pages = [
        "/",
        "/catalog",
        "/catalog?kind=component&page=2",
        "/search?q=checkout",
        CHECKOUT_PAGE,
        "/catalog/group/default/team-checkout",
        "/catalog/api/default/payments-api",
        "/mesh",
        "/login",
        "/admin",
        "/audit",
        "/transfers",
        "/catalog/component/default/no-such-thing",
        "/no-such-page",
    ];
    // Rounds one after another (so later rounds find pages cached); within a round, every
    // request at once.
    let mut responses = Vec::new();
    for round in 0..3 {
        let mut requests = Vec::new();
        for token in &tokens {
            for uri in pages {
                for router in [&app.router, &uncached] {
                    let router = router.clone();
                    requests.push(async move { (round, uri, page_from(router, uri, Some(token)).await) });
                }
            }
        }
        responses.extend(futures::future::join_all(requests).await);
    }
    let inline = Selector::parse("script:not([src])").expect("selector");
    let mut nonces = std::collections::HashSet::new();
    let mut scripts = 0;
    for (round, uri, (_, policy, html)) in responses {
        let expected = nonce(&policy);
        assert!(
            nonces.insert(expected.clone()),
            "{uri} (round {round}): nonce {expected} used twice"
        );
        let doc = Html::parse_document(&html);
        for script in doc.select(&inline) {
            scripts += 1;
            assert_eq!(
                script.value().attr("nonce"),
                Some(expected.as_str()),
                "{uri} (round {round}): an inline script without its response's nonce; policy {policy}"
            );
        }
    }
    assert!(
        scripts >= nonces.len(),
        "every page has inline scripts ({scripts} checked)"
    );
    assert!(
        app.pages.stats().hits > 0,
        "the cached router served some pages from its cache"
    );
}
