//! Issue 13: delivery events in, under verified identities, and runs and deployments out.
//! The events are the specifications' own examples (`crates/delivery/tests/golden/`).

mod dora;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::util::{repo_root, TestApp};

/// A team whose components name the producer `ci-data`, one of them claiming the golden
/// OpenLineage job and one the golden CDEvents service; and another team's component.
const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-data
  annotations:
    bearing.dev/producers: ci-data
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-other}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders-etl
  annotations:
    openlineage.io/job: my-scheduler-namespace/myjob.mytask, luigi/Extract
spec: {type: pipeline, lifecycle: production, owner: team-data, dependsOn: [component:orders-db-sync]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orders-db-sync}
spec: {type: service, lifecycle: production, owner: team-data}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: myapp
  annotations:
    cdevents.dev/service: mySubject123
spec: {type: service, lifecycle: production, owner: team-data}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: billing}
spec: {type: service, lifecycle: production, owner: team-other}
"#;

fn golden(path: &str) -> Value {
    let full = repo_root().join("crates/delivery/tests/golden").join(path);
    serde_json::from_slice(&std::fs::read(&full).expect("golden file")).expect("JSON")
}

/// The CloudEvent (structured mode) carrying `cdevent`.
fn cloudevent(cdevent: &Value) -> Value {
    let c = &cdevent["context"];
    json!({"specversion": "1.0", "id": c["id"], "source": c["source"], "type": c["type"],
           "datacontenttype": "application/json", "data": cdevent})
}

fn run_event(run_id: &str, event_type: &str, time: &str, job: &str) -> Value {
    json!({
        "eventType": event_type, "eventTime": time,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id}, "job": {"namespace": "luigi", "name": job}
    })
}

async fn setup() -> (TestApp, String) {
    let app = TestApp::strict().await;
    let (status, body) = app
        .post("/api/v1/import?source=delivery", "application/yaml", CATALOG)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let producer = producer_token(&app, "ci-data", &["team-data"]).await;
    (app, producer)
}

async fn producer_token(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    app.producer_token(name, scopes).await
}

async fn post_json(app: &TestApp, uri: &str, token: &str, content_type: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, text) = app.send(req).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM delivery_events")
        .fetch_one(&app.superuser)
        .await
        .expect("count")
}

