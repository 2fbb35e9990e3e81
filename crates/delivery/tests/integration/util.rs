//! Helpers: golden files, and CloudEvents around a CDEvent.

use serde_json::{json, Value};

/// A file under `tests/golden/`.
#[track_caller]
pub fn golden(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/golden/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A golden file as JSON.
#[track_caller]
pub fn golden_json(path: &str) -> Value {
    serde_json::from_slice(&golden(path)).expect("golden file is JSON")
}

/// The 13 conformance files of a CDEvents release (`0.4.1`, `0.5.1`), as (file stem, CDEvent).
pub fn cdevents_release(release: &str) -> Vec<(String, Value)> {
    let dir = format!("{}/tests/golden/cdevents/{release}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("JSON");
            (stem, value)
        })
        .collect()
}

/// The CloudEvent (JSON format) carrying `cdevent`, attributes as the binding requires.
pub fn cloudevent(cdevent: &Value) -> Value {
    let c = &cdevent["context"];
    json!({
        "specversion": "1.0",
        "id": c["id"],
        "source": c["source"],
        "type": c["type"],
        "subject": cdevent["subject"]["id"],
        "time": c["timestamp"],
        "datacontenttype": "application/json",
        "data": cdevent,
    })
}

/// The `ce-*` headers of binary mode for `cdevent`.
pub fn binary_headers(cdevent: &Value) -> Vec<(String, String)> {
    let c = &cdevent["context"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    vec![
        ("ce-specversion".into(), "1.0".into()),
        ("ce-id".into(), s(&c["id"])),
        ("ce-source".into(), s(&c["source"])),
        ("ce-type".into(), s(&c["type"])),
        ("ce-time".into(), s(&c["timestamp"])),
    ]
}

/// A minimal valid OpenLineage RunEvent.
pub fn run_event() -> Value {
    json!({
        "eventType": "START",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e"},
        "job": {"namespace": "airflow", "name": "billing.nightly"}
    })
}

pub fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialise")
}
