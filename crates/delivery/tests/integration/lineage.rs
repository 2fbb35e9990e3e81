//! OpenLineage: the Python client's fixtures and the spec's facet examples are accepted and
//! normalised; malformed events are refused at the right pointer.

use crate::util::{bytes, golden, golden_json, run_event};
use bearing_delivery::{
    parse_lineage, parse_lineage_batch, ErrorKind, IdempotencyKey, Origin, QualifiedName, RunKind, RunState,
};
use serde_json::{json, Value};
use time::macros::datetime;

#[test]
fn python_client_full_event_is_accepted_and_normalised() {
    let run = parse_lineage(&golden("openlineage/example_full_event.json")).unwrap();
    assert_eq!(run.kind, RunKind::Job);
    assert_eq!(run.state, Some(RunState::Complete));
    assert_eq!(run.run_id, "ea041791-68bc-4ae1-bd89-4c8106a157e4");
    assert_eq!(
        run.job,
        QualifiedName {
            namespace: "my-scheduler-namespace".into(),
            name: "myjob.mytask".into()
        }
    );
    assert_eq!(run.meta.time, datetime!(2020-12-28 19:51:01.641 UTC));
    let parent = run.parent.as_ref().unwrap();
    assert_eq!(parent.run_id, "3f5e83fa-3480-44ff-99c5-ff943904e5e8");
    assert_eq!(parent.job.as_ref().unwrap().name, "myjob.mytask");
    let nominal = run.nominal_time.unwrap();
    assert_eq!(nominal.start, datetime!(2020-12-17 03:00:00.001 UTC));
    assert_eq!(nominal.end, Some(datetime!(2020-12-17 04:00:00.001 UTC)));
    assert_eq!(run.inputs[0].name, "instance.schema.table");
    assert_eq!(run.outputs[0].namespace, "my-datasource-namespace");
    assert_eq!(run.facets, ["nominalTime", "parent", "tags"]);
    assert!(run.error.is_none());
    assert!(run.meta.truncated.is_empty());
    assert_eq!(run.meta.raw, golden_json("openlineage/example_full_event.json"));
    assert_eq!(
        run.meta.origin,
        Origin::OpenLineage {
            producer: "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client".into()
        }
    );
    assert_eq!(
        run.meta.key.to_string(),
        format!(
            "ol:ea041791-68bc-4ae1-bd89-4c8106a157e4:COMPLETE:{}",
            1_609_185_061_641_000_000i128
        )
    );
}

#[test]
fn python_client_naive_times_are_read_as_utc() {
    // `datetime.isoformat()` without a zone, and a date-only nominal time, as the client's own
    // serde fixture has them.
    let run = parse_lineage(&golden("openlineage/serde_example_run_event.json")).unwrap();
    assert_eq!(run.state, Some(RunState::Started));
    assert_eq!(run.meta.time, datetime!(2021-11-03 10:53:52.427343 UTC));
    let nominal = run.nominal_time.unwrap();
    assert_eq!(nominal.start, datetime!(2020-01-01 0:00 UTC));
    assert_eq!(nominal.end, Some(datetime!(2020-01-02 0:00 UTC)));
}

fn with_facets(facets: Value) -> Vec<u8> {
    let mut event = run_event();
    event["run"]["facets"] = facets;
    bytes(&event)
}

#[test]
fn spec_facet_examples_are_accepted() {
    let run = parse_lineage(&with_facets(golden_json(
        "openlineage/facet-ErrorMessageRunFacet-1.json",
    )))
    .unwrap();
    let error = run.error.unwrap();
    assert_eq!(error.message.as_deref(), Some("failed"));
    assert_eq!(error.stack_trace.as_deref(), Some("<stack_trace>"));
    assert_eq!(error.language.as_deref(), Some("JAVA"));

    let run = parse_lineage(&with_facets(golden_json(
        "openlineage/facet-NominalTimeRunFacet-1.json",
    )))
    .unwrap();
    assert_eq!(run.nominal_time.unwrap().start, datetime!(2020-01-01 04:00:00.001 UTC));

    let run = parse_lineage(&with_facets(golden_json("openlineage/facet-ParentRunFacet-1.json"))).unwrap();
    let parent = run.parent.unwrap();
    assert_eq!(parent.run_id, "f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11");
    assert_eq!(
        parent.job,
        Some(QualifiedName {
            namespace: "dbt".into(),
            name: "dbt-job-name".into()
        })
    );
    assert!(run.root.is_none());

    let run = parse_lineage(&with_facets(golden_json("openlineage/facet-ParentRunFacet-2.json"))).unwrap();
    let root = run.root.unwrap();
    assert_eq!(root.run_id, "a0000000-3c3c-1a1a-2b2b-c1b95c24ff11");
    assert_eq!(root.job.unwrap().name, "my_dag");
    assert_eq!(run.parent.unwrap().job.unwrap().name, "my_dag.my_task");
}

