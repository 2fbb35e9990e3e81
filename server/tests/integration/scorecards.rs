//! Scorecards (`--scorecards`, issue 13 §7): a card directory in a tempdir, a few components
//! imported, a pass of the worker's evaluation stored, and what the JSON API and the pages
//! make of it; delivery facts from stored deployments and incidents; a bad card stops start-up.

use std::path::Path;

use axum::http::StatusCode;
use serde_json::Value;

use crate::util::TestApp;

const CARD: &str = "\
name: basics
title: The basics
select:
  type: service
levels:
  - name: Bronze
    checks:
      - id: owner
        title: Has an owner
        has_owner: true
      - id: description
        title: Says what it does
        description: Set metadata.description.
        has_description: true
  - name: Silver
    checks:
      - id: runbook
        title: Has a runbook
        has_link: {type: runbook}
  - name: Gold
    checks:
      - id: recent-deploy
        title: Deployed in the last 30 days
        deployed_within_days: 30
      - id: change-failure-rate
        title: Change failure rate under 40%
        change_failure_rate_below: 0.4
";

fn component(name: &str, owner: &str, description: Option<&str>, runbook: bool, kind: &str) -> String {
    let description = description.map(|d| format!("  description: {d}\n")).unwrap_or_default();
    let links = if runbook {
        format!("  links:\n    - url: https://wiki.example.com/{name}\n      title: Runbook\n      type: runbook\n")
    } else {
        String::new()
    };
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{description}{links}\
         spec:\n  type: {kind}\n  lifecycle: production\n  owner: group:{owner}\n  system: shop\n"
    )
}

const GROUPS: &str = "\
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
";

/// An app with the card above and four components: `svc-a` (everything but delivery), `svc-b`
/// (no description, no runbook), `svc-c` (no runbook, team-b) and `lib-d` (a library: not
/// selected). Evaluated once.
async fn app_with_results(cards: &Path, catalog: &Path) -> TestApp {
    std::fs::write(cards.join("basics.yaml"), CARD).expect("write card");
    let entities = [
        component("svc-a", "team-a", Some("Does A."), true, "service"),
        component("svc-b", "team-a", None, false, "service"),
        component("svc-c", "team-b", Some("Does C."), false, "service"),
        component("lib-d", "team-a", None, false, "library"),
    ]
    .concat();
    std::fs::write(catalog.join("components.yaml"), entities + GROUPS).expect("write catalog");
    let app = TestApp::new().await.with_scorecards(cards);
    app.import_paths(&[catalog.to_owned()]).await.expect("import");
    let done = app::scorecards::service::evaluate_all(&app.ctx)
        .await
        .expect("evaluate");
    assert!(!done.skipped);
    assert_eq!((done.results, done.changed), (3, 3), "{done:?}");
    app
}

fn card<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["cards"]
        .as_array()
        .and_then(|cards| cards.iter().find(|c| c["card"]["name"] == name))
        .unwrap_or_else(|| panic!("no card {name} in {list}"))
}

fn check<'a>(cards: &'a Value, id: &str) -> &'a Value {
    cards["cards"][0]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {cards}"))
}

