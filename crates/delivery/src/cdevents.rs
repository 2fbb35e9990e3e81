//! CDEvents 0.4 and 0.5: the thirteen types Bearing takes, validated and normalised.
//!
//! A CDEvent travels as a CloudEvent's `data` (cdevents/spec `cloudevents-binding.md`: "The
//! CloudEvents Event Data MUST include the full CDEvents, i.e. context, subject and any custom
//! data"), so this module sees `{context, subject, customData?}`; pointers here are relative to
//! it, and [`crate::cloudevents`] puts them under `/data`. The type decides the schema: CDEvents
//! 0.4 versions these types `0.2.0`, 0.5 versions them `0.3.0`, and the spec version field
//! (`context.version` in 0.4, `context.specversion` in 0.5) must be of the same release.

use crate::error::EventError;
use crate::limits::{self, Keeper, MAX_LINKS, MAX_MESSAGE_CHARS};
use crate::model::{
    BuildEvent, ChangeEvent, DeliveryEvent, DeploymentAction, DeploymentEvent, EventMeta, IdempotencyKey,
    IncidentEvent, IncidentState, Origin, QualifiedName, RunError, RunEvent, RunKind, RunRef, RunState, SubjectRef,
};
use crate::schema::{self, shown};
use crate::timestamp::{self, Leniency};
use serde_json::Value;

/// The CDEvents types Bearing takes, without version.
pub const TYPES: [&str; 13] = [
    "pipelinerun.queued",
    "pipelinerun.started",
    "pipelinerun.finished",
    "taskrun.started",
    "taskrun.finished",
    "service.deployed",
    "service.upgraded",
    "service.rolledback",
    "service.removed",
    "change.merged",
    "incident.detected",
    "incident.resolved",
    "build.finished",
];

