//! Judging one card against one component's facts.

use super::parsed;
use bearing_policy::edges::EdgeClass;
use bearing_scorecards::{evaluate, DeliveryFacts, Deployment, Facts, MeshFacts, Run, Scorecard, Status};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-01 12:00 UTC);

/// Bronze: owner, description. Silver: runbook, mTLS. Gold: certificates, deploys, CFR, run.
fn card() -> Scorecard {
    parsed(
        "name: ready\ntitle: Ready\nselect: {type: service, tier: 1}\nlevels:
  - name: Bronze
    checks:
      - {id: owner, title: Owner, has_owner: true}
      - {id: description, title: Description, has_description: true}
  - name: Silver
    checks:
      - {id: runbook, title: Runbook, has_link: {type: runbook}}
      - {id: mtls, title: mTLS, mtls_enabled: true}
      - {id: edges, title: Edges, no_edges_of_class: [declared_denied, will_break]}
  - name: Gold
    checks:
      - {id: certs, title: Certificates, certificates_valid_for_days: 14}
      - {id: deployed, title: Deployed, deployed_within_days: 30}
      - {id: cfr, title: CFR, change_failure_rate_below: 0.15}
      - {id: green, title: Green, last_run_succeeded: true}
",
    )
}

fn deployments(ok: usize, failed: usize) -> Vec<Deployment> {
    (0..ok + failed)
        .map(|i| Deployment {
            at: NOW - Duration::days(1 + i as i64),
            failed: i < failed,
        })
        .collect()
}

/// A component that passes everything.
fn gold() -> Facts {
    Facts {
        owner: Some("group:default/payments".into()),
        description: Some("Takes payments".into()),
        entity_type: Some("service".into()),
        lifecycle: Some("production".into()),
        annotations: [("compass.atlassian.com/tier".to_string(), "1".to_string())].into(),
        link_types: vec!["RunBook".into()],
        mesh: Some(MeshFacts {
            mtls_enabled: true,
            edges: [(EdgeClass::Healthy, 4), (EdgeClass::Undeclared, 1)].into(),
            certificates_expire_at: Some(NOW + Duration::days(20)),
        }),
        delivery: Some(DeliveryFacts {
            last_deployed_at: None,
            deployments: deployments(9, 1),
            last_run: Some(Run {
                finished_at: NOW - Duration::hours(2),
                succeeded: true,
            }),
        }),
        ..Facts::default()
    }
}

fn check<'r>(result: &'r bearing_scorecards::CardResult, id: &str) -> (Status, &'r str) {
    let c = result.checks.iter().find(|c| c.id == id).unwrap();
    (c.status, c.reason.as_str())
}

#[test]
fn passing_everything_reaches_the_top_level() {
    let result = evaluate(&card(), &gold(), NOW);
    assert_eq!(result.level, Some(2));
    assert_eq!(result.level_name(), Some("Gold"));
    assert_eq!((result.passed, result.failed, result.unknown), (9, 0, 0));
    assert_eq!(result.score, 1.0);
    assert_eq!(result.blocking().count(), 0);
    assert_eq!(
        check(&result, "owner"),
        (Status::Pass, "owned by group:default/payments")
    );
    assert_eq!(check(&result, "runbook"), (Status::Pass, "has a runbook link"));
    assert_eq!(
        check(&result, "edges"),
        (Status::Pass, "no declared_denied or will_break edges")
    );
    assert_eq!(
        check(&result, "certs"),
        (Status::Pass, "certificates valid for 20 days more")
    );
    assert_eq!(
        check(&result, "deployed"),
        (Status::Pass, "last deployed on 2026-10-31")
    );
    assert_eq!(
        check(&result, "cfr"),
        (
            Status::Pass,
            "1 of 10 deployments in the last 30 days failed (10%), below 15%"
        )
    );
    assert_eq!(
        check(&result, "green"),
        (Status::Pass, "last run on 2026-11-01 succeeded")
    );
    assert_eq!(result.evaluated_at, NOW);
}

