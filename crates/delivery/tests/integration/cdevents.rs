//! CDEvents over CloudEvents: every conformance example of cdevents/spec 0.4.1 and 0.5.1 is
//! accepted in structured, binary and batch mode; malformed ones are refused at the right place.

use crate::util::{binary_headers, bytes, cdevents_release, cloudevent, golden_json};
use bearing_delivery::{
    parse_cloudevents, DeliveryEvent, DeploymentAction, ErrorKind, EventError, IdempotencyKey, IncidentState, Origin,
    RunKind, RunState, SubjectRef,
};
use serde_json::{json, Value};
use time::macros::datetime;

const STRUCTURED: Option<&str> = Some("application/cloudevents+json; charset=utf-8");
const BATCH: Option<&str> = Some("application/cloudevents-batch+json");
const JSON: Option<&str> = Some("application/json");

#[track_caller]
fn one(content_type: Option<&str>, headers: &[(String, String)], body: &[u8]) -> DeliveryEvent {
    let mut results = parse_cloudevents(content_type, headers, body).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(results.len(), 1);
    results.remove(0).unwrap_or_else(|e| panic!("refused: {e}"))
}

#[track_caller]
fn refused(content_type: Option<&str>, headers: &[(String, String)], body: &[u8]) -> EventError {
    parse_cloudevents(content_type, headers, body).expect_err("must be refused")
}

/// The variant a conformance file's name says it is.
fn expected_variant(stem: &str, event: &DeliveryEvent) -> bool {
    match event {
        DeliveryEvent::Run(r) => {
            (stem.starts_with("pipelinerun") && r.kind == RunKind::PipelineRun)
                || (stem.starts_with("taskrun") && r.kind == RunKind::TaskRun)
        }
        DeliveryEvent::Deployment(_) => stem.starts_with("service"),
        DeliveryEvent::Change(_) => stem == "change_merged",
        DeliveryEvent::Incident(_) => stem.starts_with("incident"),
        DeliveryEvent::Build(_) => stem == "build_finished",
    }
}

#[test]
fn every_conformance_example_is_accepted_in_all_modes() {
    for release in ["0.4.1", "0.5.1"] {
        let examples = cdevents_release(release);
        assert_eq!(examples.len(), 13, "{release}");
        for (stem, cdevent) in &examples {
            let structured = one(STRUCTURED, &[], &bytes(&cloudevent(cdevent)));
            assert!(expected_variant(stem, &structured), "{release}/{stem}: {structured:?}");
            assert_eq!(structured.meta().raw["data"], *cdevent, "{release}/{stem}");
            let binary = one(JSON, &binary_headers(cdevent), &bytes(cdevent));
            assert_eq!(binary.meta().key, structured.meta().key, "{release}/{stem}");
            assert_eq!(binary.meta().raw["data"], *cdevent);
            match &structured.meta().origin {
                Origin::CdEvents {
                    spec_version,
                    chain_id,
                    related,
                    ..
                } => {
                    assert_eq!(spec_version, release);
                    assert_eq!(
                        chain_id.as_deref(),
                        Some("4c8cb7dd-3448-41de-8768-eec704e2829b"),
                        "{release}/{stem}"
                    );
                    assert_eq!(related, &["5328c37f-bb7e-4bb7-84ea-9f5f85e4a7ce"], "{release}/{stem}");
                }
                other => panic!("{other:?}"),
            }
        }
        let batch: Vec<Value> = examples.iter().map(|(_, c)| cloudevent(c)).collect();
        let results = parse_cloudevents(BATCH, &[], &bytes(&json!(batch))).unwrap();
        assert_eq!(results.len(), 13);
        assert!(results.iter().all(Result::is_ok), "{release}: {results:?}");
    }
}

