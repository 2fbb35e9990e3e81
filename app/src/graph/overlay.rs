//! The mesh's edges laid over the catalog's graph: a declared dependency between two drawn
//! components takes the class of the traffic edge between their services; traffic the catalog
//! does not declare gets an edge of its own; a caller or destination not drawn yet is added
//! beside the node it talks to (callers to the left, destinations to the right). Above the node
//! limit the rest is summarised in one node per side rather than drawn.

use std::collections::HashMap;

use super::layout::{layout, PlacedNode};
use super::service::{Walked, MAX_NODES};
use super::{GraphEdge, GraphView, TrafficLayer};
use crate::policy::Edge;

/// The graph of `walked` with `traffic` laid over it, laid out.
pub fn overlay(walked: Walked, traffic: &[Edge], depth: u8) -> GraphView {
    let Walked {
        mut nodes,
        mut edges,
        truncated,
    } = walked;
    let mut index: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, n)| (n.key.clone(), i)).collect();
    // Left out above the limit, per side (-1 callers, +1 destinations) with the layer to show it.
    let mut left_out: HashMap<i32, (usize, i32)> = HashMap::new();
    for e in traffic {
        let (from_key, to_key) = (end_key(e, true), end_key(e, false));
        let (from, to) = match (index.get(&from_key).copied(), index.get(&to_key).copied()) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => {
                let layer = nodes[a].layer + 1;
                match add_end(&mut nodes, &mut index, e, false, layer) {
                    Some(b) => (a, b),
                    None => {
                        note_left_out(&mut left_out, 1, layer);
                        continue;
                    }
                }
            }
            (None, Some(b)) => {
                let layer = nodes[b].layer - 1;
                match add_end(&mut nodes, &mut index, e, true, layer) {
                    Some(a) => (a, b),
                    None => {
                        note_left_out(&mut left_out, -1, layer);
                        continue;
                    }
                }
            }
            (None, None) => continue,
        };
        let layer = Some(layer_of(e));
        match edges
            .iter_mut()
            .find(|g| g.from == from && g.to == to && g.relation == "dependsOn" && g.traffic.is_none())
        {
            Some(declared) => declared.traffic = layer,
            None => edges.push(GraphEdge {
                from,
                to,
                relation: "traffic".to_owned(),
                traffic: layer,
            }),
        }
    }
    let mut sides: Vec<(i32, (usize, i32))> = left_out.into_iter().collect();
    sides.sort();
    for (side, (count, layer)) in sides {
        nodes.push(PlacedNode {
            key: format!("summary:{}", if side < 0 { "callers" } else { "destinations" }),
            label: format!("+{count} more {}", if side < 0 { "callers" } else { "destinations" }),
            kind: "summary".to_owned(),
            layer,
            resolved: false,
            summary: true,
        });
    }
    layout(nodes, edges, depth, truncated)
}

/// The node key of one end: the component, else the Kuma service (`service:<mesh>/<name>`), or
/// for the `*` of an `over_permitted` edge, "any other service" of that mesh.
pub fn end_key(e: &Edge, from: bool) -> String {
    let end = if from { &e.from } else { &e.to };
    match &end.component {
        Some(c) => c.clone(),
        None if end.service == "*" => format!("any:{}/{}", e.control_plane, e.mesh),
        None => format!("service:{}/{}/{}", e.control_plane, e.mesh, end.service),
    }
}

/// Adds the `from` (or `to`) end of `e` as a node at `layer`, unless the graph is full.
fn add_end(
    nodes: &mut Vec<PlacedNode>,
    index: &mut HashMap<String, usize>,
    e: &Edge,
    from: bool,
    layer: i32,
) -> Option<usize> {
    if nodes.len() >= MAX_NODES {
        return None;
    }
    let node = end_node(e, from, layer);
    index.insert(node.key.clone(), nodes.len());
    nodes.push(node);
    Some(nodes.len() - 1)
}

/// The node standing for the `from` (or `to`) end of `e` at `layer`: its component (linked),
/// else its Kuma service, else "any other service".
pub fn end_node(e: &Edge, from: bool, layer: i32) -> PlacedNode {
    let end = if from { &e.from } else { &e.to };
    let (label, kind) = match &end.component {
        Some(c) => (
            crate::catalog::split_ref(c)
                .map_or(c.as_str(), |(_, _, name)| name)
                .to_owned(),
            "component",
        ),
        None if end.service == "*" => ("any other service".to_owned(), "kuma service"),
        None => (end.service.clone(), "kuma service"),
    };
    PlacedNode {
        resolved: end.component.is_some(),
        key: end_key(e, from),
        label,
        kind: kind.to_owned(),
        layer,
        summary: false,
    }
}

fn note_left_out(left_out: &mut HashMap<i32, (usize, i32)>, side: i32, layer: i32) {
    let entry = left_out.entry(side).or_insert((0, layer));
    entry.0 += 1;
    entry.1 = if side < 0 {
        entry.1.min(layer)
    } else {
        entry.1.max(layer)
    };
}

/// What the map draws of one edge: its class, the layers present and the deciding policy.
pub fn layer_of(e: &Edge) -> TrafficLayer {
    TrafficLayer {
        class: e.class.clone(),
        declared: e.declared,
        requests_per_s: e.observed.as_ref().map(|o| o.requests_per_s),
        allowed: e.permitted.allowed,
        enforced: e.permitted.enforced,
        mtls: e.mtls,
        decided_by: e.permitted.reason.clone(),
    }
}