#[tokio::test]
async fn results_are_stored_and_the_api_gives_levels_reasons_and_roll_ups() {
    let (cards, catalog) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let app = app_with_results(cards.path(), catalog.path()).await;

    // A second pass finds the same results and writes nothing.
    let again = app::scorecards::service::evaluate_all(&app.ctx)
        .await
        .expect("evaluate");
    assert_eq!((again.results, again.changed), (3, 0), "{again:?}");

    // The organisation: svc-b reached no level (no description), svc-c Bronze (no runbook),
    // svc-a Silver (Gold needs delivery data nobody sent: unknown, not passed).
    let org = app.get_json("/api/v1/scorecards").await;
    let basics = card(&org, "basics");
    assert_eq!(basics["components"], 3, "{basics}");
    assert_eq!(basics["none"], 1, "{basics}");
    let counts: Vec<(String, u64)> = basics["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_owned(),
                l["count"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("Bronze".into(), 1), ("Silver".into(), 1), ("Gold".into(), 0)],
        "{basics}"
    );
    let description = basics["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "description"))
        .expect("description check");
    assert_eq!(
        (description["passed"].as_u64(), description["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let recent = basics["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "recent-deploy"))
        .expect("recent-deploy check");
    assert_eq!(recent["unknown"], 3, "{recent}");
    assert_eq!(recent["pass_rate"], Value::Null, "{recent}");
    assert_eq!(basics["worst"][0]["component"], "component:default/svc-b", "{basics}");
    assert_eq!(
        org["teams"],
        serde_json::json!(["group:default/team-a", "group:default/team-b"])
    );

    // Per team and per system.
    let team = app.get_json("/api/v1/scorecards?team=team-a").await;
    assert_eq!(team["team"], "group:default/team-a");
    assert_eq!(card(&team, "basics")["components"], 2, "{team}");
    assert_eq!(card(&team, "basics")["none"], 1, "{team}");
    let system = app.get_json("/api/v1/scorecards?system=shop").await;
    assert_eq!(card(&system, "basics")["components"], 3, "{system}");
    let (status, _) = app.get("/api/v1/scorecards?system=group:default/team-a").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // One card's components: lowest score first by default, by level descending on request.
    let page = app.get_json("/api/v1/scorecards/basics").await;
    assert_eq!(page["total"], 3);
    let order: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["component"].as_str())
        .collect();
    assert_eq!(
        order,
        [
            "component:default/svc-b",
            "component:default/svc-c",
            "component:default/svc-a"
        ]
    );
    assert_eq!(page["items"][0]["level"], Value::Null);
    assert_eq!(page["items"][2]["level_name"], "Silver");
    let page = app
        .get_json("/api/v1/scorecards/basics?sort=level&order=desc&limit=1")
        .await;
    assert_eq!(page["items"][0]["component"], "component:default/svc-a");
    assert_eq!(page["next_offset"], 1);
    let (status, body) = app.get("/api/v1/scorecards/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("basics"), "the message names the cards there are: {body}");
    let (status, _) = app.get("/api/v1/scorecards/basics?sort=colour").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // One component, with each check's reason.
    let b = app
        .get_json("/api/v1/entities/component/default/svc-b/scorecards")
        .await;
    assert_eq!(b["configured"], true);
    assert_eq!(b["cards"][0]["score"]["level"], Value::Null, "{b}");
    let failing = check(&b, "description");
    assert_eq!(failing["status"], "fail");
    assert_eq!(failing["reason"], "no description");
    assert_eq!(failing["description"], "Set metadata.description.");
    assert_eq!(check(&b, "owner")["reason"], "owned by group:default/team-a");
    assert_eq!(check(&b, "runbook")["reason"], "no runbook link");
    let unknown = check(&b, "recent-deploy");
    assert_eq!(unknown["status"], "unknown");
    assert_eq!(unknown["reason"], "no delivery data for this component");
    // Not selected by any card: no results, not an error.
    let d = app
        .get_json("/api/v1/entities/component/default/lib-d/scorecards")
        .await;
    assert_eq!(d["cards"], serde_json::json!([]));
    let (status, _) = app.get("/api/v1/entities/component/default/nope/scorecards").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/api/v1/entities/group/default/team-a/scorecards").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_trend_compares_with_the_start_of_the_window() {
    let (cards, catalog) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let app = app_with_results(cards.path(), catalog.path()).await;
    // Ten days ago svc-b was Bronze with a better score.
    sqlx::query(
        "INSERT INTO scorecard_results (component, card, day, level, score, checks, evaluated_at)
         VALUES ('component:default/svc-b', 'basics', current_date - 10, 0, 0.75, '[]', now() - interval '10 days')",
    )
    .execute(&app.pool)
    .await
    .expect("insert history");
    let b = app
        .get_json("/api/v1/entities/component/default/svc-b/scorecards")
        .await;
    let trend = &b["cards"][0]["trend"];
    assert_eq!(trend["direction"], "down", "{b}");
    assert_eq!(trend["level_change"], -1, "{b}");
    assert_eq!(b["cards"][0]["history"].as_array().map(Vec::len), Some(2), "{b}");
    // The roll-ups read the latest day only.
    let org = app.get_json("/api/v1/scorecards").await;
    assert_eq!(card(&org, "basics")["components"], 3);
}

#[tokio::test]
async fn delivery_facts_come_from_deployments_runs_and_incidents() {
    let (cards, catalog) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let app = app_with_results(cards.path(), catalog.path()).await;
    // svc-a: deployed 5 and 3 days ago in prod; an incident 4 days ago makes the first fail.
    // svc-c: deployed 60 days ago, then rolled back: old, and outside the window.
    sqlx::query(
        "INSERT INTO delivery_deployments (event_id, component, subject, action, environment, at, producer) VALUES
           (1, 'component:default/svc-a', 'svc-a', 'deployed', 'prod', now() - interval '5 days', 'token:ci'),
           (2, 'component:default/svc-a', 'svc-a', 'deployed', 'prod', now() - interval '3 days', 'token:ci'),
           (3, 'component:default/svc-c', 'svc-c', 'deployed', 'prod', now() - interval '60 days', 'token:ci'),
           (4, 'component:default/svc-c', 'svc-c', 'rolledback', 'prod', now() - interval '59 days', 'token:ci')",
    )
    .execute(&app.pool)
    .await
    .expect("deployments");
    sqlx::query(
        "INSERT INTO delivery_incidents (incident_id, component, environment, detected_at, producer)
         VALUES ('pd#1', 'component:default/svc-a', 'prod', now() - interval '4 days', 'token:ci')",
    )
    .execute(&app.pool)
    .await
    .expect("incident");
    let done = app::scorecards::service::evaluate_all(&app.ctx)
        .await
        .expect("evaluate");
    assert_eq!(done.changed, 2, "svc-a and svc-c changed: {done:?}");

    let a = app
        .get_json("/api/v1/entities/component/default/svc-a/scorecards")
        .await;
    assert_eq!(check(&a, "recent-deploy")["status"], "pass", "{a}");
    let cfr = check(&a, "change-failure-rate");
    assert_eq!(cfr["status"], "fail", "{a}");
    assert_eq!(
        cfr["reason"], "1 of 2 deployments in the last 30 days failed (50%), not below 40%",
        "{a}"
    );
    assert_eq!(a["cards"][0]["score"]["level_name"], "Silver");
    let c = app
        .get_json("/api/v1/entities/component/default/svc-c/scorecards")
        .await;
    let recent = check(&c, "recent-deploy");
    assert_eq!(recent["status"], "fail", "{c}");
    assert!(
        recent["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no deployment since"),
        "{c}"
    );
}

#[tokio::test]
async fn the_pages_show_each_card_a_components_failing_checks_and_a_teams_roll_up() {
    let (cards, catalog) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let app = app_with_results(cards.path(), catalog.path()).await;

    let (status, page) = app.get("/scorecards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-test-card="basics""#), "{page}");
    assert!(page.contains("The basics"), "{page}");
    assert!(
        page.contains(r#"role="img""#) && page.contains("No level 1, Bronze 1, Silver 1, Gold 0"),
        "{page}"
    );
    assert!(
        page.contains(r#"href="/catalog/component/default/svc-b""#),
        "the worst component links: {page}"
    );

    let (status, page) = app.get("/scorecards?team=team-b").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("1 components"), "{page}");

    let (status, page) = app.get("/catalog/component/default/svc-b").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-test="scorecards-section""#), "{page}");
    assert!(page.contains(r#"data-test-failing-check="description""#), "{page}");
    assert!(page.contains("no description"), "{page}");
    assert!(page.contains(r#"data-test-level="No level""#), "{page}");

    let (status, page) = app.get("/catalog/group/default/team-a").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-test-team-card="basics""#), "{page}");
    assert!(page.contains("2 components"), "{page}");
}

#[tokio::test]
async fn without_scorecards_the_pages_say_how_to_add_them() {
    let app = TestApp::with_demo().await;
    let (status, page) = app.get("/scorecards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("--scorecards"), "{page}");
    let list = app.get_json("/api/v1/scorecards").await;
    assert_eq!(list["cards"], serde_json::json!([]));
}

#[tokio::test]
async fn the_repositorys_cards_score_the_demo_catalog() {
    let app = TestApp::with_demo()
        .await
        .with_scorecards(&crate::util::repo_root().join("scorecards"));
    let done = app::scorecards::service::evaluate_all(&app.ctx)
        .await
        .expect("evaluate");
    assert!(done.results > 0, "{done:?}");
    let cart = app.get_json("/api/v1/entities/component/default/cart/scorecards").await;
    let readiness = cart["cards"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["card"]["name"] == "production-readiness"))
        .unwrap_or_else(|| panic!("production-readiness applies to cart: {cart}"));
    let runbook = readiness["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "runbook"))
        .expect("runbook check");
    assert_eq!(
        runbook["status"], "pass",
        "examples/ gives cart a runbook link of type runbook"
    );
}

#[tokio::test]
async fn a_bad_card_stops_the_server_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: broken\ntitle: Broken\nlevels:\n  - name: Bronze\n    checks:\n      - id: owner\n        title: Owner\n        has_owner: yes please\n",
    )
    .expect("write");
    let app = TestApp::new().await;
    let cli = <server::cli::Cli as clap::Parser>::try_parse_from([
        "bearing",
        "serve",
        "--scorecards",
        &dir.path().display().to_string(),
        "--data-dir",
        &dir.path().join("data").display().to_string(),
    ])
    .expect("flags");
    let Some(server::cli::Command::Serve(serve)) = cli.command else {
        panic!("not serve")
    };
    let Err(err) = server::commands::serve::build_context(&serve, app.pool.clone()) else {
        panic!("a bad card must stop the server")
    };
    let message = format!("{err:#}");
    assert!(
        message.contains("broken.yaml:8:") && message.contains("--scorecards"),
        "{message}"
    );
}