#[test]
fn runs_are_normalised() {
    let finished = golden_json("cdevents/0.5.1/pipelinerun_finished.json");
    let DeliveryEvent::Run(run) = one(STRUCTURED, &[], &bytes(&cloudevent(&finished))) else {
        panic!()
    };
    assert_eq!(run.state, Some(RunState::Fail));
    assert_eq!(run.run_id, "mySubject123");
    assert_eq!(run.job.name, "myPipeline");
    assert_eq!(run.job.namespace, "/event/source/123");
    let error = run.error.unwrap();
    assert_eq!(error.outcome.as_deref(), Some("failure"));
    assert_eq!(
        error.message.as_deref(),
        Some("Something went wrong\nWith some more details")
    );
    assert_eq!(run.meta.time, datetime!(2023-03-20 14:27:05.315384 UTC));
    assert_eq!(
        run.meta.key,
        IdempotencyKey::CloudEvent {
            source: "/event/source/123".into(),
            id: "271069a8-fc18-44f1-b38f-9d70a1695819".into()
        }
    );

    let started = golden_json("cdevents/0.4.1/taskrun_started.json");
    let DeliveryEvent::Run(task) = one(STRUCTURED, &[], &bytes(&cloudevent(&started))) else {
        panic!()
    };
    assert_eq!(task.state, Some(RunState::Started));
    assert_eq!(task.job.name, "myTask");
    assert_eq!(task.parent.unwrap().run_id, "mySubject123");

    let mut success = finished;
    success["subject"]["content"]["outcome"] = json!("success");
    success["subject"]["content"].as_object_mut().unwrap().remove("errors");
    let DeliveryEvent::Run(ok) = one(STRUCTURED, &[], &bytes(&cloudevent(&success))) else {
        panic!()
    };
    assert_eq!(ok.state, Some(RunState::Complete));
    assert!(ok.error.is_none());
}

#[test]
fn deployments_changes_incidents_and_builds_are_normalised() {
    let deployed = golden_json("cdevents/0.5.1/service_deployed.json");
    let DeliveryEvent::Deployment(d) = one(STRUCTURED, &[], &bytes(&cloudevent(&deployed))) else {
        panic!()
    };
    assert_eq!(d.action, DeploymentAction::Deployed);
    assert_eq!(
        d.service,
        SubjectRef {
            id: "mySubject123".into(),
            source: Some("/event/source/123".into())
        }
    );
    assert_eq!(d.environment.id, "test123");
    assert!(d.artifact_id.unwrap().starts_with("pkg:oci/myapp@sha256"));

    let rolled = golden_json("cdevents/0.4.1/service_rolledback.json");
    let DeliveryEvent::Deployment(r) = one(STRUCTURED, &[], &bytes(&cloudevent(&rolled))) else {
        panic!()
    };
    assert_eq!(r.action, DeploymentAction::RolledBack);

    let merged = golden_json("cdevents/0.5.1/change_merged.json");
    let DeliveryEvent::Change(c) = one(STRUCTURED, &[], &bytes(&cloudevent(&merged))) else {
        panic!()
    };
    assert_eq!(c.change.id, "mySubject123");
    assert_eq!(
        c.repository,
        Some(SubjectRef {
            id: "TestRepo/TestOrg".into(),
            source: Some("https://example.org".into())
        })
    );

    let detected = golden_json("cdevents/0.4.1/incident_detected.json");
    let DeliveryEvent::Incident(i) = one(STRUCTURED, &[], &bytes(&cloudevent(&detected))) else {
        panic!()
    };
    assert_eq!(i.state, IncidentState::Detected);
    assert_eq!(i.environment.id, "prod1");
    assert_eq!(i.service.unwrap().id, "myApp");
    assert_eq!(i.description.as_deref(), Some("Response time above threshold of 100ms"));

    let resolved = golden_json("cdevents/0.5.1/incident_resolved.json");
    let DeliveryEvent::Incident(i) = one(STRUCTURED, &[], &bytes(&cloudevent(&resolved))) else {
        panic!()
    };
    assert_eq!(i.state, IncidentState::Resolved);

    let build = golden_json("cdevents/0.5.1/build_finished.json");
    let DeliveryEvent::Build(b) = one(STRUCTURED, &[], &bytes(&cloudevent(&build))) else {
        panic!()
    };
    assert!(b.artifact_id.is_some());
}

