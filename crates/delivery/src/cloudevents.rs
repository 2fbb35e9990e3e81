//! CloudEvents 1.0 over HTTP, in its three content modes, carrying CDEvents.
//!
//! - structured: `Content-Type: application/cloudevents+json`, the body one event in the JSON
//!   format (`data`, or `data_base64` holding JSON);
//! - batch: `Content-Type: application/cloudevents-batch+json`, the body a JSON array of such
//!   events;
//! - binary: the attributes in `ce-*` headers (values percent-decoded, as the HTTP binding
//!   §3.1.3.2 asks), the body the event's `data`, `Content-Type: application/json`.
//!
//! A small envelope of our own, not the `cloudevents-sdk` crate (0.9): the SDK has no pointer
//! for a bad attribute (its serde errors say what, not where), reads batches and binary mode
//! only through its reqwest/http bindings (which bring `http`, `async-trait`, `futures`), and
//! carries `chrono` and `url` where Bearing uses `time`. Here the envelope is checked against
//! CloudEvents' own JSON schema (`schemas/cloudevents/cloudevents.json`), then `specversion` must
//! be `1.0`, the data JSON, and the type a CDEvent.
//!
//! Structured and binary requests carry one event: any error refuses the request. A batch is
//! judged per event, like the OpenLineage batch: only a body that is not an array of at most
//! [`MAX_BATCH_EVENTS`] is refused whole.

use crate::cdevents::{self, Envelope};
use crate::error::EventError;
use crate::limits::{self, MAX_BATCH_EVENTS};
use crate::model::DeliveryEvent;
use crate::schema;
use base64::Engine as _;
use serde_json::{Map, Value};

const STRUCTURED: &str = "application/cloudevents+json";
const BATCH: &str = "application/cloudevents-batch+json";
const MODES_HINT: &str = "send structured mode (Content-Type: application/cloudevents+json), batch mode \
    (application/cloudevents-batch+json), or binary mode (ce-specversion, ce-id, ce-source and ce-type \
    headers, the CDEvent as an application/json body)";

/// Parses the body of `POST /api/v1/cdevents`. `content_type` is the `Content-Type` header;
/// `headers` are the request's headers as `(name, value)` (any case; only `ce-*` are read).
///
/// Structured and binary mode give one result, and any error is the outer `Err`; batch mode
/// gives one result per event, errors pointing into the body (`/2/data/context/type`).
pub fn parse_cloudevents(
    content_type: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<Result<DeliveryEvent, EventError>>, EventError> {
    let media = content_type.map(media_type);
    match media.as_deref() {
        Some(STRUCTURED) => Ok(vec![Ok(structured(limits::parse_json(body)?)?)]),
        Some(BATCH) => batch(body),
        Some(m) if m.starts_with("application/cloudevents") => Err(EventError::unsupported(
            "",
            format!("CloudEvents event format {m:?} is not taken; only JSON is"),
            "send application/cloudevents+json or application/cloudevents-batch+json",
        )),
        _ if header(headers, "ce-specversion").is_some() => Ok(vec![Ok(binary(media.as_deref(), headers, body)?)]),
        _ => Err(EventError::unsupported(
            "",
            format!(
                "the request is not a CloudEvent: no ce-specversion header, and Content-Type is {}",
                content_type.map_or("absent".to_string(), |c| format!("{c:?}"))
            ),
            MODES_HINT,
        )),
    }
}

/// `application/cloudevents+json` of `Application/CloudEvents+JSON; charset=utf-8`.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media == "text/json" || media.ends_with("+json")
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn batch(body: &[u8]) -> Result<Vec<Result<DeliveryEvent, EventError>>, EventError> {
    let Value::Array(items) = limits::parse_json(body)? else {
        return Err(EventError::invalid(
            "",
            "a CloudEvents batch must be a JSON array of events",
            "wrap the events in [ … ], or send one event as application/cloudevents+json",
        ));
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
        .map(|(i, item)| structured(item).map_err(|e| e.under(&format!("/{i}"))))
        .collect())
}

/// One event in the JSON format; errors point into it.
fn structured(event: Value) -> Result<DeliveryEvent, EventError> {
    if !event.is_object() {
        return Err(EventError::invalid(
            "",
            "a CloudEvent must be a JSON object",
            MODES_HINT,
        ));
    }
    schema::check(&schema::CLOUDEVENT, &event, "CloudEvents 1.0 JSON format")?;
    check_attributes(&event)?;
    if event.get("data").is_some() && event.get("data_base64").is_some() {
        return Err(EventError::invalid(
            "/data_base64",
            "the CloudEvent has both data and data_base64",
            "send the CDEvent once, as JSON in \"data\" (CloudEvents JSON format §3.1)",
        ));
    }
    let (data, from_base64) = match (event.get("data"), event.get("data_base64").and_then(Value::as_str)) {
        (Some(data), _) => (data.clone(), false),
        (None, Some(encoded)) => (decode_base64(encoded)?, true),
        (None, None) => {
            return Err(EventError::invalid(
                "/data",
                "the CloudEvent has no data; a CDEvent travels as its data",
                "put the CDEvent ({\"context\": …, \"subject\": …}) in \"data\"",
            ))
        }
    };
    let envelope = Envelope {
        id: attr(&event, "id"),
        source: attr(&event, "source"),
        ty: attr(&event, "type"),
        raw: event.clone(),
    };
    cdevents::parse_cdevent(&data, envelope).map_err(|e| {
        if from_base64 {
            let inner = if e.pointer.is_empty() {
                "the top".to_string()
            } else {
                e.pointer.clone()
            };
            EventError {
                pointer: "/data_base64".into(),
                message: format!("in the decoded data at {inner}: {}", e.message),
                ..e
            }
        } else {
            e.under("/data")
        }
    })
}

fn attr<'v>(event: &'v Value, name: &str) -> &'v str {
    event.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// What the schema cannot say: version 1.0, JSON data, a CDEvents type.
