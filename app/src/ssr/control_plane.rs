//! Writes to Kuma control planes. The server owns the HTTP clients and their tokens; the
//! services in this crate reach them through [`ControlPlaneWriter`] in the [`super::ServerCtx`],
//! so the access check, the stored history and the audit row stay in the service that owns the
//! change, and tests can run it against kuma-sim or anything else.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::policy::PolicyMode;

/// What a write answers.
pub type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, WriteError>> + Send + 'a>>;

/// Writes Kuma resources (Kuma's `<Kind>Item` shape: type, mesh, name, labels, spec).
pub trait ControlPlaneWriter: Send + Sync + std::fmt::Debug {
    /// `PUT /meshes/{mesh}/{kind's path}/{name}`.
    fn put<'a>(&'a self, control_plane: &'a str, resource: &'a Value) -> WriteFuture<'a, Written>;

    /// `DELETE /meshes/{mesh}/{kind's path}/{name}`.
    fn delete<'a>(
        &'a self,
        control_plane: &'a str,
        mesh: &'a str,
        kind: &'a str,
        name: &'a str,
    ) -> WriteFuture<'a, Written>;

    /// Whether the control plane takes writes (`GET /_resources` says `readOnly`, as a
    /// Kubernetes-mode or zone control plane does).
    fn read_only<'a>(&'a self, control_plane: &'a str) -> WriteFuture<'a, bool>;

    /// What Bearing does with this control plane's policies (`--kuma-policy-mode`); `off` for a
    /// control plane it does not know.
    fn policy_mode(&self, control_plane: &str) -> PolicyMode;

    /// Whether any control plane is in `apply` mode (else nothing is ever applied on its own).
    fn applies_anywhere(&self) -> bool;
}

/// A write the control plane accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The resource did not exist before (201), rather than being replaced (200).
    pub created: bool,
    /// Kuma's `warnings` (deprecated forms and the like), shown to whoever applied it.
    pub warnings: Vec<String>,
}

/// Why a write did not happen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// No such control plane is configured in Bearing.
    #[error("no control plane named {0:?} is configured")]
    UnknownControlPlane(String),
    /// The control plane takes no writes (405): apply the resource with kubectl or GitOps.
    #[error("the control plane is read-only: {0}")]
    ReadOnly(String),
    /// The control plane refused the resource (400/422: Kuma's own validation), with its
    /// messages per field.
    #[error("the control plane refused the resource: {detail}")]
    Rejected {
        /// Kuma's `detail`.
        detail: String,
        /// `field: reason` per invalid parameter.
        invalid: Vec<String>,
    },
    /// Deleting something that is not there.
    #[error("the control plane has no such resource")]
    NotFound,
    /// Unreachable, timed out, or answered something else.
    #[error("the control plane could not be written to: {0}")]
    Unavailable(String),
}