#[test]
fn a_level_needs_every_lower_level() {
    // Silver and Gold pass, Bronze does not: no level at all.
    let facts = Facts { owner: None, ..gold() };
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(result.level, None);
    assert_eq!(result.level_name(), None);
    assert_eq!(check(&result, "owner"), (Status::Fail, "no owner"));
    assert_eq!((result.passed, result.failed), (8, 1));
    assert!((result.score - 8.0 / 9.0).abs() < 1e-12);
    let blocking: Vec<&str> = result.blocking().map(|c| c.id.as_str()).collect();
    assert_eq!(blocking, ["owner"]);

    // Bronze passes, one Silver check fails: Bronze, even though Gold passes.
    let facts = Facts {
        link_types: vec!["dashboard".into()],
        ..gold()
    };
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(result.level_name(), Some("Bronze"));
    assert_eq!(check(&result, "runbook"), (Status::Fail, "no runbook link"));
    let blocking: Vec<&str> = result.blocking().map(|c| c.id.as_str()).collect();
    assert_eq!(blocking, ["runbook"]);
}

#[test]
fn missing_mesh_and_delivery_data_is_unknown_not_passed() {
    let facts = Facts {
        mesh: None,
        delivery: None,
        ..gold()
    };
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(result.level_name(), Some("Bronze"), "unknown never reaches a level");
    assert_eq!((result.passed, result.failed, result.unknown), (3, 0, 6));
    assert_eq!(result.score, 1.0, "unknown checks are left out of the score");
    assert_eq!(
        check(&result, "mtls"),
        (Status::Unknown, "no mesh data for this component")
    );
    assert_eq!(
        check(&result, "green"),
        (Status::Unknown, "no delivery data for this component")
    );

    let nothing_known = evaluate(&card(), &Facts::default(), NOW);
    assert_eq!(nothing_known.level, None);
    assert_eq!(
        (nothing_known.passed, nothing_known.failed, nothing_known.unknown),
        (0, 3, 6)
    );
    let only_unknown = parsed(&super::card_with_rule("mtls_enabled: true"));
    let result = evaluate(&only_unknown, &Facts::default(), NOW);
    assert_eq!((result.unknown, result.score, result.level), (1, 0.0, None));
}

#[test]
fn mesh_reasons() {
    let mut facts = gold();
    let mesh = facts.mesh.as_mut().unwrap();
    mesh.edges.insert(EdgeClass::DeclaredDenied, 2);
    mesh.edges.insert(EdgeClass::WillBreak, 1);
    mesh.certificates_expire_at = Some(NOW + Duration::days(3) + Duration::hours(5));
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(
        check(&result, "edges"),
        (Status::Fail, "2 declared_denied edges, 1 will_break edge")
    );
    assert_eq!(check(&result, "certs"), (Status::Fail, "certificate expires in 3 days"));

    let mesh = facts.mesh.as_mut().unwrap();
    mesh.certificates_expire_at = Some(NOW - Duration::days(1));
    assert_eq!(
        check(&evaluate(&card(), &facts, NOW), "certs"),
        (Status::Fail, "certificate expired on 2026-10-31")
    );
    let mesh = facts.mesh.as_mut().unwrap();
    mesh.certificates_expire_at = None;
    assert_eq!(
        check(&evaluate(&card(), &facts, NOW), "certs"),
        (Status::Unknown, "no certificate expiry reported")
    );
    let mesh = facts.mesh.as_mut().unwrap();
    mesh.mtls_enabled = false;
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(check(&result, "mtls"), (Status::Fail, "mTLS is off"));
    assert_eq!(check(&result, "certs"), (Status::Fail, "no certificates: mTLS is off"));
}

