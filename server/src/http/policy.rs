//! Policy follows the catalog: `GET /api/v1/mesh/edges`, every caller -> destination edge as
//! declared, observed and permitted, with its class (JSON or CSV); and a component's
//! MeshTrafficPermission previewed, applied and rolled back.

use app::auth::guard::Caller;
use app::policy::{
    edges, proposal, ApplyRequest, Edge, EdgeFilter, EdgeList, PolicyPreview, PolicyWriteResult, RollbackRequest,
};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use super::openapi::schemas::{ApiErrors, EntityPath};
use crate::state::AppState;

/// Query string of `GET /api/v1/mesh/edges`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EdgeParams {
    /// Only this mesh.
    #[param(example = "default")]
    mesh: Option<String>,
    /// Edges from or to this Kuma service.
    service: Option<String>,
    /// Edges from or to a component this team owns (`payments` or `group:default/payments`).
    team: Option<String>,
    /// Edges from or to this component (`component:default/orders`).
    component: Option<String>,
    /// Only these classes, comma-separated: `declared_denied`, `denied_unknown`, `will_break`,
    /// `shadow_denied`, `undeclared`, `over_permitted`, `unused_grant`, `healthy`.
    #[param(example = "declared_denied,will_break")]
    class: Option<String>,
    /// `json` (default) or `csv`: the same rows, every page, as RFC 4180 CSV with a header.
    format: Option<String>,
    /// Page size, 1-2000 (default 200). JSON only.
    #[param(minimum = 1, maximum = 2000)]
    limit: Option<u64>,
    /// Edges to skip (`next_offset` of the previous page). JSON only.
    offset: Option<u64>,
}

/// Every caller -> destination edge of the meshes: whether the catalog declares it, the traffic
/// Envoy observed on it within the window (`--kuma-observed-window`), what the traffic
/// permissions decide and whether that is enforced, and its class. Worst first.
#[utoipa::path(
    get,
    path = "/api/v1/mesh/edges",
    operation_id = "listMeshEdges",
    tag = "mesh",
    params(EdgeParams),
    responses(
        (status = 200, description = "One page of edges and the counts per class of all matching ones; \
          with `format=csv`, every matching edge as CSV",
         content((EdgeList = "application/json"), (String = "text/csv"))),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 422, description = "An unknown class, team or format, or a limit out of range", body = ApiErrors),
    ),
)]
pub async fn list_edges(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<EdgeParams>,
) -> ApiResult<Response> {
    let filter = EdgeFilter {
        mesh: params.mesh,
        service: params.service,
        team: params.team,
        class: params.class,
        component: params.component,
    };
    match params.format.as_deref() {
        None | Some("json") => {
            let list = edges::list(&state.ctx, &caller, &filter, params.offset.unwrap_or(0), params.limit).await?;
            Ok(Json(list).into_response())
        }
        Some("csv") => {
            let rows = edges::matching(&state.ctx, &caller, &filter).await?;
            let body = to_csv(&rows).map_err(|e| {
                tracing::error!(error = %e, "could not write the edges as CSV");
                ApiError::App(app::error::AppError::Internal)
            })?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"mesh-edges.csv\""),
                ],
                body,
            )
                .into_response())
        }
        Some(other) => Err(app::error::AppError::invalid(
            "format",
            format!(
                "must be json or csv, got {:?}",
                other.chars().take(20).collect::<String>()
            ),
        )
        .into()),
    }
}

/// Columns of the CSV, in order.
const CSV_HEADER: [&str; 19] = [
    "control_plane",
    "mesh",
    "from_service",
    "from_component",
    "to_service",
    "to_component",
    "class",
    "declared",
    "declared_via",
    "requests_per_s",
    "errors_per_s",
    "denied_per_s",
    "last_seen",
    "allowed",
    "enforced",
    "policy",
    "rule",
    "reason",
    "mtls",
];