#[test]
fn binary_mode_reads_ce_headers() {
    let cdevent = golden_json("cdevents/0.5.1/service_upgraded.json");
    // Header names in any case; values percent-encoded (CloudEvents HTTP binding §3.1.3.2).
    let headers: Vec<(String, String)> = vec![
        ("CE-SpecVersion".into(), "1.0".into()),
        ("ce-id".into(), "271069a8-fc18-44f1-b38f-9d70a1695819".into()),
        ("ce-source".into(), "%2Fevent%2Fsource%2F123".into()),
        ("ce-type".into(), "dev.cdevents.service.upgraded.0.3.0".into()),
        ("ce-myextension".into(), "caf%C3%A9".into()),
        ("x-other".into(), "ignored".into()),
    ];
    let event = one(Some("application/json; charset=utf-8"), &headers, &bytes(&cdevent));
    let DeliveryEvent::Deployment(d) = &event else { panic!() };
    assert_eq!(d.action, DeploymentAction::Upgraded);
    assert_eq!(d.meta.raw["source"], "/event/source/123");
    assert_eq!(d.meta.raw["myextension"], "café");
    assert_eq!(d.meta.raw["datacontenttype"], "application/json");

    // Without Content-Type the data is taken as JSON.
    assert!(parse_cloudevents(None, &binary_headers(&cdevent), &bytes(&cdevent)).is_ok());

    let mut missing_id = binary_headers(&cdevent);
    missing_id.retain(|(n, _)| n != "ce-id");
    let e = refused(JSON, &missing_id, &bytes(&cdevent));
    assert_eq!(e.pointer, "");
    assert!(
        e.message.starts_with("header ce-id: required property"),
        "{}",
        e.message
    );
    assert_eq!(e.hint, "send the ce-id header");

    let mut old = binary_headers(&cdevent);
    old[0].1 = "0.3".into();
    let e = refused(JSON, &old, &bytes(&cdevent));
    assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Unsupported, ""));
    assert!(e.message.starts_with("header ce-specversion:"), "{}", e.message);

    // A body error points into the body, which is the CDEvent itself.
    let mut bad = cdevent.clone();
    bad["subject"]["content"]["environment"] = json!({});
    let e = refused(JSON, &binary_headers(&bad), &bytes(&bad));
    assert_eq!(e.pointer, "/subject/content/environment/id");

    let e = refused(Some("text/xml"), &binary_headers(&cdevent), b"<x/>");
    assert_eq!(e.kind, ErrorKind::Unsupported);
}

