//! Policy writes to the configured control planes: [`app::ssr::control_plane::ControlPlaneWriter`]
//! over [`KumaClient`]. Where a resource type lives (`path`) and whether the API takes writes
//! (`readOnly`) come from the control plane's own `GET /_resources`, as Kuma's GUI reads them;
//! answers are read as Kuma's API server writes them (201 created / 200 updated with
//! `{"warnings": [...]}`, 405 when read-only, 400 with `invalid_parameters`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::policy::PolicyMode;
use app::ssr::control_plane::{ControlPlaneWriter, WriteError, WriteFuture, Written};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::KumaClient;
use crate::config::kuma::ControlPlane;
use crate::config::KumaArgs;

/// The configured control planes, by name.
#[derive(Clone, Default)]
pub struct Writer {
    clients: HashMap<String, KumaClient>,
    modes: HashMap<String, PolicyMode>,
    read_only: Arc<ReadOnlyAnswers>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("control_planes", &self.modes).finish()
    }
}

impl Writer {
    /// Clients for `control_planes`, timed and capped like the poller's.
    pub fn new(control_planes: &[ControlPlane], args: &KumaArgs) -> anyhow::Result<Arc<Writer>> {
        let mut clients = HashMap::new();
        let mut modes = HashMap::new();
        for cp in control_planes {
            let client = KumaClient::new(&cp.url, cp.token.clone(), args.kuma_timeout, args.kuma_max_body_size)?;
            clients.insert(cp.name.clone(), client);
            modes.insert(cp.name.clone(), cp.policy_mode);
        }
        Ok(Arc::new(Writer {
            clients,
            modes,
            read_only: Arc::new(ReadOnlyAnswers::believed_for(args.kuma_read_only_recheck)),
        }))
    }

    fn client(&self, control_plane: &str) -> Result<&KumaClient, WriteError> {
        self.clients
            .get(control_plane)
            .ok_or_else(|| WriteError::UnknownControlPlane(control_plane.to_owned()))
    }

    /// The resource type `kind` as `GET /_resources` describes it.
    async fn resource_type(&self, control_plane: &str, kind: &str) -> Result<ResourceType, WriteError> {
        let types: ResourceTypes = self
            .client(control_plane)?
            .get(&["_resources"])
            .await
            .map_err(|e| WriteError::Unavailable(e.to_string()))?;
        types
            .resources
            .into_iter()
            .find(|t| t.name == kind)
            .ok_or_else(|| WriteError::Unavailable(format!("the control plane does not serve {kind}")))
    }
}

/// How long a failure to learn whether a control plane takes writes is remembered (at most):
/// pages show the apply buttons meanwhile (a write then says why it failed) instead of each
/// waiting out the control plane's timeout again.
const READ_ONLY_FAILURE_REMEMBERED: Duration = Duration::from_secs(10);

/// The latest answer of each control plane to "do you take writes?", believed for a while
/// (`--kuma-read-only-recheck`): the page of every component in a mesh asks, and asking the
/// control plane on each render cost a round trip per page, and every page the control plane's
/// timeout while it hung. Writes ask afresh.
#[derive(Debug, Default)]
struct ReadOnlyAnswers {
    believed: Duration,
    answers: Mutex<HashMap<String, Answer>>,
}

/// When a control plane answered, and what: read-only or not, or why there was no answer.
type Answer = (Instant, Result<bool, String>);

impl ReadOnlyAnswers {
    fn believed_for(believed: Duration) -> Self {
        ReadOnlyAnswers {
            believed,
            answers: Mutex::default(),
        }
    }

    /// The answer of `control_plane` if it is recent enough at `now`.
    fn recent(&self, control_plane: &str, now: Instant) -> Option<Result<bool, String>> {
        let answers = self.answers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (at, answer) = answers.get(control_plane)?;
        let believed = if answer.is_ok() {
            self.believed
        } else {
            self.believed.min(READ_ONLY_FAILURE_REMEMBERED)
        };
        (now.saturating_duration_since(*at) < believed).then(|| answer.clone())
    }

    fn remember(&self, control_plane: &str, answer: Result<bool, String>, now: Instant) {
        let mut answers = self.answers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        answers.insert(control_plane.to_owned(), (now, answer));
    }
}

/// `GET /_resources`.
#[derive(Deserialize)]
struct ResourceTypes {
    #[serde(default)]
    resources: Vec<ResourceType>,
}

#[derive(Deserialize)]
struct ResourceType {
    name: String,
    path: String,
    #[serde(default, rename = "readOnly")]
    read_only: bool,
}

/// Kuma's error document (`/std-errors`).
#[derive(Deserialize, Default)]
struct KumaError {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    invalid_parameters: Vec<InvalidParameter>,
}

#[derive(Deserialize)]
struct InvalidParameter {
    #[serde(default)]
    field: String,
    #[serde(default)]
    reason: String,
}

/// Longest piece of a control plane's answer quoted to the user.
const QUOTED: usize = 300;

fn quoted(text: &str) -> String {
    text.chars().take(QUOTED).collect()
}

