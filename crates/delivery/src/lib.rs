//! Delivery events in, normalised events out: the pure part of Bearing's event intake.
//!
//! The server accepts three endpoints and hands each request body here; nothing in this crate
//! does I/O.
//!
//! | endpoint | entry point | accepts |
//! | --- | --- | --- |
//! | `POST /api/v1/lineage` | [`parse_lineage`] | one OpenLineage 2 RunEvent, as `openlineage-python`'s HTTP transport sends it |
//! | `POST /api/v1/lineage/batch` | [`parse_lineage_batch`] | a JSON array of RunEvents (`spec/OpenLineage.yml`, `/lineage/batch`) |
//! | `POST /api/v1/cdevents` | [`parse_cloudevents`] | CDEvents 0.4/0.5 as CloudEvents 1.0: structured, binary or batch mode |
//!
//! Each event is validated against its specification's own JSON schema (vendored in `schemas/`,
//! resolved offline), then normalised into a [`DeliveryEvent`] that keeps the raw JSON for
//! storage ([`EventMeta::raw`]), an idempotency key ([`IdempotencyKey`]) and the fields the
//! server projects into runs, deployments, changes and incidents.
//!
//! **Batches are judged per event.** Only a body that is not JSON, not an array, nested deeper
//! than [`limits::MAX_DEPTH`] or longer than [`limits::MAX_BATCH_EVENTS`] is refused whole; otherwise each event is `Ok` or carries
//! its own [`EventError`], whose pointer names its index. This matches OpenLineage's batch
//! contract (answer `200` with `partial_success` and `failed_events[{index, reason}]`) and lets
//! the client's retry resend only what failed. Single-event requests are all or nothing.
//!
//! **Everything from outside is hostile.** Nesting, batch length and identifier length are
//! bounded, names and messages are cut with a marker and the cut is recorded; see [`limits`].
//! Errors point at the field (RFC 6901), say what is wrong and how to fix it; no input panics.
//!
//! ```
//! let body = br#"{
//!   "eventType": "START", "eventTime": "2024-05-01T12:00:00Z",
//!   "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
//!   "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
//!   "run": {"runId": "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e"},
//!   "job": {"namespace": "airflow", "name": "billing.nightly"}
//! }"#;
//! let run = bearing_delivery::parse_lineage(body).unwrap();
//! assert_eq!(run.job.name, "billing.nightly");
//! assert_eq!(run.state, Some(bearing_delivery::RunState::Started));
//!
//! let bad = br#"{"eventType": "BEGIN", "eventTime": "2024-05-01T12:00:00Z", "producer": "p",
//!   "schemaURL": "s", "run": {"runId": "0190d1c6-0c6a-7b4e-9d5e-3f1a2b3c4d5e"},
//!   "job": {"namespace": "airflow", "name": "x"}}"#;
//! let e = bearing_delivery::parse_lineage(bad).unwrap_err();
//! assert_eq!(e.pointer, "/eventType");
//! ```

#![deny(missing_docs)]

mod cdevents;
mod cloudevents;
mod error;
pub mod limits;
mod lineage;
mod model;
mod schema;
mod timestamp;

pub use cdevents::TYPES as CDEVENT_TYPES;
pub use cloudevents::parse_cloudevents;
pub use error::{ErrorKind, EventError, Problem};
pub use limits::Truncation;
pub use lineage::{parse_lineage, parse_lineage_batch};
pub use model::{
    BuildEvent, ChangeEvent, DeliveryEvent, DeploymentAction, DeploymentEvent, EventMeta, IdempotencyKey,
    IncidentEvent, IncidentState, JobDependencies, JobDependency, NominalTime, Origin, QualifiedName, RunError,
    RunEvent, RunKind, RunRef, RunState, SubjectRef,
};
pub use schema::prepare;