#[test]
fn job_dependencies_from_the_facet_docs() {
    // The example in `website/docs/spec/facets/run-facets/job_dependencies.md` omits the base
    // facet's required `_producer`/`_schemaURL`; the schema refuses it, at that place.
    let documented = golden_json("openlineage/facet-JobDependenciesRunFacet-docs.json");
    let e = parse_lineage(&with_facets(documented.clone())).unwrap_err();
    assert_eq!(e.pointer, "/run/facets/jobDependencies/_producer");

    let mut facets = documented;
    facets["jobDependencies"]["_producer"] = json!("https://github.com/apache/airflow");
    facets["jobDependencies"]["_schemaURL"] =
        json!("https://openlineage.io/spec/facets/1-0-1/JobDependenciesRunFacet.json");
    let run = parse_lineage(&with_facets(facets)).unwrap();
    let deps = run.job_dependencies;
    assert_eq!(deps.upstream.len(), 3);
    assert_eq!(deps.downstream.len(), 3);
    assert_eq!(
        deps.upstream[0].job,
        QualifiedName {
            namespace: "pipeline.ingest".into(),
            name: "data-extract".into()
        }
    );
    assert_eq!(deps.upstream[0].run_id, None);
    assert_eq!(
        deps.downstream[0].run_id.as_deref(),
        Some("a2ac0b8b-459c-44d0-b7d2-db6109ef5768")
    );
    assert_eq!(deps.trigger_rule.as_deref(), Some("NONE_FAILED_MIN_ONE_SUCCESS"));
}

#[track_caller]
fn refused(event: Value) -> bearing_delivery::EventError {
    parse_lineage(&bytes(&event)).expect_err("must be refused")
}

#[test]
fn malformed_events_point_at_the_field() {
    let mut e = run_event();
    e["run"].as_object_mut().unwrap().remove("runId");
    let err = refused(e);
    assert_eq!((err.kind, err.pointer.as_str()), (ErrorKind::Invalid, "/run/runId"));
    assert_eq!(err.message, "required property \"runId\" is missing");
    assert!(err.hint.contains("add \"runId\" to the object at /run"), "{}", err.hint);

    let mut e = run_event();
    e["eventType"] = json!("BEGIN");
    let err = refused(e);
    assert_eq!(err.pointer, "/eventType");
    assert!(err.message.contains("\"BEGIN\" is not one of the allowed values"));
    assert!(err.hint.contains("\"START\""), "{}", err.hint);

    let mut e = run_event();
    e["job"]["name"] = json!(42);
    let err = refused(e);
    assert_eq!(err.pointer, "/job/name");
    assert_eq!(err.message, "must be a string, not a number");

    let mut e = run_event();
    e["run"]["runId"] = json!("run-42");
    let err = refused(e);
    assert_eq!(err.pointer, "/run/runId");
    assert!(err.message.contains("is not a UUID"));

    let mut e = run_event();
    e["eventTime"] = json!("last tuesday");
    assert_eq!(refused(e).pointer, "/eventTime");

    let mut e = run_event();
    e["run"]["facets"] = json!({"errorMessage": {"_producer": "p", "_schemaURL": "s", "message": "boom"}});
    assert_eq!(refused(e).pointer, "/run/facets/errorMessage/programmingLanguage");

    let mut e = run_event();
    e["run"]["facets"] = json!({"parent": {"_producer": "p", "_schemaURL": "s", "run": {"runId": "x"}}});
    assert_eq!(refused(e).pointer, "/run/facets/parent/job");

    let mut e = run_event();
    e["inputs"] = json!([{"namespace": "pg"}]);
    assert_eq!(refused(e).pointer, "/inputs/0/name");

    let err = refused(json!(["not", "an", "object"]));
    assert_eq!(err.pointer, "");

    let err = parse_lineage(b"{\"eventType\": ").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.message.contains("not valid JSON"));
}

#[test]
fn dataset_and_job_events_are_unsupported_not_invalid() {
    let dataset = json!({"eventTime": "2024-05-01T12:00:00Z", "producer": "p", "schemaURL": "s",
                         "dataset": {"namespace": "pg", "name": "t"}});
    assert_eq!(refused(dataset).kind, ErrorKind::Unsupported);
    let job = json!({"eventTime": "2024-05-01T12:00:00Z", "producer": "p", "schemaURL": "s",
                     "job": {"namespace": "n", "name": "j"}});
    let err = refused(job);
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("JobEvent"));
}

#[test]
fn other_event_type_and_missing_type_carry_no_state() {
    let mut e = run_event();
    e["eventType"] = json!("OTHER");
    assert_eq!(parse_lineage(&bytes(&e)).unwrap().state, None);
    e.as_object_mut().unwrap().remove("eventType");
    let run = parse_lineage(&bytes(&e)).unwrap();
    assert_eq!(run.state, None);
    assert!(run.meta.key.to_string().contains(":OTHER:"));
}

#[test]
fn idempotency_key_is_run_type_and_instant() {
    let a = parse_lineage(&bytes(&run_event())).unwrap();
    let mut same = run_event();
    same["eventTime"] = json!("2024-05-01T14:00:00+02:00");
    same["job"]["name"] = json!("renamed");
    let b = parse_lineage(&bytes(&same)).unwrap();
    assert_eq!(a.meta.key, b.meta.key);
    let mut later = run_event();
    later["eventType"] = json!("COMPLETE");
    let c = parse_lineage(&bytes(&later)).unwrap();
    assert_ne!(a.meta.key, c.meta.key);
    match &a.meta.key {
        IdempotencyKey::OpenLineage { event_type, .. } => assert_eq!(event_type, "START"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_is_judged_per_event() {
    let mut bad = run_event();
    bad["eventType"] = json!("NOPE");
    let body = bytes(&json!([
        run_event(),
        bad,
        golden_json("openlineage/example_full_event.json")
    ]));
    let results = parse_lineage_batch(&body).unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().pointer, "/1/eventType");
    assert!(results[2].is_ok());

    let err = parse_lineage_batch(&bytes(&run_event())).unwrap_err();
    assert_eq!(err.pointer, "");
    assert!(err.message.contains("must be a JSON array"), "{}", err.message);

    assert!(parse_lineage_batch(b"[]").unwrap().is_empty());
}