/// What the CloudEvent around the CDEvent says; the binding requires its `id`, `source` and
/// `type` to be the CDEvent's own.
pub(crate) struct Envelope<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub ty: &'a str,
    /// The CloudEvent in structured form, to keep as the raw event.
    pub raw: Value,
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Validates and normalises one CDEvent (`data`), carried by `envelope`.
pub(crate) fn parse_cdevent(data: &Value, envelope: Envelope<'_>) -> Result<DeliveryEvent, EventError> {
    if !data.is_object() {
        return Err(EventError::invalid(
            "",
            "a CDEvent must be a JSON object with context and subject",
            "send the whole CDEvent ({\"context\": …, \"subject\": …}) as the CloudEvent's data",
        ));
    }
    let ty = str_at(data, "/context/type").unwrap_or(envelope.ty);
    let Some(cd_schema) = schema::CDEVENT_TYPES.get(ty) else {
        return Err(unknown_type(ty));
    };
    let what = format!("CDEvents {} {ty}", cd_schema.release);
    schema::check(&cd_schema.validator, data, &what)?;

    let version_field = if cd_schema.release == "0.4" {
        "version"
    } else {
        "specversion"
    };
    let version_at = format!("/context/{version_field}");
    let spec_version = str_at(data, &version_at).unwrap_or_default();
    if !spec_version.starts_with(&format!("{}.", cd_schema.release)) {
        return Err(EventError::unsupported(
            version_at,
            format!(
                "CDEvents spec version {} does not match type {ty} (CDEvents {})",
                shown(&Value::from(spec_version)),
                cd_schema.release
            ),
            format!(
                "send context.{version_field} \"{}.x\" with this type, or the type's version from your spec release",
                cd_schema.release
            ),
        ));
    }
    for (field, outer) in [("id", envelope.id), ("source", envelope.source), ("type", envelope.ty)] {
        let inner = str_at(data, &format!("/context/{field}")).unwrap_or_default();
        if inner != outer {
            return Err(EventError::invalid(
                format!("/context/{field}"),
                format!(
                    "context.{field} {} differs from the CloudEvent's {field} {}",
                    shown(&Value::from(inner)),
                    shown(&Value::from(outer))
                ),
                format!("set the CloudEvent {field} to the CDEvent's context.{field} (CDEvents CloudEvents binding)"),
            ));
        }
    }
    limits::check_id("/context/id", envelope.id)?;
    limits::check_id("/context/source", envelope.source)?;
    let subject_id = str_at(data, "/subject/id").unwrap_or_default();
    limits::check_id("/subject/id", subject_id)?;
    let time = timestamp::parse(
        "/context/timestamp",
        str_at(data, "/context/timestamp").unwrap_or_default(),
        Leniency::Rfc3339,
    )?;

    let mut keep = Keeper::default();
    let related: Vec<String> = data
        .pointer("/context/links")
        .and_then(Value::as_array)
        .map(|links| {
            links
                .iter()
                .filter(|l| str_at(l, "/linkType") == Some("RELATION"))
                .filter_map(|l| str_at(l, "/target/contextId"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let related = keep.list("/context/links", related, MAX_LINKS);
    let related: Vec<String> = related
        .into_iter()
        .enumerate()
        .map(|(i, r)| keep.name(&format!("/context/links/{i}"), &r))
        .collect();
    let chain_id = str_at(data, "/context/chainId").map(|c| keep.name("/context/chainId", c));
    let subject = SubjectRef {
        id: subject_id.to_string(),
        source: str_at(data, "/subject/source").map(|s| keep.name("/subject/source", s)),
    };
    let short = short_type(ty);
    let meta = move |keep: Keeper| EventMeta {
        key: IdempotencyKey::CloudEvent {
            source: envelope.source.to_string(),
            id: envelope.id.to_string(),
        },
        time,
        origin: Origin::CdEvents {
            spec_version: spec_version.to_string(),
            event_type: ty.to_string(),
            chain_id,
            related,
        },
        truncated: keep.truncated,
        raw: envelope.raw,
    };
    let content = |k: &mut Keeper, field: &str| {
        data.pointer(&format!("/subject/content/{field}")).map(|v| SubjectRef {
            id: k.name(
                &format!("/subject/content/{field}/id"),
                str_at(v, "/id").unwrap_or_default(),
            ),
            source: str_at(v, "/source").map(|s| k.name(&format!("/subject/content/{field}/source"), s)),
        })
    };
    let artifact =
        |k: &mut Keeper| str_at(data, "/subject/content/artifactId").map(|a| k.name("/subject/content/artifactId", a));

    let event = match short {
        "pipelinerun.queued"
        | "pipelinerun.started"
        | "pipelinerun.finished"
        | "taskrun.started"
        | "taskrun.finished" => {
            let (kind, name_field) = if short.starts_with("pipelinerun") {
                (RunKind::PipelineRun, "pipelineName")
            } else {
                (RunKind::TaskRun, "taskName")
            };
            let name = str_at(data, &format!("/subject/content/{name_field}")).unwrap_or(subject_id);
            let namespace = subject.source.clone().unwrap_or_else(|| envelope.source.to_string());
            let (state, error) = match short.rsplit('.').next() {
                Some("queued") => (RunState::Queued, None),
                Some("started") => (RunState::Started, None),
                _ => finished(&mut keep, data),
            };
            let parent = data.pointer("/subject/content/pipelineRun").map(|p| RunRef {
                run_id: keep.name("/subject/content/pipelineRun/id", str_at(p, "/id").unwrap_or_default()),
                job: None,
                source: str_at(p, "/source").map(|s| keep.name("/subject/content/pipelineRun/source", s)),
            });
            let job = QualifiedName {
                namespace: keep.name("/subject/source", &namespace),
                name: keep.name(&format!("/subject/content/{name_field}"), name),
            };
            DeliveryEvent::Run(RunEvent {
                kind,
                run_id: subject.id.clone(),
                job,
                state: Some(state),
                parent,
                root: None,
                error,
                nominal_time: None,
                job_dependencies: Default::default(),
                inputs: Vec::new(),
                outputs: Vec::new(),
                facets: Vec::new(),
                meta: meta(keep),
            })
        }
        "service.deployed" | "service.upgraded" | "service.rolledback" | "service.removed" => {
            let action = match short {
                "service.deployed" => DeploymentAction::Deployed,
                "service.upgraded" => DeploymentAction::Upgraded,
                "service.rolledback" => DeploymentAction::RolledBack,
                _ => DeploymentAction::Removed,
            };
            let environment = content(&mut keep, "environment").unwrap_or(SubjectRef {
                id: String::new(),
                source: None,
            });
            let artifact_id = artifact(&mut keep);
            DeliveryEvent::Deployment(DeploymentEvent {
                action,
                service: subject,
                environment,
                artifact_id,
                meta: meta(keep),
            })
        }
        "change.merged" => {
            let repository = content(&mut keep, "repository");
            DeliveryEvent::Change(ChangeEvent {
                change: subject,
                repository,
                meta: meta(keep),
            })
        }
        "incident.detected" | "incident.resolved" => {
            let state = if short == "incident.detected" {
                IncidentState::Detected
            } else {
                IncidentState::Resolved
            };
            let environment = content(&mut keep, "environment").unwrap_or(SubjectRef {
                id: String::new(),
                source: None,
            });
            let service = content(&mut keep, "service");
            let description = str_at(data, "/subject/content/description")
                .map(|d| keep.text("/subject/content/description", d, MAX_MESSAGE_CHARS));
            let artifact_id = artifact(&mut keep);
            DeliveryEvent::Incident(IncidentEvent {
                state,
                incident: subject,
                description,
                environment,
                service,
                artifact_id,
                meta: meta(keep),
            })
        }
        _ => {
            let artifact_id = artifact(&mut keep);
            DeliveryEvent::Build(BuildEvent {
                build: subject,
                artifact_id,
                meta: meta(keep),
            })
        }
    };
    Ok(event)
}

/// `service.deployed` of `dev.cdevents.service.deployed.0.3.0`.
fn short_type(ty: &str) -> &str {
    let rest = ty.strip_prefix("dev.cdevents.").unwrap_or(ty);
    let mut dots = rest.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &rest[..second],
        _ => rest,
    }
}

/// The state and error of a `*.finished` run from `outcome` and `errors`.
fn finished(keep: &mut Keeper, data: &Value) -> (RunState, Option<RunError>) {
    let outcome = str_at(data, "/subject/content/outcome");
    let errors = str_at(data, "/subject/content/errors");
    let state = match (outcome, errors) {
        (Some("success"), _) => RunState::Complete,
        (Some("cancel" | "canceled" | "cancelled"), _) => RunState::Abort,
        (None, None) => RunState::Complete,
        // `failure`, `error`, an outcome outside the 0.5 enum (0.4's is free text), or errors
        // without an outcome: not a success.
        _ => RunState::Fail,
    };
    let error = (state != RunState::Complete || errors.is_some()).then(|| RunError {
        message: errors.map(|e| keep.text("/subject/content/errors", e, MAX_MESSAGE_CHARS)),
        stack_trace: None,
        language: None,
        outcome: outcome.map(|o| keep.name("/subject/content/outcome", o)),
    });
    (state, error)
}

fn unknown_type(ty: &str) -> EventError {
    let short = short_type(ty);
    if TYPES.contains(&short) {
        let versions: Vec<&str> = schema::CDEVENT_TYPES
            .keys()
            .filter(|k| short_type(k) == short)
            .map(String::as_str)
            .collect();
        EventError::unsupported(
            "/context/type",
            format!("{} is not a version of {short} Bearing knows", shown(&Value::from(ty))),
            format!("send one of {} (CDEvents 0.4 and 0.5)", versions.join(", ")),
        )
    } else {
        EventError::unsupported(
            "/context/type",
            format!("CDEvent type {} is not one Bearing records", shown(&Value::from(ty))),
            format!(
                "Bearing records dev.cdevents.{{{}}}; send other events elsewhere",
                TYPES.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_types() {
        assert_eq!(short_type("dev.cdevents.service.deployed.0.3.0"), "service.deployed");
        assert_eq!(short_type("dev.cdevents.x"), "x");
        assert_eq!(short_type(""), "");
    }
}
