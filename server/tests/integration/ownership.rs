//! Ownership edits: lead request, receiving lead accepts; overrides and what imports do with
//! them.

use axum::http::StatusCode;
use serde_json::json;

use crate::util::TestApp;

const CHECKOUT: &str = "/api/v1/entities/component/default/checkout";

async fn owner(app: &TestApp, key: &str) -> Option<String> {
    sqlx::query_scalar("SELECT owner_ref FROM entities WHERE ref = $1")
        .bind(key)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lead_requests_a_transfer_and_the_receiving_lead_accepts() {
    let app = TestApp::strict_with_demo().await;
    let checkout_lead = app.token("lead", Some("team-checkout")).await;
    let fulfilment_lead = app.token("lead", Some("team-fulfilment")).await;
    let viewer = app.token("viewer", None).await;

    let (status, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&checkout_lead),
            Some(json!({"to": "team-fulfilment", "reason": ""})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is mandatory: {body}"
    );

    let (status, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&checkout_lead),
            Some(json!({"to": "team-fulfilment", "reason": "fulfilment runs it now"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], false);
    let id = body["transfer"]["id"].as_i64().unwrap();
    assert_eq!(
        owner(&app, "component:default/checkout").await.as_deref(),
        Some("group:default/team-checkout")
    );

    // Both teams see it; an engineer does not.
    for token in [&checkout_lead, &fulfilment_lead] {
        let (_, list) = app.call("GET", "/api/v1/transfers", Some(token), None).await;
        assert_eq!(list["items"][0]["id"], id, "{list}");
        assert_eq!(list["items"][0]["status"], "pending");
    }
    let (_, list) = app.call("GET", "/api/v1/transfers", Some(&viewer), None).await;
    assert_eq!(list["items"], json!([]));

    // The requesting lead cannot accept their own request.
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/accept"),
            Some(&checkout_lead),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/accept"),
            Some(&fulfilment_lead),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(
        owner(&app, "component:default/checkout").await.as_deref(),
        Some("group:default/team-fulfilment")
    );

    // Reads show the new owner (cache invalidated), both ways.
    let entity = app.get_json_as(CHECKOUT, &viewer).await;
    assert_eq!(entity["owner"], "group:default/team-fulfilment");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target = 'component:default/checkout' ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["transfer.request", "transfer.accept"]);
    // The old lead may no longer edit it.
    let (status, _) = app
        .call(
            "PATCH",
            CHECKOUT,
            Some(&checkout_lead),
            Some(json!({"lifecycle": "deprecated"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn edits_are_overrides_until_the_source_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    let yaml = |owner: &str, lifecycle: &str| {
        format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: probe\nspec:\n  type: service\n  lifecycle: {lifecycle}\n  owner: {owner}\n")
    };
    std::fs::write(&file, yaml("team-checkout", "experimental")).unwrap();
    let app = TestApp::with_demo().await;
    app.import_paths(std::slice::from_ref(&file)).await.unwrap();

    let (status, body) = app
        .call(
            "POST",
            "/api/v1/entities/component/default/probe/transfer",
            Some(&app.admin_token),
            Some(json!({"to": "team-data", "reason": "reorg"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], true, "admins transfer directly");
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/entities/component/default/probe",
            Some(&app.admin_token),
            Some(json!({"lifecycle": "production", "links": [{"url": "javascript:alert(1)"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unsafe link scheme: {body}");
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/entities/component/default/probe",
            Some(&app.admin_token),
            Some(json!({"lifecycle": "production"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let overrides: Vec<(String, serde_json::Value, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT field, value, source_value FROM entity_overrides o JOIN entities e ON e.id = o.entity_id WHERE e.ref = 'component:default/probe' ORDER BY field",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        overrides,
        vec![
            ("lifecycle".into(), json!("production"), Some(json!("experimental"))),
            (
                "owner".into(),
                json!("group:default/team-data"),
                Some(json!("group:default/team-checkout"))
            ),
        ]
    );

    // Re-importing the unchanged file keeps Bearing's edits and reports the conflicts.
    let report = app.import_paths(std::slice::from_ref(&file)).await.unwrap();
    assert_eq!(report.override_conflicts.len(), 2, "{report:?}");
    assert!(
        report.override_conflicts[0].contains("component:default/probe"),
        "{report:?}"
    );
    assert_eq!(
        owner(&app, "component:default/probe").await.as_deref(),
        Some("group:default/team-data")
    );
    let relations: Vec<String> = sqlx::query_scalar(
        "SELECT target_ref FROM relations WHERE source_ref = 'component:default/probe' AND type = 'ownedBy'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(relations, ["group:default/team-data"]);

    // The file now agrees on the owner: that override goes, the lifecycle one stays.
    std::fs::write(&file, yaml("group:default/team-data", "experimental")).unwrap();
    let report = app.import_paths(std::slice::from_ref(&file)).await.unwrap();
    assert_eq!(report.overrides_cleared, ["component:default/probe owner"]);
    assert_eq!(report.override_conflicts.len(), 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT field FROM entity_overrides")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, ["lifecycle"]);
}
