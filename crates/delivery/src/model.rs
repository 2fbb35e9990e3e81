//! The normalised events: what the server stores and projects, whichever specification they
//! came in.
//!
//! Every event carries [`EventMeta`]: its idempotency key, its time, where it came from, what
//! was cut, and the raw validated JSON to store as sent. The rest is the part Bearing projects:
//! runs (OpenLineage runs, CDEvents pipeline and task runs), deployments, changes, incidents and
//! builds. Strings here are already bounded (see [`crate::limits`]).

mod run;

pub use run::{JobDependencies, JobDependency, NominalTime, RunError, RunEvent, RunKind, RunRef, RunState};

use crate::limits::Truncation;
use serde_json::Value;
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// One accepted event.
#[derive(Clone, Debug, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one event per request item, moved a few times; a Box would only make matching clumsier"
)]
pub enum DeliveryEvent {
    /// A run changed state or reported metadata: OpenLineage RunEvent, CDEvents
    /// `pipelinerun.*` and `taskrun.*`.
    Run(RunEvent),
    /// CDEvents `service.deployed/upgraded/rolledback/removed`.
    Deployment(DeploymentEvent),
    /// CDEvents `change.merged`.
    Change(ChangeEvent),
    /// CDEvents `incident.detected/resolved`.
    Incident(IncidentEvent),
    /// CDEvents `build.finished`.
    Build(BuildEvent),
}

impl DeliveryEvent {
    /// What every event has.
    pub fn meta(&self) -> &EventMeta {
        match self {
            Self::Run(e) => &e.meta,
            Self::Deployment(e) => &e.meta,
            Self::Change(e) => &e.meta,
            Self::Incident(e) => &e.meta,
            Self::Build(e) => &e.meta,
        }
    }
}

/// What every event has.
#[derive(Clone, Debug, PartialEq)]
pub struct EventMeta {
    /// Two deliveries of the same event have the same key; store each key once.
    pub key: IdempotencyKey,
    /// When it happened (OpenLineage `eventTime`, CDEvents `context.timestamp`), as UTC or with
    /// the producer's offset.
    pub time: OffsetDateTime,
    /// Which specification and producer.
    pub origin: Origin,
    /// Values the normalised event keeps shorter than they came; empty when nothing was cut.
    pub truncated: Vec<Truncation>,
    /// The validated event as received: the OpenLineage RunEvent, or the CloudEvent in JSON
    /// structured form (binary mode: the `ce-*` attributes with the body as `data`).
    pub raw: Value,
}

/// Identifies one event across retries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IdempotencyKey {
    /// CloudEvents: `source` + `id` (unique per producer, CloudEvents 1.0 §3.1.1).
    CloudEvent {
        /// CloudEvents `source`.
        source: String,
        /// CloudEvents `id`.
        id: String,
    },
    /// OpenLineage: `run.runId` + `eventType` + `eventTime` (a run has one event of a type at
    /// a time; `eventTime` is compared as an instant, so `Z` and `+00:00` are the same).
    OpenLineage {
        /// `run.runId`.
        run_id: Uuid,
        /// `eventType` as sent (`OTHER` when absent).
        event_type: String,
        /// `eventTime`.
        event_time: OffsetDateTime,
    },
}

/// One string per key, unambiguous, for a unique index: `ce:<len(source)>:<source><id>` or
/// `ol:<runId>:<eventType>:<unix nanoseconds>`.
impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CloudEvent { source, id } => write!(f, "ce:{}:{source}{id}", source.len()),
            Self::OpenLineage {
                run_id,
                event_type,
                event_time,
            } => {
                write!(f, "ol:{run_id}:{event_type}:{}", event_time.unix_timestamp_nanos())
            }
        }
    }
}

/// Which specification an event came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An OpenLineage 2 RunEvent.
    OpenLineage {
        /// `producer` (the integration's URI), cut to a name's length.
        producer: String,
    },
    /// A CDEvent carried by a CloudEvent.
    CdEvents {
        /// `context.specversion` (0.5) or `context.version` (0.4): `0.5.1`.
        spec_version: String,
        /// `context.type`: `dev.cdevents.service.deployed.0.3.0`.
        event_type: String,
        /// `context.chainId`: every event of one activity (a change merged, built, deployed)
        /// shares it. This is how CDEvents 0.4/0.5 tie a `change.merged` to the deployment it
        /// led to; neither has a commit or artifact field on `change.merged`.
        chain_id: Option<String>,
        /// `context.links` of type `RELATION`: the `contextId`s this event names as related
        /// (kept up to [`crate::limits::MAX_LINKS`]).
        related: Vec<String>,
    },
}

/// A namespaced name: an OpenLineage job or dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QualifiedName {
    /// `namespace` (for CDEvents runs: the subject's `source`, else the event's).
    pub namespace: String,
    /// `name`.
    pub name: String,
}

/// A CDEvents subject reference: `{id, source}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRef {
    /// `id`, unique within `source`.
    pub id: String,
    /// `source`, when given.
    pub source: Option<String>,
}

/// What happened to a service in an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentAction {
    /// `service.deployed`: first deployment there.
    Deployed,
    /// `service.upgraded`: a new version replaced the old.
    Upgraded,
    /// `service.rolledback`: an older version replaced the current.
    RolledBack,
    /// `service.removed`.
    Removed,
}

/// CDEvents `service.*`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentEvent {
    /// Key, time, origin, raw JSON.
    pub meta: EventMeta,
    /// Which.
    pub action: DeploymentAction,
    /// The service (`subject.id`/`subject.source`); maps to a catalog component.
    pub service: SubjectRef,
    /// `content.environment`.
    pub environment: SubjectRef,
    /// `content.artifactId` (a purl); absent on `service.removed`.
    pub artifact_id: Option<String>,
}

/// CDEvents `change.merged`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    /// Key, time, origin, raw JSON. A merged change names no commit or artifact in CDEvents
    /// 0.4/0.5; follow [`Origin::CdEvents`] `chain_id` and `related` to its deployment.
    pub meta: EventMeta,
    /// The change (`subject.id`/`subject.source`: a pull request, a Gerrit change).
    pub change: SubjectRef,
    /// `content.repository`.
    pub repository: Option<SubjectRef>,
}

/// Incident state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentState {
    /// `incident.detected`.
    Detected,
    /// `incident.resolved`.
    Resolved,
}

/// CDEvents `incident.detected/resolved`.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEvent {
    /// Key, time, origin, raw JSON.
    pub meta: EventMeta,
    /// Which.
    pub state: IncidentState,
    /// The incident (`subject.id`/`subject.source`).
    pub incident: SubjectRef,
    /// `content.description` (cut to [`crate::limits::MAX_MESSAGE_CHARS`]).
    pub description: Option<String>,
    /// `content.environment`.
    pub environment: SubjectRef,
    /// `content.service`; maps to a catalog component.
    pub service: Option<SubjectRef>,
    /// `content.artifactId`: the version running when it happened.
    pub artifact_id: Option<String>,
}

/// CDEvents `build.finished`.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildEvent {
    /// Key, time, origin, raw JSON.
    pub meta: EventMeta,
    /// The build (`subject.id`/`subject.source`).
    pub build: SubjectRef,
    /// `content.artifactId`: what it produced.
    pub artifact_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous() {
        let a = IdempotencyKey::CloudEvent {
            source: "a:b".into(),
            id: "c".into(),
        };
        let b = IdempotencyKey::CloudEvent {
            source: "a".into(),
            id: "b:c".into(),
        };
        assert_ne!(a.to_string(), b.to_string());
        assert_eq!(a.to_string(), "ce:3:a:bc");
    }
}