#[tokio::test]
async fn openlineage_golden_events_are_stored_once_mapped_and_projected() {
    let (app, producer) = setup().await;
    let full = golden("openlineage/example_full_event.json");
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &full).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["items"][0]["component"], "component:default/orders-etl",
        "mapped by annotation"
    );

    // A retry of the same event changes nothing.
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &full).await;
    assert_eq!(
        (status, body["duplicates"].clone()),
        (StatusCode::OK, json!(1)),
        "{body}"
    );
    assert_eq!(event_count(&app).await, 1);

    let runs = app
        .get_json_as("/api/v1/runs?component=component:default/orders-etl", &app.admin_token)
        .await;
    let run = &runs["items"][0];
    assert_eq!(run["run_id"], "ea041791-68bc-4ae1-bd89-4c8106a157e4");
    assert_eq!(run["status"], "complete");
    assert_eq!(run["parent_run_id"], "3f5e83fa-3480-44ff-99c5-ff943904e5e8");
    assert_eq!(
        run["producer"], "token:ci-data",
        "the verified identity, not the event's producer URI"
    );

    // The second job the annotation lists.
    let extract = run_event(
        "0190d1c6-0c6a-7b4e-9d5e-0000000000e1",
        "START",
        "2026-12-01T10:00:00Z",
        "Extract",
    );
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &extract).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"][0]["component"], "component:default/orders-etl");

    // The python client's own serialisation, and an unmapped job: kept, never dropped.
    let serde = golden("openlineage/serde_example_run_event.json");
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &serde).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"][0]["component"], Value::Null);
    let stored: Option<String> = sqlx::query_scalar("SELECT component FROM delivery_events ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.superuser)
        .await
        .expect("event");
    assert_eq!(stored, None);
    let unmapped = app.get_json_as("/api/v1/delivery/unmapped", &app.admin_token).await;
    assert_eq!(unmapped[0]["producer"], "token:ci-data", "{unmapped}");
    assert_eq!(unmapped[0]["events"], 1);
    let subject = unmapped[0]["subject"].as_str().unwrap_or_default().to_owned();
    assert!(
        !subject.is_empty() && !subject.contains("myjob"),
        "the unclaimed job: {subject}"
    );
    let (_, admin_page) = app.call("GET", "/admin", Some(&app.admin_token), None).await;
    assert!(admin_page
        .as_str()
        .unwrap_or_default()
        .contains(&format!(r#"data-test-unmapped="{subject}""#)));
    let viewer = app.token("viewer", None).await;
    let (status, _) = app.call("GET", "/api/v1/delivery/unmapped", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
}

#[tokio::test]
async fn a_run_only_moves_forward_and_a_failed_run_shows_its_error_and_upstream() {
    let (app, producer) = setup().await;
    let run_id = "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e";
    let mut fail = run_event(run_id, "FAIL", "2026-12-01T10:05:00Z", "orders-etl");
    fail["run"]["facets"] = json!({"errorMessage": {
        "_producer": "https://example.com/luigi", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        "message": "<script>alert(1)</script> upstream table missing", "programmingLanguage": "python",
        "stackTrace": "Traceback (most recent call last):\n  ValueError"}});
    // FAIL arrives first; the START that arrives late must not reopen the run.
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &fail).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let start = run_event(run_id, "START", "2026-12-01T10:00:00Z", "orders-etl");
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &start).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let detail = app
        .get_json_as(&format!("/api/v1/runs/{run_id}"), &app.admin_token)
        .await;
    assert_eq!(detail["run"]["status"], "fail", "a late START never overwrites FAIL");
    assert_eq!(detail["run"]["started_at"], "2026-12-01T10:00:00Z");
    assert_eq!(detail["run"]["duration_ms"], 300_000);
    assert_eq!(
        detail["run"]["component"], "component:default/orders-etl",
        "mapped by name"
    );
    assert!(detail["error_stack"]
        .as_str()
        .unwrap_or_default()
        .contains("ValueError"));
    let upstream = detail["upstream"].as_array().expect("upstream");
    assert_eq!(upstream.len(), 1, "{upstream:?}");
    assert_eq!(upstream[0]["component"], "component:default/orders-db-sync");
    assert_eq!(upstream[0]["owner"], "group:default/team-data");

    // The run page shows the error as text, beside the upstream.
    let (status, page) = app
        .call(
            "GET",
            &format!("/delivery/run?id={run_id}"),
            Some(&app.admin_token),
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; upstream table missing"),
        "escaped error"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains(r#"data-test-upstream="component:default/orders-db-sync""#));

    // /delivery and the team page list it among recent failures; another team's page does not.
    let (_, page) = app.call("GET", "/delivery", Some(&app.admin_token), None).await;
    assert!(page
        .as_str()
        .unwrap_or_default()
        .contains(&format!(r#"data-test-run="{run_id}""#)));
    let (_, page) = app
        .call("GET", "/catalog/group/default/team-data", Some(&app.admin_token), None)
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert!(page.contains(r#"data-test="team-failures""#) && page.contains(&format!(r#"data-test-run="{run_id}""#)));
    let (_, page) = app
        .call("GET", "/catalog/group/default/team-other", Some(&app.admin_token), None)
        .await;
    assert!(page.as_str().unwrap_or_default().contains(r#"data-test="no-failures""#));

    // The component page lists it under Runs & deployments.
    let (_, page) = app
        .call(
            "GET",
            "/catalog/component/default/orders-etl",
            Some(&app.admin_token),
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert!(page.contains(&format!(r#"data-test-run="{run_id}""#)), "run listed");
    assert!(page.contains(r#"data-test-run-status="fail""#));

    // Filtered to completed runs, the failed one is not listed.
    let (_, page) = app
        .call(
            "GET",
            "/catalog/component/default/orders-etl?runs=complete",
            Some(&app.admin_token),
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert!(page.contains(r#"data-test="run-filter""#));
    assert!(!page.contains(&format!(r#"data-test-run="{run_id}""#)), "filtered out");

    // A filter that is not a status is ignored: every run is listed, no error shown.
    let (_, page) = app
        .call(
            "GET",
            "/catalog/component/default/orders-etl?runs=xyz",
            Some(&app.admin_token),
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert!(
        page.contains(&format!(r#"data-test-run="{run_id}""#)),
        "unknown filter ignored"
    );
}

#[tokio::test]
async fn malformed_events_are_refused_with_a_pointer_and_change_nothing() {
    let (app, producer) = setup().await;
    let mut bad = run_event(
        "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e",
        "BEGIN",
        "2026-12-01T10:00:00Z",
        "orders-etl",
    );
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["pointer"], "/eventType");
    assert!(!body["hint"].as_str().unwrap_or_default().is_empty());

    bad["eventType"] = json!("START");
    bad["run"] = json!({});
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["pointer"].as_str().unwrap_or_default().starts_with("/run"),
        "{body}"
    );

    let (status, _) = post_json(
        &app,
        "/api/v1/lineage",
        &producer,
        "application/json",
        &json!("not an event"),
    )
    .await;
    assert!(status.is_client_error());
    assert_eq!(event_count(&app).await, 0, "nothing stored");

    // A batch is judged per event.
    let batch = json!([
        run_event(
            "0190d1c6-0c6a-7b4e-9d5e-000000000001",
            "START",
            "2026-12-01T10:00:00Z",
            "orders-etl"
        ),
        run_event(
            "0190d1c6-0c6a-7b4e-9d5e-000000000002",
            "NOPE",
            "2026-12-01T10:00:00Z",
            "orders-etl"
        ),
        run_event(
            "0190d1c6-0c6a-7b4e-9d5e-000000000003",
            "COMPLETE",
            "2026-12-01T10:00:00Z",
            "orders-etl"
        ),
    ]);
    let (status, body) = post_json(&app, "/api/v1/lineage/batch", &producer, "application/json", &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["stored"].clone(), body["refused"].clone()), (json!(2), json!(1)));
    assert_eq!(body["partial_success"], true);
    assert_eq!(body["failed_events"][0]["index"], 1);
    assert!(body["failed_events"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .starts_with("/1/eventType"));
    assert_eq!(event_count(&app).await, 2);
}

#[tokio::test]
async fn only_bound_producers_may_report_and_refusals_are_audited_once_in_a_while() {
    let (app, producer) = setup().await;
    // billing belongs to team-other, outside the token's scope.
    let event = run_event(
        "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e",
        "START",
        "2026-12-01T10:00:00Z",
        "billing",
    );
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &event).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("billing"),
        "{body}"
    );
    let mut again = event.clone();
    again["eventTime"] = json!("2026-12-01T10:01:00Z");
    let (status, _) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &again).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(event_count(&app).await, 0);
    let audited: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT actor, target FROM audit_log WHERE action = 'delivery.refused'")
            .fetch_all(&app.superuser)
            .await
            .expect("audit");
    assert_eq!(
        audited,
        vec![("token:ci-data".to_owned(), Some("component:default/billing".to_owned()))]
    );

    // A producer in scope that the component does not name is refused too.
    let scoped_elsewhere = producer_token(&app, "ci-other", &["team-other"]).await;
    let (status, body) = post_json(&app, "/api/v1/lineage", &scoped_elsewhere, "application/json", &event).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("bearing.dev/producers"),
        "{body}"
    );

    // Readers, leads and admins are not producers.
    let viewer = app.token("viewer", None).await;
    for token in [viewer.as_str(), app.admin_token.as_str()] {
        let (status, _) = post_json(&app, "/api/v1/lineage", token, "application/json", &event).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = app.call("POST", "/api/v1/lineage", None, Some(event)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Only producer tokens name scopes, and producers must name some.
    let err = app::auth::service::create_token(
        &app.ctx,
        &app::auth::guard::Caller::system("test"),
        app::auth::TokenRequest {
            name: "x".into(),
            role: "producer".into(),
            ..Default::default()
        },
    )
    .await
    .expect_err("no scopes");
    assert!(err.to_string().contains("scopes"), "{err}");
}

#[tokio::test]
async fn cdevents_in_structured_binary_and_batch_mode_become_deployments_and_incidents() {
    let (app, producer) = setup().await;
    let deployed = golden("cdevents/0.4.1/service_deployed.json");
    let (status, body) = post_json(
        &app,
        "/api/v1/cdevents",
        &producer,
        "application/cloudevents+json",
        &cloudevent(&deployed),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"][0]["component"], "component:default/myapp");

    // Binary mode: the same event again is a duplicate (CloudEvents source + id).
    let c = &deployed["context"];
    let req = Request::post("/api/v1/cdevents")
        .header("authorization", format!("Bearer {producer}"))
        .header("content-type", "application/json")
        .header("ce-specversion", "1.0")
        .header("ce-id", c["id"].as_str().unwrap_or_default())
        .header("ce-source", c["source"].as_str().unwrap_or_default())
        .header("ce-type", c["type"].as_str().unwrap_or_default())
        .body(Body::from(deployed.to_string()))
        .expect("request");
    let (status, text) = app.send(req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains(r#""outcome":"duplicate""#), "{text}");

    let deployments = app
        .get_json_as(
            "/api/v1/deployments?component=component:default/myapp",
            &app.admin_token,
        )
        .await;
    assert_eq!(deployments.as_array().map(Vec::len), Some(1), "{deployments}");
    assert_eq!(deployments[0]["action"], "deployed");
    assert_eq!(deployments[0]["environment"], "test123");
    assert!(deployments[0]["artifact"]
        .as_str()
        .unwrap_or_default()
        .starts_with("pkg:oci/myapp@"));

    // Batch mode: an incident detected and resolved meet in one row.
    // The conformance files share one context id; a real producer gives each event its own.
    let mut resolved = golden("cdevents/0.4.1/incident_resolved.json");
    resolved["context"]["id"] = json!("9c2f6a1e-resolved");
    let batch = json!([
        cloudevent(&golden("cdevents/0.4.1/incident_detected.json")),
        cloudevent(&resolved),
    ]);
    let (status, body) = post_json(
        &app,
        "/api/v1/cdevents",
        &producer,
        "application/cloudevents-batch+json",
        &batch,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], 2, "{body}");
    // Both golden files name incident-123 of service myApp (mapped by name to myapp).
    let incidents: Vec<(Option<String>, bool, bool)> =
        sqlx::query_as("SELECT component, detected_at IS NOT NULL, resolved_at IS NOT NULL FROM delivery_incidents")
            .fetch_all(&app.superuser)
            .await
            .expect("incidents");
    assert_eq!(
        incidents,
        vec![(Some("component:default/myapp".to_owned()), true, true)]
    );
}

#[tokio::test]
async fn a_run_that_stops_reporting_is_lost_until_its_real_outcome_arrives() {
    let (app, producer) = setup().await;
    let run_id = "0190d1c6-0c6a-7b4e-9d5e-0000000000aa";
    // Started days ago (the context keeps runs open for 24 hours without an event).
    let start = run_event(run_id, "START", "2026-12-01T10:00:00Z", "orders-etl");
    let (status, _) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &start).await;
    assert_eq!(status, StatusCode::CREATED);
    let swept = app::delivery::runs::sweep(&app.ctx).await.expect("sweep");
    assert_eq!(swept.lost, 1);
    let status_of = |body: Value| body["run"]["status"].clone();
    let uri = format!("/api/v1/runs/{run_id}");
    assert_eq!(status_of(app.get_json_as(&uri, &app.admin_token).await), "lost");

    let done = run_event(run_id, "COMPLETE", "2026-12-01T10:30:00Z", "orders-etl");
    let (status, _) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &done).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        status_of(app.get_json_as(&uri, &app.admin_token).await),
        "complete",
        "the real outcome wins"
    );
    assert_eq!(
        app::delivery::runs::sweep(&app.ctx).await.expect("sweep").lost,
        0,
        "a finished run stays"
    );

    // The cursor pages through runs newest first, each once.
    for i in 0..5 {
        let e = run_event(
            &format!("0190d1c6-0c6a-7b4e-9d5e-00000000010{i}"),
            "START",
            &format!("2026-12-02T10:0{i}:00Z"),
            "orders-etl",
        );
        post_json(&app, "/api/v1/lineage", &producer, "application/json", &e).await;
    }
    let mut seen = Vec::new();
    let mut uri = "/api/v1/runs?component=component:default/orders-etl&limit=2".to_owned();
    loop {
        let page = app.get_json_as(&uri, &app.admin_token).await;
        for r in page["items"].as_array().expect("items") {
            seen.push(r["run_id"].as_str().unwrap_or_default().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/runs?component=component:default/orders-etl&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], "0190d1c6-0c6a-7b4e-9d5e-000000000104", "newest first");
    assert_eq!(seen[5], run_id);
}

#[tokio::test]
async fn a_lead_binds_a_producer_to_a_component_of_their_team_and_it_may_report() {
    let (app, _) = setup().await;
    let newcomer = producer_token(&app, "ci-new", &["team-data"]).await;
    let event = run_event(
        "0190d1c6-0c6a-7b4e-9d5e-0000000000b1",
        "START",
        "2026-12-01T10:00:00Z",
        "orders-db-sync",
    );
    let (status, _) = post_json(&app, "/api/v1/lineage", &newcomer, "application/json", &event).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not named yet");

    let system = app::auth::guard::Caller::system("test");
    let as_token = |token: String| {
        let ctx = app.ctx.clone();
        async move {
            app::auth::guard::Caller {
                user: app::auth::service::token_user(&ctx, &token).await.expect("lookup"),
                ..Default::default()
            }
        }
    };
    let other_lead = as_token(app.token("lead", Some("team-other")).await).await;
    let component = "component:default/orders-db-sync";
    let refused = app::delivery::bindings::bind(&app.ctx, &other_lead, component, "ci-new", true).await;
    assert!(
        matches!(refused, Err(app::error::AppError::Forbidden(_))),
        "{refused:?}"
    );
    let viewer = as_token(app.token("viewer", None).await).await;
    assert!(
        app::delivery::bindings::bind(&app.ctx, &viewer, component, "ci-new", true)
            .await
            .is_err()
    );
    let bad = app::delivery::bindings::bind(&app.ctx, &system, component, "two words", true).await;
    assert!(matches!(bad, Err(app::error::AppError::Invalid { .. })), "{bad:?}");

    let lead = as_token(app.token("lead", Some("team-data")).await).await;
    let producers = app::delivery::bindings::bind(&app.ctx, &lead, component, "ci-new", true)
        .await
        .expect("the team's lead binds");
    let bound = producers
        .items
        .iter()
        .find(|p| p.producer == "token:ci-new")
        .expect("listed");
    assert!(bound.removable && producers.may_bind);
    assert!(
        producers
            .items
            .iter()
            .any(|p| p.producer == "token:ci-data" && p.via.contains("group:default/team-data")),
        "the team's annotation is listed too: {producers:?}"
    );
    let (status, body) = post_json(&app, "/api/v1/lineage", &newcomer, "application/json", &event).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'delivery.bind' AND target = 'component:default/orders-db-sync'",
    )
    .fetch_one(&app.superuser)
    .await
    .expect("audit");
    assert_eq!(audited, 1);

    // Unbound again: refused again.
    app::delivery::bindings::bind(&app.ctx, &lead, component, "ci-new", false)
        .await
        .expect("unbind");
    let mut later = event.clone();
    later["eventType"] = json!("COMPLETE");
    let (status, _) = post_json(&app, "/api/v1/lineage", &newcomer, "application/json", &later).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Everything an event names lands in pages as text: the run page's title and body, and the
/// admin list of unclaimed jobs.
#[tokio::test]
async fn markup_in_an_event_stays_text_in_the_title_body_and_admin_list() {
    let (app, producer) = setup().await;
    let run_id = "0190d1c6-0c6a-7b4e-9d5e-0000000000c1";
    let hostile = r#"x</title><script>alert(1)</script><svg onload=alert(2)>"#;
    let mut event = run_event(run_id, "START", "2026-12-01T10:00:00Z", hostile);
    event["job"]["namespace"] = json!(r#"ns"><img src=x onerror=alert(3)>"#);
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &event).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for uri in [
        format!("/delivery/run?id={run_id}"),
        "/admin".to_owned(),
        "/delivery".to_owned(),
    ] {
        let (status, page) = app.call("GET", &uri, Some(&app.admin_token), None).await;
        let page = page.as_str().unwrap_or_default().to_owned();
        assert_eq!(status, StatusCode::OK, "{uri}");
        for raw in ["<script>alert(1)", "<svg onload", "<img src=x", "</title><script>"] {
            assert!(!page.contains(raw), "{uri} carries {raw:?} as markup");
        }
    }
    let (_, page) = app
        .call(
            "GET",
            &format!("/delivery/run?id={run_id}"),
            Some(&app.admin_token),
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default().to_owned();
    assert!(
        page.contains("x&lt;/title&gt;&lt;script&gt;"),
        "the title and heading show the name as text"
    );
}

/// The scorecard worker re-reads delivery facts when they change: an ingest that stored an
/// event for a component tells it (`NOTIFY`); a retry of the same event does not.
#[tokio::test]
async fn an_ingest_that_stores_something_notifies_the_delivery_channel() {
    let (app, producer) = setup().await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&app.superuser)
        .await
        .expect("listener");
    listener.listen(app::delivery::CHANGED_CHANNEL).await.expect("listen");
    let start = run_event(
        "0190d1c6-0c6a-7b4e-9d5e-0000000000f1",
        "START",
        "2026-12-01T10:00:00Z",
        "Extract",
    );
    let (status, body) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &start).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv()).await;
    assert!(matches!(heard, Ok(Ok(_))), "no notification after a stored event");

    let (status, _) = post_json(&app, "/api/v1/lineage", &producer, "application/json", &start).await;
    assert_eq!(status, StatusCode::OK, "a duplicate");
    let heard = tokio::time::timeout(std::time::Duration::from_millis(500), listener.recv()).await;
    assert!(heard.is_err(), "a duplicate changed nothing, yet notified");
}

/// Two requests reporting the same new run at once merge one after the other: the finished
/// state survives whichever commits last.
#[tokio::test]
async fn concurrent_reports_of_one_new_run_keep_its_final_state() {
    let (app, producer) = setup().await;
    for i in 0..5 {
        let run_id = format!("0190d1c6-0c6a-7b4e-9d5e-00000000c0{i:02}");
        let start = json!([run_event(&run_id, "START", "2026-12-01T10:00:00Z", "Extract")]);
        let complete = json!([run_event(&run_id, "COMPLETE", "2026-12-01T10:05:00Z", "Extract")]);
        let (a, b) = tokio::join!(
            post_json(&app, "/api/v1/lineage/batch", &producer, "application/json", &start),
            post_json(&app, "/api/v1/lineage/batch", &producer, "application/json", &complete),
        );
        assert!(a.0.is_success() && b.0.is_success(), "{a:?} {b:?}");
        let run = app
            .get_json_as(&format!("/api/v1/runs/{run_id}"), &app.admin_token)
            .await;
        assert_eq!(run["run"]["status"], "complete", "{run}");
        assert_eq!(run["run"]["started_at"], "2026-12-01T10:00:00Z", "{run}");
    }
}
