//! Policy writes to the configured control planes: [`app::ssr::control_plane::ControlPlaneWriter`]
//! over [`KumaClient`]. Where a resource type lives (`path`) and whether the API takes writes
//! (`readOnly`) come from the control plane's own `GET /_resources`, as Kuma's GUI reads them;
//! answers are read as Kuma's API server writes them (201 created / 200 updated with
//! `{"warnings": [...]}`, 405 when read-only, 400 with `invalid_parameters`).

use std::collections::HashMap;
use std::sync::Arc;

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
        Ok(Arc::new(Writer { clients, modes }))
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
            Ok(self
                .resource_type(control_plane, "MeshTrafficPermission")
                .await?
                .read_only)
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