#[test]
fn delivery_reasons() {
    let mut facts = gold();
    let delivery = facts.delivery.as_mut().unwrap();
    delivery.deployments = deployments(7, 2);
    delivery.last_run = Some(Run {
        finished_at: datetime!(2026-10-30 08:00 UTC),
        succeeded: false,
    });
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(
        check(&result, "cfr"),
        (
            Status::Fail,
            "2 of 9 deployments in the last 30 days failed (22.2%), not below 15%"
        )
    );
    assert_eq!(check(&result, "green"), (Status::Fail, "last run on 2026-10-30 failed"));

    // Only old deployments: the last one is named, and the rate has nothing to go on.
    let delivery = facts.delivery.as_mut().unwrap();
    delivery.deployments = vec![Deployment {
        at: datetime!(2026-09-01 10:00 UTC),
        failed: false,
    }];
    delivery.last_deployed_at = Some(datetime!(2026-10-01 09:00 UTC));
    delivery.last_run = None;
    let result = evaluate(&card(), &facts, NOW);
    assert_eq!(
        check(&result, "deployed"),
        (Status::Fail, "no deployment since 2026-10-01")
    );
    assert_eq!(
        check(&result, "cfr"),
        (Status::Fail, "no deployments in the last 30 days")
    );
    assert_eq!(check(&result, "green"), (Status::Fail, "no pipeline run recorded"));

    let delivery = facts.delivery.as_mut().unwrap();
    *delivery = DeliveryFacts::default();
    assert_eq!(
        check(&evaluate(&card(), &facts, NOW), "deployed"),
        (Status::Fail, "never deployed")
    );
}

#[test]
fn catalog_reasons() {
    let card = parsed(
        "name: c\ntitle: T\nlevels:\n  - name: B\n    checks:
      - {id: life, title: L, lifecycle_in: [production, beta]}
      - {id: pd, title: P, has_annotation: pagerduty.com/service-id}
      - {id: pci, title: T, has_tag: PCI}
      - {id: desc, title: D, has_description: true}
",
    );
    let facts = Facts {
        lifecycle: Some("experimental".into()),
        annotations: [("pagerduty.com/service-id".to_string(), " ".to_string())].into(),
        tags: vec!["pci".into()],
        description: Some("  ".into()),
        ..Facts::default()
    };
    let result = evaluate(&card, &facts, NOW);
    assert_eq!(
        check(&result, "life"),
        (Status::Fail, "lifecycle is experimental, not production or beta")
    );
    assert_eq!(
        check(&result, "pd"),
        (Status::Fail, "no pagerduty.com/service-id annotation")
    );
    assert_eq!(check(&result, "pci"), (Status::Pass, "tagged PCI"));
    assert_eq!(check(&result, "desc"), (Status::Fail, "no description"));
    let result = evaluate(
        &card,
        &Facts {
            lifecycle: Some("Beta".into()),
            ..facts
        },
        NOW,
    );
    assert_eq!(check(&result, "life"), (Status::Pass, "lifecycle is Beta"));
    assert_eq!(
        check(&evaluate(&card, &Facts::default(), NOW), "life"),
        (Status::Fail, "no lifecycle")
    );
}

#[test]
fn selects_like_templates() {
    let card = card();
    assert!(card.applies_to(&gold()));
    let tier_from_label = Facts {
        annotations: Default::default(),
        labels: [("tier".to_string(), "1".to_string())].into(),
        ..gold()
    };
    assert!(card.applies_to(&tier_from_label));
    assert!(!card.applies_to(&Facts {
        annotations: Default::default(),
        ..gold()
    }));
    assert!(!card.applies_to(&Facts {
        entity_type: Some("library".into()),
        ..gold()
    }));
}

#[test]
fn facts_and_results_round_trip_as_json() {
    let facts = gold();
    let json = serde_json::to_value(&facts).unwrap();
    assert_eq!(json["mesh"]["edges"]["healthy"], 4);
    assert_eq!(json["mesh"]["certificates_expire_at"], "2026-11-21T12:00:00Z");
    assert_eq!(serde_json::from_value::<Facts>(json).unwrap(), facts);
    let result = evaluate(&card(), &facts, NOW);
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["checks"][0]["status"], "pass");
    assert_eq!(
        serde_json::from_value::<bearing_scorecards::CardResult>(json).unwrap(),
        result
    );
}
