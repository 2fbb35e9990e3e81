//! OpenLineage RunEvents, as `openlineage-python`'s HTTP transport and the Java client send them.
//!
//! The transport POSTs one event as a JSON object, `Content-Type: application/json`, to
//! `api/v1/lineage` (`client/python/src/openlineage/client/transport/http.py`; gzip is the
//! server's concern). The batch endpoint is specified in `spec/OpenLineage.yml` (added by
//! OpenLineage PR #4109): `POST /lineage/batch` with a JSON array of events, answered `200` with
//! `{status: "success" | "partial_success", summary, failed_events: [{index, reason}]}`. Hence
//! [`parse_lineage_batch`] is per item: only a body that is not an array of at most
//! [`MAX_BATCH_EVENTS`] is refused whole.
//!
//! Each event is checked against OpenLineage 2-0-2's `RunEvent` definition, then the four facets
//! Bearing reads (`parent`, `errorMessage`, `nominalTime`, `jobDependencies`) against their own
//! schemas, then what a schema cannot say: `run.runId` must be a UUID and `eventTime` a time.
//! DatasetEvents and JobEvents (static lineage) are valid OpenLineage but carry no run; they are
//! refused as [`crate::ErrorKind::Unsupported`] so the server may answer them with a 2xx.

use crate::error::{escape_token, EventError};
use crate::limits::{self, Keeper, MAX_BATCH_EVENTS, MAX_DATASETS, MAX_JOB_DEPENDENCIES, MAX_LINKS};
use crate::model::{
    EventMeta, IdempotencyKey, JobDependencies, JobDependency, NominalTime, Origin, QualifiedName, RunError, RunEvent,
    RunKind, RunRef, RunState,
};
use crate::schema::{self, shown};
use crate::timestamp::{self, Leniency};
use serde_json::Value;
use uuid::Uuid;

const WHAT: &str = "OpenLineage 2-0-2 RunEvent";

/// Parses the body of `POST /api/v1/lineage`: one RunEvent.
pub fn parse_lineage(body: &[u8]) -> Result<RunEvent, EventError> {
    parse_run_event(limits::parse_json(body)?)
}

/// Parses the body of `POST /api/v1/lineage/batch`: a JSON array of RunEvents, each judged on
/// its own (the outer `Err` only when the body is not such an array). An item's error points
/// into the body (`/3/run/runId`).
pub fn parse_lineage_batch(body: &[u8]) -> Result<Vec<Result<RunEvent, EventError>>, EventError> {
    let items = match limits::parse_json(body)? {
        Value::Array(items) => items,
        other => {
            return Err(EventError::invalid(
                "",
                format!("a batch must be a JSON array of events, not {}", kind_of(&other)),
                "wrap the events in [ … ], or POST a single event to /api/v1/lineage",
            ))
        }
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(EventError::limit(
            "",
            format!(
                "the batch has {} events; at most {MAX_BATCH_EVENTS} are taken at once",
                items.len()
            ),
            format!("split it into batches of at most {MAX_BATCH_EVENTS}"),
        ));
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| parse_run_event(item).map_err(|e| e.under(&format!("/{i}"))))
        .collect())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Validates and normalises one RunEvent.
pub(crate) fn parse_run_event(event: Value) -> Result<RunEvent, EventError> {
    let Some(object) = event.as_object() else {
        return Err(EventError::invalid(
            "",
            format!("an OpenLineage event must be a JSON object, not {}", kind_of(&event)),
            "send the RunEvent object as the body",
        ));
    };
    if !object.contains_key("run") && (object.contains_key("dataset") || object.contains_key("job")) {
        let which = if object.contains_key("dataset") {
            "DatasetEvent"
        } else {
            "JobEvent"
        };
        return Err(EventError::unsupported(
            "",
            format!("this is an OpenLineage {which}; Bearing records RunEvents only"),
            "nothing to fix: static lineage is not recorded; send RunEvents (with run.runId) for runs",
        ));
    }
    schema::check(&schema::RUN_EVENT, &event, WHAT)?;
    if let Some(facets) = event.pointer("/run/facets") {
        for (name, validator) in schema::RUN_FACETS.iter() {
            if facets.get(*name).is_some() {
                schema::check(validator, facets, &format!("OpenLineage {name} run facet"))
                    .map_err(|e| e.under("/run/facets"))?;
            }
        }
    }
    normalise(event)
}