/// The edges as CSV. Names come from catalog files and the control plane, so a cell a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`
/// (OWASP, "CSV injection").
pub fn to_csv(edges: &[Edge]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for e in edges {
        let observed = e.observed.as_ref();
        let number =
            |f: fn(&app::policy::ObservedTraffic) -> f64| observed.map(|o| f(o).to_string()).unwrap_or_default();
        let record: [String; 19] = [
            e.control_plane.clone(),
            e.mesh.clone(),
            e.from.service.clone(),
            e.from.component.clone().unwrap_or_default(),
            e.to.service.clone(),
            e.to.component.clone().unwrap_or_default(),
            e.class.clone(),
            e.declared.to_string(),
            e.declared_via.join("; "),
            number(|o| o.requests_per_s),
            number(|o| o.errors_per_s),
            number(|o| o.denied_per_s),
            observed.map(|o| o.last_seen.clone()).unwrap_or_default(),
            e.permitted.allowed.to_string(),
            e.permitted.enforced.to_string(),
            e.permitted.policy.clone().unwrap_or_default(),
            e.permitted.rule.clone().unwrap_or_default(),
            e.permitted.reason.clone(),
            e.mtls.to_string(),
        ];
        out.write_record(record.iter().map(|cell| defuse(cell).into_owned().into_bytes()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// `cell`, prefixed with `'` when a spreadsheet would take it for a formula.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::defuse;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-1+2"), "'-1+2");
        assert_eq!(defuse("orders"), "orders");
        assert_eq!(defuse("0.5"), "0.5");
    }
}

/// The component's MeshTrafficPermission: as it is in the mesh, the one Bearing proposes
/// (exactly the declared consumers may call it), the diff, whom it would deny or let in, and
/// whether Bearing can write it (`write_path`) or the Kubernetes manifest must be applied
/// instead.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy",
    operation_id = "getComponentPolicy",
    tag = "mesh",
    params(EntityPath, PolicyFormat),
    responses(
        (status = 200, description = "The preview; with `format=kubernetes` or `format=universal`, the proposed \
          policy as a YAML file to apply with kubectl or kumactl",
         content((PolicyPreview = "application/json"), (String = "application/yaml"))),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such component, or it is not in the mesh", body = ApiErrors),
        (status = 422, description = "Not a component", body = ApiErrors),
    ),
)]
pub async fn get_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Query(format): Query<PolicyFormat>,
) -> ApiResult<Response> {
    let preview = proposal::preview(&state.ctx, &caller, &kind, &namespace, &name).await?;
    let yaml = match format.format.as_deref() {
        None | Some("json") => return Ok(Json(preview).into_response()),
        Some("kubernetes") => preview.proposed.kubernetes_yaml,
        Some("universal") => preview.proposed.yaml,
        Some(other) => {
            return Err(app::error::AppError::invalid(
                "format",
                format!(
                    "must be json, kubernetes or universal, got {:?}",
                    other.chars().take(20).collect::<String>()
                ),
            )
            .into())
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/yaml; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.yaml\"", preview.proposed.name),
            ),
        ],
        yaml,
    )
        .into_response())
}

/// Query string of `GET .../policy`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyFormat {
    /// `json` (default), `kubernetes` (the manifest for kubectl or GitOps) or `universal`
    /// (for kumactl).
    format: Option<String>,
}

/// Applies the proposed policy to the control plane (a lead of the owning team, or an admin):
/// only if it is still the one previewed (`expected_hash`). With `shadow: true`, its shadow
/// phase instead (`shadow_phase` of the preview): everyone else still gets in, logged as denied. The previous policy is kept for
/// rollback and the change is audited with before and after.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/apply",
    operation_id = "applyComponentPolicy",
    tag = "mesh",
    params(EntityPath),
    request_body(content = ApplyRequest, example = json!({
        "reason": "only the declared consumers may call payments",
        "expected_hash": "3f9a0c1d2e4b5a69"
    })),
    responses(
        (status = 200, description = "Written; Kuma's warnings, if any", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component, or it is not in the mesh", body = ApiErrors),
        (status = 409, description = "The proposal changed since the preview, the control plane is read-only \
          (apply the Kubernetes manifest instead) or refused the policy", body = ApiErrors),
        (status = 422, description = "No reason given", body = ApiErrors),
    ),
)]
pub async fn apply_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Json(body): Json<ApplyRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(
        proposal::apply(
            &state.ctx,
            &caller,
            entity,
            &body.reason,
            &body.expected_hash,
            body.shadow,
        )
        .await?,
    ))
}

/// Puts back the policy the latest apply replaced, or deletes it if that apply created it (a
/// lead of the owning team, or an admin). Audited with before and after.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/rollback",
    operation_id = "rollbackComponentPolicy",
    tag = "mesh",
    params(EntityPath),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Restored or deleted", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component, or it is not in the mesh", body = ApiErrors),
        (status = 409, description = "Nothing to roll back, or the control plane is read-only", body = ApiErrors),
        (status = 422, description = "No reason given", body = ApiErrors),
    ),
)]
pub async fn rollback_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Json(body): Json<RollbackRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(
        proposal::rollback(&state.ctx, &caller, entity, &body.reason).await?,
    ))
}

/// Keeps an edit made outside Bearing to Bearing's policy (a lead of the owning team, or an
/// admin): written back unchanged with the hash of its spec, so it no longer shows as edited
/// outside. Reverting the edit instead is `apply`.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/adopt",
    operation_id = "adoptComponentPolicy",
    tag = "mesh",
    params(EntityPath),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Adopted", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component, or it is not in the mesh", body = ApiErrors),
        (status = 409, description = "Nothing edited outside Bearing, or the control plane is read-only", body = ApiErrors),
        (status = 422, description = "No reason given", body = ApiErrors),
    ),
)]
pub async fn adopt_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Json(body): Json<RollbackRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(proposal::adopt(&state.ctx, &caller, entity, &body.reason).await?))
}
