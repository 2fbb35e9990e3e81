//! Walks declared relations outward from one entity, breadth first, up to a depth, then lays
//! the mesh's edges over them: what was observed and what the traffic permissions decide
//! between the components drawn (and the callers and destinations the catalog does not name).

use std::collections::{HashMap, HashSet};

use bearing_catalog::RelationType;
use sqlx::PgPool;

use super::layout::PlacedNode;
use super::{GraphEdge, GraphView};
use crate::auth::guard::Caller;
use crate::catalog::service::ref_key;
use crate::catalog::{repo, split_ref};
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// The graph around the entity `kind:namespace/name`, `depth` steps (1 to 3) along dependency
/// relations: what it depends on (transitively, to the right) and what depends on it (to the
/// left). A node reached downstream is only walked further downstream, and likewise upstream,
/// so the graph shows chains rather than everything within `depth` hops.
pub async fn entity_graph(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
    depth: u8,
) -> Result<GraphView, AppError> {
    caller.require_reader(ctx)?;
    let key = ref_key(kind, namespace, name)?;
    // The catalog part is cached until the catalog changes; the mesh part follows the poller.
    let walked = ctx
        .cache
        .get_or_load(format!("{key}|{depth}"), {
            let (pool, key) = (ctx.pool.clone(), key.clone());
            async move { walk(&pool, &key, depth).await }
        })
        .await?;
    let components: Vec<String> = walked
        .nodes
        .iter()
        .filter(|n| n.kind == "component" && n.resolved)
        .map(|n| n.key.clone())
        .collect();
    let traffic = crate::policy::edges::around(ctx, caller, &components).await?;
    Ok(super::overlay::overlay(walked, &traffic, depth))
}

/// Most nodes a graph shows; beyond it the graph says it was truncated.
pub const MAX_NODES: usize = 60;

/// Relation types that make up the dependency graph.
const GRAPH_RELATIONS: [RelationType; 4] = [
    RelationType::DependsOn,
    RelationType::ProvidesApi,
    RelationType::ConsumesApi,
    RelationType::PartOf,
];

/// The catalog's part of a graph, before layout: nodes with their layers (`nodes[0]` is the
/// root) and the relations between them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Walked {
    pub nodes: Vec<PlacedNode>,
    pub edges: Vec<GraphEdge>,
    /// More entities were reachable than [`MAX_NODES`].
    pub truncated: bool,
}

/// Walks the graph of [`entity_graph`] around the reference key `key`.
async fn walk(pool: &PgPool, key: &str, depth: u8) -> Result<Walked, AppError> {
    if !(1..=3).contains(&depth) {
        return Err(AppError::invalid("depth", format!("must be 1, 2 or 3, got {depth}")));
    }
    let kinds: HashSet<&str> = GRAPH_RELATIONS.iter().map(|t| t.as_str()).collect();
    // Node index by key, and each node's (key, signed layer).
    let mut index: HashMap<String, usize> = HashMap::from([(key.to_owned(), 0)]);
    let mut layers: Vec<(String, i32)> = vec![(key.to_owned(), 0)];
    let mut edges: HashSet<(usize, usize, String)> = HashSet::new();
    let mut frontier: Vec<String> = vec![key.to_owned()];
    let mut truncated = false;
    for _ in 0..depth {
        if frontier.is_empty() {
            break;
        }
        let rows = repo::relations_of_many(pool, &frontier).await?;
        let current: HashSet<String> = frontier.drain(..).collect();
        for r in rows.into_iter().filter(|r| kinds.contains(r.relation.as_str())) {
            // Downstream: from a frontier node at layer >= 0 along its outgoing relation.
            // Upstream: into a frontier node at layer <= 0 along an incoming relation.
            let layer_of = |k: &str| index.get(k).map(|&i| layers[i].1);
            let step = match (current.contains(&r.source_ref), current.contains(&r.target_ref)) {
                (true, _) if layer_of(&r.source_ref).is_some_and(|l| l >= 0) => {
                    Some((r.target_ref.clone(), layer_of(&r.source_ref).unwrap_or(0) + 1))
                }
                (_, true) if layer_of(&r.target_ref).is_some_and(|l| l <= 0) => {
                    Some((r.source_ref.clone(), layer_of(&r.target_ref).unwrap_or(0) - 1))
                }
                _ => None,
            };
            if let Some((other, layer)) = step {
                if !index.contains_key(&other) {
                    if index.len() >= MAX_NODES {
                        truncated = true;
                        continue;
                    }
                    index.insert(other.clone(), layers.len());
                    layers.push((other.clone(), layer));
                    frontier.push(other);
                }
            }
            if let (Some(&a), Some(&b)) = (index.get(&r.source_ref), index.get(&r.target_ref)) {
                edges.insert((a, b, r.relation));
            }
        }
    }
    let keys: Vec<String> = layers.iter().map(|(k, _)| k.clone()).collect();
    let titles: HashMap<String, Option<String>> = repo::existing_titles(pool, &keys).await?.into_iter().collect();
    let nodes = layers
        .into_iter()
        .map(|(k, layer)| {
            let (kind, _, name) = split_ref(&k).unwrap_or(("", "", &k));
            PlacedNode {
                label: titles.get(&k).cloned().flatten().unwrap_or_else(|| name.to_owned()),
                kind: kind.to_owned(),
                resolved: titles.contains_key(&k),
                layer,
                key: k,
                summary: false,
            }
        })
        .collect();
    let mut edges: Vec<GraphEdge> = edges
        .into_iter()
        .map(|(from, to, relation)| GraphEdge {
            from,
            to,
            relation,
            traffic: None,
        })
        .collect();
    edges.sort_by(|a, b| (a.from, a.to, &a.relation).cmp(&(b.from, b.to, &b.relation)));
    Ok(Walked {
        nodes,
        edges,
        truncated,
    })
}