fn normalise(event: Value) -> Result<RunEvent, EventError> {
    let mut keep = Keeper::default();
    // The schema guarantees these are strings; `unwrap_or_default` only keeps this panic-free.
    let run_id_text = str_at(&event, "/run/runId").unwrap_or_default();
    let run_id = parse_uuid("/run/runId", run_id_text)?;
    let event_time_text = str_at(&event, "/eventTime").unwrap_or_default();
    let time = timestamp::parse("/eventTime", event_time_text, Leniency::NaiveUtc)?;
    let event_type = str_at(&event, "/eventType").unwrap_or("OTHER").to_string();
    let state = match event_type.as_str() {
        "START" => Some(RunState::Started),
        "RUNNING" => Some(RunState::Running),
        "COMPLETE" => Some(RunState::Complete),
        "FAIL" => Some(RunState::Fail),
        "ABORT" => Some(RunState::Abort),
        _ => None,
    };
    let job = QualifiedName {
        namespace: keep.name("/job/namespace", str_at(&event, "/job/namespace").unwrap_or_default()),
        name: keep.name("/job/name", str_at(&event, "/job/name").unwrap_or_default()),
    };
    let facets = event.pointer("/run/facets").and_then(Value::as_object);
    let facet = |name: &str| facets.and_then(|f| f.get(name));

    let parent = facet("parent")
        .map(|p| run_ref(&mut keep, p, "/run/facets/parent"))
        .transpose()?;
    let root = facet("parent")
        .and_then(|p| p.get("root"))
        .map(|r| run_ref(&mut keep, r, "/run/facets/parent/root"))
        .transpose()?;
    let error = facet("errorMessage").map(|e| {
        let at = "/run/facets/errorMessage";
        RunError {
            message: str_at(e, "/message").map(|m| keep.text(&format!("{at}/message"), m, limits::MAX_MESSAGE_CHARS)),
            stack_trace: str_at(e, "/stackTrace")
                .map(|s| keep.text(&format!("{at}/stackTrace"), s, limits::MAX_STACK_TRACE_CHARS)),
            language: str_at(e, "/programmingLanguage").map(|l| keep.name(&format!("{at}/programmingLanguage"), l)),
            outcome: None,
        }
    });
    let nominal_time = match facet("nominalTime") {
        None => None,
        Some(n) => Some(NominalTime {
            start: timestamp::parse(
                "/run/facets/nominalTime/nominalStartTime",
                str_at(n, "/nominalStartTime").unwrap_or_default(),
                Leniency::NaiveOrDate,
            )?,
            end: str_at(n, "/nominalEndTime")
                .map(|s| timestamp::parse("/run/facets/nominalTime/nominalEndTime", s, Leniency::NaiveOrDate))
                .transpose()?,
        }),
    };
    let job_dependencies = match facet("jobDependencies") {
        None => JobDependencies::default(),
        Some(d) => JobDependencies {
            upstream: dependencies(&mut keep, d, "upstream"),
            downstream: dependencies(&mut keep, d, "downstream"),
            trigger_rule: str_at(d, "/trigger_rule").map(|t| keep.name("/run/facets/jobDependencies/trigger_rule", t)),
        },
    };
    let inputs = datasets(&mut keep, &event, "inputs");
    let outputs = datasets(&mut keep, &event, "outputs");
    let facet_names: Vec<String> = facets
        .map(|f| {
            f.keys()
                .map(|k| keep.name(&format!("/run/facets/{}", escape_token(k)), k))
                .collect()
        })
        .unwrap_or_default();
    let facet_names = keep.list("/run/facets", facet_names, MAX_LINKS);
    let producer = keep.name("/producer", str_at(&event, "/producer").unwrap_or_default());

    Ok(RunEvent {
        kind: RunKind::Job,
        run_id: run_id.to_string(),
        job,
        state,
        parent,
        root,
        error,
        nominal_time,
        job_dependencies,
        inputs,
        outputs,
        facets: facet_names,
        meta: EventMeta {
            key: IdempotencyKey::OpenLineage {
                run_id,
                event_type,
                event_time: time,
            },
            time,
            origin: Origin::OpenLineage { producer },
            truncated: keep.truncated,
            raw: event,
        },
    })
}

fn parse_uuid(pointer: &str, text: &str) -> Result<Uuid, EventError> {
    Uuid::try_parse(text).map_err(|_| {
        EventError::invalid(
            pointer,
            format!("{} is not a UUID", shown(&Value::String(text.to_string()))),
            "OpenLineage run ids are UUIDs (format: uuid); generate one per run, e.g. a UUIDv7",
        )
    })
}

/// `{run: {runId}, job: {namespace, name}}` of the parent facet or its `root`.
fn run_ref(keep: &mut Keeper, value: &Value, at: &str) -> Result<RunRef, EventError> {
    let run_id = parse_uuid(
        &format!("{at}/run/runId"),
        str_at(value, "/run/runId").unwrap_or_default(),
    )?;
    let job = match (str_at(value, "/job/namespace"), str_at(value, "/job/name")) {
        (Some(namespace), Some(name)) => Some(QualifiedName {
            namespace: keep.name(&format!("{at}/job/namespace"), namespace),
            name: keep.name(&format!("{at}/job/name"), name),
        }),
        _ => None,
    };
    Ok(RunRef {
        run_id: run_id.to_string(),
        job,
        source: None,
    })
}

fn dependencies(keep: &mut Keeper, facet: &Value, side: &str) -> Vec<JobDependency> {
    let at = format!("/run/facets/jobDependencies/{side}");
    let Some(items) = facet.get(side).and_then(Value::as_array) else {
        return Vec::new();
    };
    let kept: Vec<&Value> = keep.list(&at, items.iter().collect(), MAX_JOB_DEPENDENCIES);
    kept.into_iter()
        .enumerate()
        .map(|(i, d)| JobDependency {
            job: QualifiedName {
                namespace: keep.name(
                    &format!("{at}/{i}/job/namespace"),
                    str_at(d, "/job/namespace").unwrap_or_default(),
                ),
                name: keep.name(
                    &format!("{at}/{i}/job/name"),
                    str_at(d, "/job/name").unwrap_or_default(),
                ),
            },
            run_id: str_at(d, "/run/runId").map(|r| keep.name(&format!("{at}/{i}/run/runId"), r)),
        })
        .collect()
}

fn datasets(keep: &mut Keeper, event: &Value, side: &str) -> Vec<QualifiedName> {
    let Some(items) = event.get(side).and_then(Value::as_array) else {
        return Vec::new();
    };
    let kept: Vec<&Value> = keep.list(&format!("/{side}"), items.iter().collect(), MAX_DATASETS);
    kept.into_iter()
        .enumerate()
        .map(|(i, d)| QualifiedName {
            namespace: keep.name(
                &format!("/{side}/{i}/namespace"),
                str_at(d, "/namespace").unwrap_or_default(),
            ),
            name: keep.name(&format!("/{side}/{i}/name"), str_at(d, "/name").unwrap_or_default()),
        })
        .collect()
}
