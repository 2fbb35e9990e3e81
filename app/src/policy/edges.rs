//! `GET /api/v1/mesh/edges` and the maps: every edge of every mesh (or one), judged and
//! classified from the stored state, then filtered, sorted worst first and paged. Reads check
//! that the caller may read the catalog.

pub mod compute;

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use self::compute::{mesh_edges, MeshInputs};
use super::{repo, Edge, EdgeFilter, EdgeList, CLASSES};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::mesh::repo as mesh_repo;
use crate::ssr::ServerCtx;

/// Most edges one page lists.
pub const MAX_LIMIT: u64 = 2_000;
/// Edges per page when the caller does not say.
pub const DEFAULT_LIMIT: u64 = 200;

/// One page of the edges matching `filter`, worst first, with the counts per class of all of
/// them.
pub async fn list(
    ctx: &ServerCtx,
    caller: &Caller,
    filter: &EdgeFilter,
    offset: u64,
    limit: Option<u64>,
) -> Result<EdgeList, AppError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}, got {limit}"),
        ));
    }
    let edges = matching(ctx, caller, filter).await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in &edges {
        *counts.entry(e.class.clone()).or_default() += 1;
    }
    let total = edges.len() as u64;
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let items: Vec<Edge> = edges.into_iter().skip(start).take(limit as usize).collect();
    let next_offset = (offset.saturating_add(limit) < total).then(|| offset + limit);
    Ok(EdgeList {
        items,
        counts,
        total,
        next_offset,
    })
}

/// Every edge matching `filter`, worst first (then by mesh, caller and destination).
pub async fn matching(ctx: &ServerCtx, caller: &Caller, filter: &EdgeFilter) -> Result<Vec<Edge>, AppError> {
    caller.require_reader(ctx)?;
    let classes = parse_classes(filter.class.as_deref())?;
    let team = filter.team.as_deref().map(team_ref).transpose()?;
    let component = filter
        .component
        .as_deref()
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty());
    // A component or a team narrows what is computed, not only what is shown.
    let focus: Option<Vec<String>> = match (&component, &team) {
        (Some(c), _) => Some(vec![c.clone()]),
        (None, Some(t)) => Some(crate::mesh::repo::components_of_owner(&ctx.pool, t).await?),
        (None, None) => None,
    };
    let mut edges = compute_edges(ctx, filter.mesh.as_deref(), focus.as_deref()).await?;
    edges.retain(|e| {
        let ends = [&e.from, &e.to];
        classes.as_ref().is_none_or(|c| c.contains(&e.class.as_str()))
            && filter
                .service
                .as_deref()
                .is_none_or(|s| ends.iter().any(|end| end.service == s))
    });
    sort_worst_first(&mut edges);
    Ok(edges)
}

/// The edges from or to any of `components` (reference keys), in every mesh, worst first: what
/// a map around them draws. The caller's right to read was checked by whoever holds the keys.
pub async fn around(ctx: &ServerCtx, caller: &Caller, components: &[String]) -> Result<Vec<Edge>, AppError> {
    caller.require_reader(ctx)?;
    let mut edges = compute_edges(ctx, None, Some(components)).await?;
    sort_worst_first(&mut edges);
    Ok(edges)
}

fn sort_worst_first(edges: &mut [Edge]) {
    edges.sort_by(|a, b| {
        (
            severity(&a.class),
            &a.mesh,
            &a.from.service,
            &a.to.service,
            &a.control_plane,
        )
            .cmp(&(
                severity(&b.class),
                &b.mesh,
                &b.from.service,
                &b.to.service,
                &b.control_plane,
            ))
    });
}

/// The edges of every stored mesh (or only those named `mesh`); with `focus`, only those from
/// or to the services of those components.
async fn compute_edges(ctx: &ServerCtx, mesh: Option<&str>, focus: Option<&[String]>) -> Result<Vec<Edge>, AppError> {
    if focus.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let meshes: Vec<_> = mesh_repo::list_meshes(&ctx.pool)
        .await?
        .into_iter()
        .filter(|m| mesh.is_none_or(|wanted| wanted == m.mesh))
        .collect();
    // No mesh polled (yet): no edges, and no need to read the catalog's dependencies.
    if meshes.is_empty() {
        return Ok(Vec::new());
    }
    let window = time::Duration::try_from(ctx.mesh.observed_window).unwrap_or(time::Duration::MAX);
    let since = OffsetDateTime::now_utc() - window;
    let declared = repo::declared_dependencies(&ctx.pool, focus).await?;
    let mut edges = Vec::new();
    for m in meshes {
        let (cp, name) = (m.control_plane.as_str(), m.mesh.as_str());
        let set = crate::mesh::state::policy_set(
            ctx,
            crate::mesh::state::MeshRef {
                control_plane: cp,
                mesh: name,
                mtls_enabled: m.mtls_enabled,
                identity: m.identity.as_deref(),
                policy_version: &m.policy_version,
            },
        )
        .await?;
        let focus_services: Option<HashSet<String>> = focus.map(|components| {
            set.services
                .iter()
                .filter(|(_, c, _)| c.as_ref().is_some_and(|c| components.contains(c)))
                .map(|(s, _, _)| s.clone())
                .collect()
        });
        if focus_services.as_ref().is_some_and(HashSet::is_empty) {
            continue;
        }
        let focus_list: Option<Vec<String>> = focus_services.as_ref().map(|f| f.iter().cloned().collect());
        let observed = repo::observed_pairs(&ctx.pool, cp, name, since, focus_list.as_deref()).await?;
        edges.extend(mesh_edges(&MeshInputs {
            control_plane: cp,
            mesh: name,
            mtls_enabled: m.mtls_enabled,
            mtls_mode: m.mtls_mode.as_deref(),
            services: &set.services,
            mesh_traffic_permissions: &set.mesh_traffic_permissions,
            traffic_permissions: &set.traffic_permissions,
            workloads: &set.workloads,
            relevant: &set.relevant,
            declared: &declared,
            observed: &observed,
            focus: focus_services.as_ref(),
        }));
    }
    Ok(edges)
}

/// Position of `class` in [`CLASSES`] (worst first).
pub fn severity(class: &str) -> usize {
    CLASSES.iter().position(|c| *c == class).unwrap_or(CLASSES.len())
}

/// `class=a,b`: each must be one of [`CLASSES`]; none (or blank): every class.
pub fn parse_classes(text: Option<&str>) -> Result<Option<Vec<&'static str>>, AppError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    text.split(',')
        .map(|c| {
            let c = c.trim();
            CLASSES.iter().find(|k| **k == c).copied().ok_or_else(|| {
                AppError::invalid(
                    "class",
                    format!(
                        "unknown edge class {:?}; use one of {}",
                        c.chars().take(40).collect::<String>(),
                        CLASSES.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `team=payments` or `team=group:default/payments`, as the reference key owners are stored by.
pub fn team_ref(text: &str) -> Result<String, AppError> {
    let text = text.trim();
    let full = if text.contains(':') {
        text.to_owned()
    } else {
        format!("group:default/{text}")
    };
    let (kind, rest) = full.split_once(':').unwrap_or(("group", &full));
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    if kind != "group" {
        return Err(AppError::invalid(
            "team",
            "must name a group, e.g. payments or group:default/payments",
        ));
    }
    crate::catalog::service::ref_key(kind, namespace, name)
}
