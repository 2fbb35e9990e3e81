//! Hostile input: too many events, depth bombs, over-long strings, garbage. Refused with a
//! pointer or cut with a marker; never a panic.

use crate::util::{bytes, cloudevent, golden_json, run_event};
use bearing_delivery::limits::{
    MAX_BATCH_EVENTS, MAX_DATASETS, MAX_DEPTH, MAX_ID_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, TRUNCATION_MARKER,
};
use bearing_delivery::{parse_cloudevents, parse_lineage, parse_lineage_batch, DeliveryEvent, ErrorKind, Truncation};
use serde_json::{json, Value};

const STRUCTURED: Option<&str> = Some("application/cloudevents+json");
const BATCH: Option<&str> = Some("application/cloudevents-batch+json");

#[test]
fn too_many_events_in_a_batch() {
    let events: Vec<Value> = (0..=MAX_BATCH_EVENTS).map(|_| run_event()).collect();
    let e = parse_lineage_batch(&bytes(&json!(events))).unwrap_err();
    assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Limit, ""));
    assert!(e.message.contains("1001 events"), "{}", e.message);
    // Exactly the bound is fine.
    assert_eq!(
        parse_lineage_batch(&bytes(&json!(events[1..]))).unwrap().len(),
        MAX_BATCH_EVENTS
    );

    let ce = cloudevent(&golden_json("cdevents/0.5.1/change_merged.json"));
    let many: Vec<Value> = (0..=MAX_BATCH_EVENTS).map(|_| ce.clone()).collect();
    let e = parse_cloudevents(BATCH, &[], &bytes(&json!(many))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
}

#[test]
fn depth_bombs_are_refused_without_overflowing_the_stack() {
    // Far past serde_json's own recursion limit.
    let bomb = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for result in [
        parse_lineage(bomb.as_bytes()).map(|_| ()),
        parse_lineage_batch(bomb.as_bytes()).map(|_| ()),
        parse_cloudevents(BATCH, &[], bomb.as_bytes()).map(|_| ()),
    ] {
        let e = result.unwrap_err();
        assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Limit, ""), "{e}");
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
    }

    // Under serde_json's limit but over Bearing's: the pointer names where.
    let mut event = run_event();
    let mut deep = json!("bottom");
    for _ in 0..MAX_DEPTH {
        deep = json!({"x": deep});
    }
    event["run"]["facets"] = json!({"custom": {"_producer": "p", "_schemaURL": "s", "nested": deep}});
    let e = parse_lineage(&bytes(&event)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.pointer.starts_with("/run/facets/custom/nested/x/x/"), "{}", e.pointer);
}

#[test]
fn over_long_names_and_messages_are_cut_with_a_marker_and_recorded() {
    let mut event = run_event();
    event["eventType"] = json!("FAIL");
    event["job"]["name"] = json!("j".repeat(MAX_NAME_CHARS + 100));
    event["run"]["facets"] = json!({"errorMessage": {
        "_producer": "p", "_schemaURL": "s", "programmingLanguage": "PYTHON",
        "message": "é".repeat(MAX_MESSAGE_CHARS * 2), "stackTrace": "short"}});
    event["inputs"] = json!((0..MAX_DATASETS + 5)
        .map(|i| json!({"namespace": "pg", "name": format!("t{i}")}))
        .collect::<Vec<_>>());
    let run = parse_lineage(&bytes(&event)).unwrap();

    assert_eq!(
        run.job.name,
        format!("{}{TRUNCATION_MARKER}", "j".repeat(MAX_NAME_CHARS))
    );
    let message = run.error.unwrap().message.unwrap();
    assert!(message.ends_with(TRUNCATION_MARKER));
    assert_eq!(
        message.chars().count(),
        MAX_MESSAGE_CHARS + TRUNCATION_MARKER.chars().count()
    );
    assert_eq!(run.inputs.len(), MAX_DATASETS);
    assert_eq!(
        run.meta.truncated,
        vec![
            Truncation {
                pointer: "/job/name".into(),
                original: MAX_NAME_CHARS + 100,
                kept: MAX_NAME_CHARS
            },
            Truncation {
                pointer: "/run/facets/errorMessage/message".into(),
                original: MAX_MESSAGE_CHARS * 2,
                kept: MAX_MESSAGE_CHARS
            },
            Truncation {
                pointer: "/inputs".into(),
                original: MAX_DATASETS + 5,
                kept: MAX_DATASETS
            },
        ]
    );
    // The raw event is kept whole.
    assert_eq!(
        run.meta.raw["job"]["name"].as_str().unwrap().len(),
        MAX_NAME_CHARS + 100
    );

    let mut incident = golden_json("cdevents/0.5.1/incident_detected.json");
    incident["subject"]["content"]["description"] = json!("d".repeat(MAX_MESSAGE_CHARS + 1));
    let results = parse_cloudevents(STRUCTURED, &[], &bytes(&cloudevent(&incident))).unwrap();
    let Ok(DeliveryEvent::Incident(i)) = &results[0] else {
        panic!("{results:?}")
    };
    assert!(i.description.as_deref().unwrap().ends_with(TRUNCATION_MARKER));
    assert_eq!(i.meta.truncated[0].pointer, "/subject/content/description");
}

#[test]
fn over_long_identifiers_are_refused_not_cut() {
    let mut cdevent = golden_json("cdevents/0.5.1/build_finished.json");
    let long = "i".repeat(MAX_ID_CHARS + 1);
    cdevent["context"]["id"] = json!(long);
    let e = parse_cloudevents(STRUCTURED, &[], &bytes(&cloudevent(&cdevent))).unwrap_err();
    assert_eq!((e.kind, e.pointer.as_str()), (ErrorKind::Limit, "/data/context/id"));
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 9] = [
        b"",
        b"\xff\xfe",
        b"null",
        b"42",
        b"\"x\"",
        b"{}",
        b"[{}]",
        b"{\"run\": null, \"job\": []}",
        b"{\"specversion\": \"1.0\", \"id\": \"\", \"source\": \"\", \"type\": \"\"}",
    ];
    let headers = vec![
        ("ce-specversion".to_string(), "1.0".to_string()),
        ("ce-id".to_string(), "%ZZ".to_string()),
    ];
    for body in inputs {
        assert!(parse_lineage(body).is_err());
        let _ = parse_lineage_batch(body);
        for ct in [STRUCTURED, BATCH, Some("application/json"), None] {
            let _ = parse_cloudevents(ct, &headers, body);
            let _ = parse_cloudevents(ct, &[], body);
        }
    }
}