#[test]
fn malformed_cloudevents_point_at_the_field() {
    let cdevent = golden_json("cdevents/0.5.1/service_deployed.json");

    let mut ce = cloudevent(&cdevent);
    ce["specversion"] = json!("0.3");
    let e = refused(STRUCTURED, &[], &bytes(&ce));
    assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Unsupported, "/specversion"));

    let mut ce = cloudevent(&cdevent);
    ce.as_object_mut().unwrap().remove("source");
    assert_eq!(refused(STRUCTURED, &[], &bytes(&ce)).pointer, "/source");

    let mut ce = cloudevent(&cdevent);
    ce["id"] = json!(7);
    let e = refused(STRUCTURED, &[], &bytes(&ce));
    assert_eq!(e.pointer, "/id");
    assert_eq!(e.message, "must be a string, not a number");

    let mut ce = cloudevent(&cdevent);
    ce["type"] = json!("com.github.pull_request.opened");
    ce["data"]["context"]["type"] = json!("com.github.pull_request.opened");
    let e = refused(STRUCTURED, &[], &bytes(&ce));
    assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Unsupported, "/type"));

    // A CDEvent, but not a type Bearing records.
    let packaged = json!({"context": {"specversion": "0.5.1", "id": "1", "source": "/s",
        "type": "dev.cdevents.artifact.packaged.0.2.0", "timestamp": "2024-01-01T00:00:00Z"},
        "subject": {"id": "a", "content": {}}});
    let e = refused(STRUCTURED, &[], &bytes(&cloudevent(&packaged)));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ErrorKind::Unsupported, "/data/context/type")
    );
    assert!(e.hint.contains("service.deployed"), "{}", e.hint);

    // A known type at an unknown version names the known ones.
    let mut future = cdevent.clone();
    future["context"]["type"] = json!("dev.cdevents.service.deployed.0.9.0");
    let e = refused(STRUCTURED, &[], &bytes(&cloudevent(&future)));
    assert_eq!(e.pointer, "/data/context/type");
    assert!(e.hint.contains("dev.cdevents.service.deployed.0.2.0"), "{}", e.hint);

    // CDEvents 0.6 spec version with a 0.5 type.
    let mut next = cdevent.clone();
    next["context"]["specversion"] = json!("0.6.0");
    assert_eq!(
        refused(STRUCTURED, &[], &bytes(&cloudevent(&next))).pointer,
        "/data/context/specversion"
    );

    // The binding requires the CloudEvent id to be the CDEvent's.
    let mut ce = cloudevent(&cdevent);
    ce["id"] = json!("another-id");
    let e = refused(STRUCTURED, &[], &bytes(&ce));
    assert_eq!(e.pointer, "/data/context/id");

    // Schema errors inside the CDEvent.
    let mut no_env = cdevent.clone();
    no_env["subject"]["content"]
        .as_object_mut()
        .unwrap()
        .remove("environment");
    assert_eq!(
        refused(STRUCTURED, &[], &bytes(&cloudevent(&no_env))).pointer,
        "/data/subject/content/environment"
    );
    let mut extra = cdevent.clone();
    extra["subject"]["content"]["colour"] = json!("blue");
    let e = refused(STRUCTURED, &[], &bytes(&cloudevent(&extra)));
    assert_eq!(e.pointer, "/data/subject/content");
    assert!(e.message.contains("colour"));

    // A link is one of three shapes (anyOf); the error is the one of the shape its linkType
    // names, not of the shape with the fewest errors.
    let mut link = cdevent.clone();
    link["context"]["links"] = json!([{"linkType": "RELATION", "target": {"contextId": "x"}}]);
    let e = refused(STRUCTURED, &[], &bytes(&cloudevent(&link)));
    assert_eq!(e.pointer, "/data/context/links/0/linkKind");

    let mut ce = cloudevent(&cdevent);
    ce.as_object_mut().unwrap().remove("data");
    assert_eq!(refused(STRUCTURED, &[], &bytes(&ce)).pointer, "/data");

    let e = refused(Some("application/cloudevents+avro"), &[], b"x");
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let e = refused(JSON, &[], &bytes(&cdevent));
    assert!(e.message.contains("not a CloudEvent"), "{}", e.message);
}

#[test]
fn data_base64_carries_json() {
    use base64::Engine as _;
    let cdevent = golden_json("cdevents/0.5.1/build_finished.json");
    let mut ce = cloudevent(&cdevent);
    let data = ce.as_object_mut().unwrap().remove("data").unwrap();
    ce["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes(&data)));
    assert!(matches!(one(STRUCTURED, &[], &bytes(&ce)), DeliveryEvent::Build(_)));
    let mut both = ce.clone();
    both["data"] = data;
    assert_eq!(refused(STRUCTURED, &[], &bytes(&both)).pointer, "/data_base64");
    ce["data_base64"] = json!("%%%");
    assert_eq!(refused(STRUCTURED, &[], &bytes(&ce)).pointer, "/data_base64");
}

#[test]
fn cloudevents_batch_is_judged_per_event() {
    let good = cloudevent(&golden_json("cdevents/0.4.1/change_merged.json"));
    let mut bad = cloudevent(&golden_json("cdevents/0.4.1/service_removed.json"));
    bad["data"]["subject"]["type"] = json!(3);
    let results = parse_cloudevents(BATCH, &[], &bytes(&json!([good, bad, "nope"]))).unwrap();
    assert!(results[0].is_ok());
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.pointer, "/1/data/subject/type");
    assert_eq!(results[2].as_ref().unwrap_err().pointer, "/2");

    let e = refused(BATCH, &[], &bytes(&good));
    assert_eq!(e.pointer, "");
    assert!(e.message.contains("JSON array"));
}
