//! `GET /api/v1/dora` on a fixture computed by hand: real CDEvents (CloudEvents structured
//! mode, CDEvents 0.4.1, shaped like `crates/delivery/tests/golden/cdevents/0.4.1/`) posted by
//! a producer, then every metric checked against the value worked out below.
//!
//! Team `team-shop` owns `cart` and `orders`; `team-other` owns `billing`. Period
//! `[2026-11-02, 2026-11-16)`, two weeks (Mondays 11-02 and 11-09), 14 days.
//!
//! | event | component | env | at (Nov 2026) | chain |
//! | --- | --- | --- | --- | --- |
//! | D0 deployed (before the period) | cart | production | 10-30 10:00 | |
//! | C1 merged | cart | | 02 09:00 | chain-1 |
//! | S deployed | cart | staging | 02 10:00 | chain-1 |
//! | D1 deployed | cart | production | 02 12:00 | chain-1 |
//! | C2 merged | cart | | 02 22:00 | chain-2 |
//! | D2 upgraded | cart | production | 03 10:00 | chain-2 |
//! | R rolled back | cart | production | 03 11:00 | chain-2 |
//! | C3 merged | cart | | 03 15:00 | chain-3 |
//! | D3 deployed | cart | production | 04 09:00 | chain-3 |
//! | C4 merged | orders | | 05 08:00 | chain-4 |
//! | D5 deployed | orders | production | 05 10:00 | chain-4 |
//! | I1 detected | orders | production | 05 14:00 | |
//! | D6 upgraded | orders | production | 05 15:00 | |
//! | I1 resolved | orders | production | 05 16:30 | |
//! | B deployed | billing | production | 06 10:00 | |
//! | C5 merged | orders | | 10 09:00 | chain-5 |
//! | D4 upgraded | cart | production | 10 12:00 | |
//! | D7 deployed | orders | production | 11 09:00 | chain-5 |
//! | I2 detected (never resolved) | orders | production | 12 10:00 | |
//! | C6 merged (never deployed) | cart | | 14 09:00 | chain-6 |
//!
//! Team `team-shop`, `environment=production`:
//! - deployments D1 D2 D3 D4 D5 D6 D7 = 7; per day 7/14 = 0.5 (high: at least weekly, not
//!   more than daily).
//! - failed: D2 (next event R is a rollback), D5 (I1 detected in [D5, D6)), D7 (I2 detected
//!   after it, no later event) = 3; rate 3/7 (low: over 20%).
//! - recovery: D2 from itself 10:00 to R 11:00 = 3,600 s; D5 from I1's detection 14:00 to its
//!   resolution 16:30 = 9,000 s; D7 not recovered (I2 open). Median of 3,600 and 9,000 =
//!   6,300 s (high: under a day).
//! - rework: D3 (right after R), D6 (I1 open at 15:00) = 2; rate 2/7.
//! - lead times: C1→D1 3 h (S is staging), C2→D2 12 h, C3→D3 18 h, C4→D5 2 h, C5→D7 24 h:
//!   7,200 10,800 43,200 64,800 86,400 s; median 43,200 (elite: under a day); p90 at position
//!   0.9 × 4 = 3.6: 64,800 + 0.6 × 21,600 = 77,760.
//! - weeks: 11-02 has D1 D2 D3 D5 D6 (failed D2 D5, rework D3 D6); 11-09 has D4 D7 (failed D7).
//!
//! Every environment: S counts too, 8 deployments; C1's first deployment is S at 10:00 (1 h),
//! so lead times are 3,600 7,200 43,200 64,800 86,400, median still 43,200.
//! Component `cart`, production: D1 D2 D3 D4, failed D2 (1/4), rework D3, recovery 3,600 s
//! (high: not under an hour), lead times 10,800 43,200 64,800: median 43,200, p90 at 1.8:
//! 43,200 + 0.8 × 21,600 = 60,480.
//! The organisation, production: team-shop's 7 and B, 8 deployments, 3 failed.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::util::TestApp;

const PERIOD: &str = "from=2026-11-02T00:00:00Z&to=2026-11-16T00:00:00Z";

fn catalog() -> String {
    let group = |name: &str| {
        format!("---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n")
    };
    let component = |name: &str, owner: &str| {
        format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n    bearing.dev/producers: ci-dora\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
        )
    };
    [
        group("team-shop"),
        group("team-other"),
        component("cart", "team-shop"),
        component("orders", "team-shop"),
        component("billing", "team-other"),
    ]
    .concat()
}

/// A CDEvent 0.4.1 of `kind` (`change.merged`, `service.deployed`, ...) in a structured-mode
/// CloudEvent.
fn cloudevent(kind: &str, id: &str, at: &str, chain: Option<&str>, subject: Value) -> Value {
    let ty = format!("dev.cdevents.{kind}.0.2.0");
    let source = "/ci/dora";
    let mut context = json!({
        "version": "0.4.1", "id": id, "source": source, "type": ty, "timestamp": at,
    });
    if let Some(chain) = chain {
        context["chainId"] = json!(chain);
    }
    json!({
        "specversion": "1.0", "id": id, "source": source, "type": ty, "time": at,
        "datacontenttype": "application/json",
        "data": {"context": context, "subject": subject},
    })
}

