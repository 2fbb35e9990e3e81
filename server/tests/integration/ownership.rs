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

async fn transfer_status(app: &TestApp, id: i64) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, decided_by FROM transfers WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn audit_of(app: &TestApp, target: &str) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as("SELECT action, actor, reason FROM audit_log WHERE target = $1 ORDER BY seq")
        .bind(target)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Issue 10, item 6: a request A→B is void once a re-import moved the entity to C. The import
/// cancels it (audited, by `system:import`), and B's lead can no longer take the entity.
#[tokio::test]
async fn issue_10_an_import_that_moves_the_entity_cancels_its_pending_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    let yaml = |owner: &str| {
        format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: probe\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n")
    };
    std::fs::write(&file, yaml("team-checkout")).unwrap();
    let app = TestApp::strict_with_demo().await;
    app.import_paths(std::slice::from_ref(&file)).await.unwrap();
    let checkout_lead = app.token("lead", Some("team-checkout")).await;
    let fulfilment_lead = app.token("lead", Some("team-fulfilment")).await;
    let probe = "/api/v1/entities/component/default/probe";
    let (status, body) = app
        .call(
            "POST",
            &format!("{probe}/transfer"),
            Some(&checkout_lead),
            Some(json!({"to": "team-fulfilment", "reason": "fulfilment runs it"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["transfer"]["id"].as_i64().unwrap();

    // The catalog file now says team-storefront owns it.
    std::fs::write(&file, yaml("team-storefront")).unwrap();
    app.import_paths(std::slice::from_ref(&file)).await.unwrap();
    assert_eq!(
        transfer_status(&app, id).await,
        ("cancelled".into(), Some("system:import".into()))
    );
    let audit = audit_of(&app, "component:default/probe").await;
    let (action, actor, reason) = audit.last().unwrap();
    assert_eq!((action.as_str(), actor.as_str()), ("transfer.cancel", "system:import"));
    assert!(
        reason.as_deref().unwrap().contains("group:default/team-storefront"),
        "{reason:?}"
    );

    let (status, body) = app
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/accept"),
            Some(&fulfilment_lead),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer pending: {body}");
    assert_eq!(
        owner(&app, "component:default/probe").await.as_deref(),
        Some("group:default/team-storefront")
    );
    let (_, list) = app.call("GET", "/api/v1/transfers", Some(&fulfilment_lead), None).await;
    assert_eq!(list["items"], json!([]), "{list}");
}

/// Issue 10, item 6: ownership is checked when the transfer is decided, whatever moved the
/// entity meanwhile: the decision is refused, says why, and the request is cancelled.
#[tokio::test]
async fn issue_10_deciding_a_transfer_checks_the_requesting_team_still_owns_the_entity() {
    let app = TestApp::strict_with_demo().await;
    let checkout_lead = app.token("lead", Some("team-checkout")).await;
    let fulfilment_lead = app.token("lead", Some("team-fulfilment")).await;
    let (status, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&checkout_lead),
            Some(json!({"to": "team-fulfilment", "reason": "fulfilment runs it"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["transfer"]["id"].as_i64().unwrap();
    // Moved behind the request's back (a writer that does not know about transfers).
    sqlx::query(
        "UPDATE entities SET owner_ref = 'group:default/team-storefront' WHERE ref = 'component:default/checkout'",
    )
    .execute(&app.superuser)
    .await
    .unwrap();

    let (status, body) = app
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/accept"),
            Some(&fulfilment_lead),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let detail = body["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("team-storefront") && detail.contains("cancelled"),
        "{detail}"
    );
    assert_eq!(
        owner(&app, "component:default/checkout").await.as_deref(),
        Some("group:default/team-storefront")
    );
    assert_eq!(transfer_status(&app, id).await.0, "cancelled");
    let audit = audit_of(&app, "component:default/checkout").await;
    assert_eq!(audit.last().unwrap().0, "transfer.cancel", "{audit:?}");
}

/// A person who leads both teams, for the four-eyes rule.
fn lead_of_both() -> app::auth::guard::Caller {
    app::auth::guard::Caller {
        user: Some(app::auth::CurrentUser {
            kind: app::auth::ActorKind::User,
            id: uuid::Uuid::new_v4().to_string(),
            name: "Both Teams".into(),
            email: Some("both@example.com".into()),
            groups: vec![],
            roles: vec![app::auth::Role::Viewer, app::auth::Role::Lead],
            lead_of: vec![
                "group:default/team-checkout".into(),
                "group:default/team-fulfilment".into(),
            ],
            catalog_ref: None,
            issuer: Some("http://idp.example".into()),
            subject: Some("both-teams".into()),
            scopes: vec![],
        }),
        ..Default::default()
    }
}

/// Issue 10, item 6: four eyes. Whoever asked for a transfer cannot decide it, even when they
/// lead the receiving team too; another lead of that team (or an admin) can.
#[tokio::test]
async fn issue_10_the_requester_cannot_decide_their_own_transfer() {
    let app = TestApp::strict_with_demo().await;
    let both = lead_of_both();
    let outcome = app::catalog::ownership::service::transfer(
        &app.ctx,
        &both,
        "component:default/checkout",
        "team-fulfilment",
        "moving it to my other team",
    )
    .await
    .unwrap();
    assert!(!outcome.applied);
    let id = outcome.transfer.id;
    for accept in [true, false] {
        let err = app::catalog::ownership::service::decide(&app.ctx, &both, id, accept)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, app::error::AppError::Forbidden(m) if m.contains("you asked for this transfer")),
            "{err:?}"
        );
    }
    assert_eq!(transfer_status(&app, id).await.0, "pending");
    assert_eq!(
        owner(&app, "component:default/checkout").await.as_deref(),
        Some("group:default/team-checkout")
    );
    // Another lead of the receiving team decides it.
    let fulfilment_lead = app.token("lead", Some("team-fulfilment")).await;
    let (status, body) = app
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/accept"),
            Some(&fulfilment_lead),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Issue 10, item 6: an admin still moves an entity directly (audited as `entity.transfer`),
/// and a request pending for it is cancelled rather than left to move the entity back.
#[tokio::test]
async fn issue_10_an_admins_direct_transfer_cancels_the_pending_request() {
    let app = TestApp::strict_with_demo().await;
    let checkout_lead = app.token("lead", Some("team-checkout")).await;
    let (_, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&checkout_lead),
            Some(json!({"to": "team-fulfilment", "reason": "fulfilment runs it"})),
        )
        .await;
    let id = body["transfer"]["id"].as_i64().unwrap();
    let (status, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&app.admin_token),
            Some(json!({"to": "team-storefront", "reason": "reorg"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], true);
    assert_eq!(
        owner(&app, "component:default/checkout").await.as_deref(),
        Some("group:default/team-storefront")
    );
    assert_eq!(transfer_status(&app, id).await.0, "cancelled");
    let actions: Vec<String> = audit_of(&app, "component:default/checkout")
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(actions, ["transfer.request", "entity.transfer", "transfer.cancel"]);
}