fn check_attributes(event: &Value) -> Result<(), EventError> {
    let version = attr(event, "specversion");
    if version != "1.0" {
        return Err(EventError::unsupported(
            "/specversion",
            format!("CloudEvents specversion {version:?} is not supported"),
            "send specversion \"1.0\" (CDEvents require CloudEvents 1.0)",
        ));
    }
    if let Some(media) = event.get("datacontenttype").and_then(Value::as_str) {
        if !is_json(&media_type(media)) {
            return Err(EventError::unsupported(
                "/datacontenttype",
                format!("data of content type {media:?} is not taken"),
                "send the CDEvent as JSON: datacontenttype \"application/json\"",
            ));
        }
    }
    let ty = attr(event, "type");
    if !ty.starts_with("dev.cdevents.") {
        return Err(EventError::unsupported(
            "/type",
            format!("CloudEvent type {} is not a CDEvent", schema::shown(&Value::from(ty))),
            format!("send CDEvents: dev.cdevents.{{{}}}", cdevents::TYPES.join(", ")),
        ));
    }
    Ok(())
}

fn decode_base64(encoded: &str) -> Result<Value, EventError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| {
            EventError::invalid(
                "/data_base64",
                format!("data_base64 is not base64: {e}"),
                "encode the data as RFC 4648 base64, or send JSON in \"data\"",
            )
        })?;
    limits::parse_json(&bytes).map_err(|e| EventError {
        pointer: "/data_base64".into(),
        message: format!("the decoded data_base64: {}", e.message),
        ..e
    })
}

/// Binary mode: the attributes come from `ce-*` headers, the body is the data.
fn binary(media: Option<&str>, headers: &[(String, String)], body: &[u8]) -> Result<DeliveryEvent, EventError> {
    if let Some(m) = media.filter(|m| !is_json(m)) {
        return Err(EventError::unsupported(
            "",
            format!("header Content-Type: binary-mode data of type {m:?} is not taken"),
            "send the CDEvent as the body with Content-Type: application/json (CDEvents CloudEvents binding)",
        ));
    }
    let mut attributes = Map::new();
    for (name, value) in headers {
        let Some(attribute) = name
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("ce-"))
            .map(|_| name[3..].to_ascii_lowercase())
        else {
            continue;
        };
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8().map_err(|_| {
            EventError::invalid(
                "",
                format!("header {name}: its percent-encoding is not UTF-8"),
                "percent-encode header values as UTF-8 (CloudEvents HTTP binding §3.1.3.2)",
            )
        })?;
        if attributes
            .insert(attribute, Value::String(decoded.into_owned()))
            .is_some()
        {
            return Err(EventError::invalid(
                "",
                format!("header {name} is given twice"),
                "send each ce-* header once",
            ));
        }
    }
    if let Some(m) = media {
        attributes.insert("datacontenttype".into(), Value::String(m.to_string()));
    }
    let data = limits::parse_json(body)?;
    attributes.insert("data".into(), data);
    let event = Value::Object(attributes);
    structured(event).map_err(from_binary)
}

/// An error located in the structured form, located in the request: attributes are headers,
/// `/data…` is the body.
fn from_binary(e: EventError) -> EventError {
    if let Some(rest) = e.pointer.strip_prefix("/data") {
        if rest.is_empty() || rest.starts_with('/') {
            return EventError {
                pointer: rest.to_string(),
                ..e
            };
        }
    }
    let token = e.pointer.trim_start_matches('/').split('/').next().unwrap_or_default();
    if token.is_empty() {
        return e;
    }
    let attribute = token.replace("~1", "/").replace("~0", "~");
    let name = if attribute == "datacontenttype" {
        "Content-Type".to_string()
    } else {
        format!("ce-{attribute}")
    };
    let hint = if e.message.starts_with("required property") {
        format!("send the {name} header")
    } else {
        e.hint.clone()
    };
    EventError {
        pointer: String::new(),
        message: format!("header {name}: {}", e.message),
        hint,
        ..e
    }
}