fn merged(id: &str, at: &str, repository: &str, chain: &str) -> Value {
    let subject = json!({
        "id": format!("change-{id}"), "source": "/git", "type": "change",
        "content": {"repository": {"id": repository, "source": "https://git.example"}},
    });
    cloudevent("change.merged", id, at, Some(chain), subject)
}

fn deployment(action: &str, id: &str, at: &str, service: &str, env: &str, chain: Option<&str>) -> Value {
    let subject = json!({
        "id": service, "source": "/deploy", "type": "service",
        "content": {"environment": {"id": env}, "artifactId": format!("pkg:oci/{service}@sha256%3A{id}")},
    });
    cloudevent(&format!("service.{action}"), id, at, chain, subject)
}

fn incident(state: &str, id: &str, incident: &str, at: &str, service: &str) -> Value {
    let subject = json!({
        "id": incident, "source": "/monitoring", "type": "incident",
        "content": {
            "description": "Response time above threshold",
            "environment": {"id": "production"},
            "service": {"id": service, "source": "/cluster"},
        },
    });
    cloudevent(&format!("incident.{state}"), id, at, None, subject)
}

fn fixture() -> Vec<Value> {
    vec![
        deployment("deployed", "d0", "2026-10-30T10:00:00Z", "cart", "production", None),
        merged("c1", "2026-11-02T09:00:00Z", "cart", "chain-1"),
        deployment(
            "deployed",
            "s",
            "2026-11-02T10:00:00Z",
            "cart",
            "staging",
            Some("chain-1"),
        ),
        deployment(
            "deployed",
            "d1",
            "2026-11-02T12:00:00Z",
            "cart",
            "production",
            Some("chain-1"),
        ),
        merged("c2", "2026-11-02T22:00:00Z", "cart", "chain-2"),
        deployment(
            "upgraded",
            "d2",
            "2026-11-03T10:00:00Z",
            "cart",
            "production",
            Some("chain-2"),
        ),
        deployment(
            "rolledback",
            "r",
            "2026-11-03T11:00:00Z",
            "cart",
            "production",
            Some("chain-2"),
        ),
        merged("c3", "2026-11-03T15:00:00Z", "cart", "chain-3"),
        deployment(
            "deployed",
            "d3",
            "2026-11-04T09:00:00Z",
            "cart",
            "production",
            Some("chain-3"),
        ),
        merged("c4", "2026-11-05T08:00:00Z", "orders", "chain-4"),
        deployment(
            "deployed",
            "d5",
            "2026-11-05T10:00:00Z",
            "orders",
            "production",
            Some("chain-4"),
        ),
        incident(
            "detected",
            "i1-detected",
            "incident-1",
            "2026-11-05T14:00:00Z",
            "orders",
        ),
        deployment("upgraded", "d6", "2026-11-05T15:00:00Z", "orders", "production", None),
        incident(
            "resolved",
            "i1-resolved",
            "incident-1",
            "2026-11-05T16:30:00Z",
            "orders",
        ),
        deployment("deployed", "b", "2026-11-06T10:00:00Z", "billing", "production", None),
        merged("c5", "2026-11-10T09:00:00Z", "orders", "chain-5"),
        deployment("upgraded", "d4", "2026-11-10T12:00:00Z", "cart", "production", None),
        deployment(
            "deployed",
            "d7",
            "2026-11-11T09:00:00Z",
            "orders",
            "production",
            Some("chain-5"),
        ),
        incident(
            "detected",
            "i2-detected",
            "incident-2",
            "2026-11-12T10:00:00Z",
            "orders",
        ),
        merged("c6", "2026-11-14T09:00:00Z", "cart", "chain-6"),
    ]
}

async fn post_event(app: &TestApp, token: &str, event: &Value) {
    let req = Request::post("/api/v1/cdevents")
        .header("content-type", "application/cloudevents+json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(event.to_string()))
        .expect("request");
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {body}", event["id"]);
    let report: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        report["items"][0]["component"].is_string(),
        "{} maps to a component: {body}",
        event["id"]
    );
}

#[track_caller]
fn close(value: &Value, expected: f64) {
    let v = value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"));
    assert!((v - expected).abs() < 1e-6, "{v} != {expected}");
}

