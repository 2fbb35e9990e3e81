//! What the catalog, the mesh and delivery say about every component, gathered for a pass of
//! the scorecard worker in a bounded number of queries: one for the catalog, one per stored
//! mesh for the edges (through [`crate::policy::edges::around`]) plus one for mTLS and
//! certificates, and four for delivery, however many components there are.

use std::collections::{BTreeMap, HashMap, HashSet};

use bearing_policy::edges::EdgeClass;
use bearing_scorecards::{DeliveryFacts, Deployment, Facts, MeshFacts, Run, CHANGE_FAILURE_WINDOW_DAYS};
use time::{Duration, OffsetDateTime};

use super::repo::{self, ComponentRow};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// A component's facts and what the roll-ups need of it.
pub(super) struct Gathered {
    pub(super) component: ComponentRow,
    pub(super) facts: Facts,
}

/// The facts of every component in the catalog, as of `now`.
pub(super) async fn gather(ctx: &ServerCtx, now: OffsetDateTime) -> Result<Vec<Gathered>, AppError> {
    let components = repo::components(&ctx.pool).await?;
    let refs: Vec<String> = components.iter().map(|c| c.entity_ref.clone()).collect();
    let mut mesh = mesh_facts(ctx, &refs).await?;
    let mut delivery = delivery_facts(ctx, &refs, now).await?;
    Ok(components
        .into_iter()
        .map(|c| {
            let facts = Facts {
                owner: c.owner_ref.clone(),
                description: c.description.clone(),
                entity_type: c.entity_type.clone(),
                lifecycle: c.lifecycle.clone(),
                system: c.system_ref.clone(),
                tags: c.tags.clone(),
                labels: c.labels.0.clone(),
                annotations: c.annotations.0.clone(),
                link_types: c.link_types.clone(),
                mesh: mesh.remove(&c.entity_ref),
                delivery: delivery.remove(&c.entity_ref),
            };
            Gathered { component: c, facts }
        })
        .collect())
}

/// Mesh facts of the components with a service in a stored mesh.
async fn mesh_facts(ctx: &ServerCtx, refs: &[String]) -> Result<HashMap<String, MeshFacts>, AppError> {
    let states = repo::mesh_states(&ctx.pool, refs).await?;
    if states.is_empty() {
        return Ok(HashMap::new());
    }
    let in_mesh: Vec<String> = states.iter().map(|s| s.component.clone()).collect();
    let wanted: HashSet<&str> = in_mesh.iter().map(String::as_str).collect();
    let mut edges: HashMap<String, BTreeMap<EdgeClass, u32>> = HashMap::new();
    // The worker reads as the system; whoever reads the results is checked when they do.
    let caller = Caller::system("scorecards");
    for edge in crate::policy::edges::around(ctx, &caller, &in_mesh).await? {
        let Some(class) = EdgeClass::ALL.into_iter().find(|c| c.as_str() == edge.class) else {
            continue;
        };
        let ends: HashSet<&str> = [&edge.from.component, &edge.to.component]
            .into_iter()
            .filter_map(|c| c.as_deref())
            .filter(|c| wanted.contains(c))
            .collect();
        for end in ends {
            *edges.entry(end.to_owned()).or_default().entry(class).or_default() += 1;
        }
    }
    Ok(states
        .into_iter()
        .map(|s| {
            let facts = MeshFacts {
                mtls_enabled: s.mtls_enabled,
                edges: edges.remove(&s.component).unwrap_or_default(),
                certificates_expire_at: s.certificates_expire_at,
            };
            (s.component, facts)
        })
        .collect())
}

/// Delivery facts of the components anything was ever reported for (a deployment or a run).
async fn delivery_facts(
    ctx: &ServerCtx,
    refs: &[String],
    now: OffsetDateTime,
) -> Result<HashMap<String, DeliveryFacts>, AppError> {
    let mut out: HashMap<String, DeliveryFacts> = HashMap::new();
    for (component, at) in repo::last_deployments(&ctx.pool, refs).await? {
        out.entry(component).or_default().last_deployed_at = Some(at);
    }
    let since = now - Duration::days(CHANGE_FAILURE_WINDOW_DAYS);
    for d in repo::deployments_since(&ctx.pool, refs, since).await? {
        out.entry(d.component).or_default().deployments.push(Deployment {
            at: d.at,
            failed: d.failed,
        });
    }
    for component in repo::components_with_runs(&ctx.pool, refs).await? {
        out.entry(component).or_default();
    }
    for (component, finished_at, succeeded) in repo::last_finished_runs(&ctx.pool, refs).await? {
        out.entry(component).or_default().last_run = Some(Run { finished_at, succeeded });
    }
    Ok(out)
}