/// A write's answer as Kuma's API server gives it.
fn outcome(status: u16, body: &str) -> Result<Written, WriteError> {
    match status {
        200 | 201 | 204 => {
            let warnings = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("warnings").cloned())
                .and_then(|w| serde_json::from_value::<Vec<String>>(w).ok())
                .unwrap_or_default();
            Ok(Written {
                created: status == 201,
                warnings: warnings.into_iter().take(20).map(|w| quoted(&w)).collect(),
            })
        }
        404 => Err(WriteError::NotFound),
        405 => {
            let e: KumaError = serde_json::from_str(body).unwrap_or_default();
            Err(WriteError::ReadOnly(quoted(e.detail.trim())))
        }
        400 | 422 => {
            let e: KumaError = serde_json::from_str(body).unwrap_or_default();
            Err(WriteError::Rejected {
                detail: quoted(&e.detail),
                invalid: e
                    .invalid_parameters
                    .iter()
                    .take(20)
                    .map(|p| quoted(&format!("{}: {}", p.field, p.reason)))
                    .collect(),
            })
        }
        other => Err(WriteError::Unavailable(format!("HTTP {other}: {}", quoted(body)))),
    }
}

impl ControlPlaneWriter for Writer {
    fn put<'a>(&'a self, control_plane: &'a str, resource: &'a Value) -> WriteFuture<'a, Written> {
        Box::pin(async move {
            let field = |name: &str| {
                resource
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| WriteError::Unavailable(format!("the resource has no {name}")))
            };
            let (kind, mesh, name) = (field("type")?, field("mesh")?, field("name")?);
            let t = self.resource_type(control_plane, kind).await?;
            if t.read_only {
                return Err(WriteError::ReadOnly("GET /_resources says readOnly".into()));
            }
            let (status, body) = self
                .client(control_plane)?
                .send_json(Method::PUT, &["meshes", mesh, &t.path, name], Some(resource))
                .await
                .map_err(|e| WriteError::Unavailable(e.to_string()))?;
            outcome(status, &body)
        })
    }

    fn delete<'a>(
        &'a self,
        control_plane: &'a str,
        mesh: &'a str,
        kind: &'a str,
        name: &'a str,
    ) -> WriteFuture<'a, Written> {
        Box::pin(async move {
            let t = self.resource_type(control_plane, kind).await?;
            if t.read_only {
                return Err(WriteError::ReadOnly("GET /_resources says readOnly".into()));
            }
            let (status, body) = self
                .client(control_plane)?
                .send_json(Method::DELETE, &["meshes", mesh, &t.path, name], None)
                .await
                .map_err(|e| WriteError::Unavailable(e.to_string()))?;
            outcome(status, &body)
        })
    }

    fn read_only<'a>(&'a self, control_plane: &'a str) -> WriteFuture<'a, bool> {
        Box::pin(async move {
            if let Some(answer) = self.read_only.recent(control_plane, Instant::now()) {
                return answer.map_err(WriteError::Unavailable);
            }
            let answer = self
                .resource_type(control_plane, "MeshTrafficPermission")
                .await
                .map(|t| t.read_only);
            let kept = answer.as_ref().copied().map_err(ToString::to_string);
            self.read_only.remember(control_plane, kept, Instant::now());
            answer
        })
    }

    fn policy_mode(&self, control_plane: &str) -> PolicyMode {
        self.modes.get(control_plane).copied().unwrap_or(PolicyMode::Off)
    }

    fn applies_anywhere(&self) -> bool {
        self.modes.values().any(|m| *m == PolicyMode::Apply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_answer_is_believed_for_a_minute_and_a_failure_for_ten_seconds() {
        let answers = ReadOnlyAnswers::believed_for(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(answers.recent("a", t0), None, "never asked");
        answers.remember("a", Ok(true), t0);
        answers.remember("b", Err("timed out".into()), t0);
        assert_eq!(answers.recent("a", t0 + Duration::from_secs(59)), Some(Ok(true)));
        assert_eq!(answers.recent("a", t0 + Duration::from_secs(61)), None, "asked again");
        assert_eq!(
            answers.recent("b", t0 + Duration::from_secs(9)),
            Some(Err("timed out".into()))
        );
        assert_eq!(answers.recent("b", t0 + Duration::from_secs(11)), None);

        let never = ReadOnlyAnswers::believed_for(Duration::ZERO);
        never.remember("a", Ok(true), t0);
        assert_eq!(
            never.recent("a", t0),
            None,
            "--kuma-read-only-recheck 0s asks every time"
        );
    }

    #[test]
    fn answers_read_as_kuma_writes_them() {
        assert_eq!(
            outcome(201, "{}"),
            Ok(Written {
                created: true,
                warnings: vec![]
            })
        );
        let updated = outcome(200, r#"{"warnings":["'from' is deprecated"]}"#).expect("ok");
        assert_eq!((updated.created, updated.warnings.len()), (false, 1));
        assert_eq!(
            outcome(405, r#"{"title":"Method not allowed","detail":"read only\n"}"#),
            Err(WriteError::ReadOnly("read only".into()))
        );
        let rejected = outcome(
            400,
            r#"{"detail":"Resource is not valid","invalid_parameters":[{"field":"spec.from","reason":"must not be empty"}]}"#,
        );
        assert_eq!(
            rejected,
            Err(WriteError::Rejected {
                detail: "Resource is not valid".into(),
                invalid: vec!["spec.from: must not be empty".into()]
            })
        );
        assert_eq!(outcome(404, ""), Err(WriteError::NotFound));
        assert!(matches!(outcome(502, "<html>"), Err(WriteError::Unavailable(_))));
    }
}