#[tokio::test]
async fn dora_metrics_match_the_hand_computed_fixture() {
    let app = TestApp::new().await;
    let (status, report) = app.post("/api/v1/import", "application/yaml", catalog()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let token = app.producer_token("ci-dora", &["team-shop", "team-other"]).await;
    for event in fixture() {
        post_event(&app, &token, &event).await;
    }

    let team = app
        .get_json(&format!("/api/v1/dora?team=team-shop&environment=production&{PERIOD}"))
        .await;
    assert_eq!(team["team"], "group:default/team-shop");
    assert_eq!(team["component"], Value::Null);
    assert_eq!(team["environments"], json!(["production"]));
    assert_eq!(team["from"], "2026-11-02T00:00:00Z");
    assert_eq!(team["deployments"], 7);
    close(&team["deployments_per_day"], 0.5);
    assert_eq!(team["deployment_frequency_band"], "high");
    assert_eq!(team["changes"], 5);
    close(&team["lead_time_median_s"], 43_200.0);
    close(&team["lead_time_p90_s"], 77_760.0);
    assert_eq!(team["lead_time_band"], "elite");
    assert_eq!(team["failed_deployments"], 3);
    close(&team["change_failure_rate"], 3.0 / 7.0);
    assert_eq!(team["change_failure_band"], "low");
    assert_eq!(team["recovered_deployments"], 2);
    close(&team["recovery_time_median_s"], 6_300.0);
    assert_eq!(team["recovery_time_band"], "high");
    assert_eq!(team["rework_deployments"], 2);
    close(&team["rework_rate"], 2.0 / 7.0);
    assert_eq!(
        team["weeks"],
        json!([
            {"week": "2026-11-02", "deployments": 5, "failed": 2, "rework": 2},
            {"week": "2026-11-09", "deployments": 2, "failed": 1, "rework": 0},
        ])
    );

    // Every environment: the staging deployment counts, and is C1's first deployment.
    let all = app.get_json(&format!("/api/v1/dora?team=team-shop&{PERIOD}")).await;
    assert_eq!(all["environments"], json!([]));
    assert_eq!(all["deployments"], 8);
    assert_eq!(all["failed_deployments"], 3);
    assert_eq!(all["changes"], 5);
    close(&all["lead_time_median_s"], 43_200.0);
    // p90 of 3,600 7,200 43,200 64,800 86,400: the top two are the same as in production.
    close(&all["lead_time_p90_s"], 77_760.0);

    let cart = app
        .get_json(&format!("/api/v1/dora?component=cart&environment=production&{PERIOD}"))
        .await;
    assert_eq!(cart["component"], "component:default/cart");
    assert_eq!(cart["deployments"], 4);
    assert_eq!(cart["failed_deployments"], 1);
    close(&cart["change_failure_rate"], 0.25);
    close(&cart["recovery_time_median_s"], 3_600.0);
    assert_eq!(cart["recovery_time_band"], "high", "an hour is not under an hour");
    assert_eq!(cart["rework_deployments"], 1);
    assert_eq!(cart["changes"], 3);
    close(&cart["lead_time_p90_s"], 60_480.0);

    let org = app
        .get_json(&format!("/api/v1/dora?environment=production&{PERIOD}"))
        .await;
    assert_eq!(
        (org["team"].clone(), org["component"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(org["deployments"], 8);
    assert_eq!(org["failed_deployments"], 3);

    // A period with nothing in it: zeros, no figures, no levels; every week still listed.
    let empty = app
        .get_json("/api/v1/dora?team=team-shop&from=2026-01-05T00:00:00Z&to=2026-01-19T00:00:00Z")
        .await;
    assert_eq!(empty["deployments"], 0);
    assert_eq!(empty["change_failure_rate"], Value::Null);
    assert_eq!(empty["deployment_frequency_band"], Value::Null);
    assert_eq!(empty["weeks"].as_array().map(Vec::len), Some(2));

    // The team page shows the section, over its own period (the 12 weeks before now): the
    // figures and chart while the fixture is in it, else the empty state.
    let (status, html) = app.get("/catalog/group/default/team-shop").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("data-test=\"dora-section\""),
        "the team page has the DORA section"
    );
    if html.contains("data-test-dora-chart") {
        assert!(
            html.contains("role=\"img\" aria-label=\"Deployments per week"),
            "an accessible chart"
        );
        assert!(html.contains("data-test-dora-figure=\"change-failure\""));
    } else {
        assert!(html.contains("data-test-dora-empty"), "the empty state: {html}");
    }
}

#[tokio::test]
async fn dora_needs_a_reader_and_a_sane_period() {
    let app = TestApp::strict().await;
    let (status, _) = app.get("/api/v1/dora").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous, anonymous reads off");
    let viewer = app.token("viewer", None).await;
    let report = app.get_json_as("/api/v1/dora", &viewer).await;
    assert_eq!(report["deployments"], 0, "the default period: the last 30 days");
    assert_eq!(
        report["weeks"].as_array().map(|w| (5..=6).contains(&w.len())),
        Some(true)
    );

    for (query, field) in [
        ("from=2026-11-16T00:00:00Z&to=2026-11-02T00:00:00Z", "from after to"),
        ("from=2025-01-01T00:00:00Z&to=2026-11-02T00:00:00Z", "over 366 days"),
        ("from=last-week", "not RFC 3339"),
        ("team=team-shop&component=cart", "team and component"),
        ("component=group:default/team-shop", "a component that is a group"),
    ] {
        let (status, body) = app
            .call("GET", &format!("/api/v1/dora?{query}"), Some(&viewer), None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
    }
    let (status, _) = app.call("GET", "/api/v1/dora?team=nobody", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown team");
}
