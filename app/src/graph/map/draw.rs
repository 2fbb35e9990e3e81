//! Places a map's edges in columns. With services in focus (a team's, a system's): those in the
//! middle, their callers to the left, their destinations to the right. For a whole mesh:
//! services that only call on the left, those only called on the right, the rest in the middle.
//! Above the node limit, the rest of each column is summarised in one node ("+12 more callers")
//! instead of drawn, so the map stays readable; the edge table still lists every edge.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::super::layout::{layout_rootless, PlacedNode};
use super::super::overlay::{end_key, end_node, layer_of};
use super::super::service::MAX_NODES;
use super::super::{GraphEdge, GraphView};
use crate::policy::Edge;

/// Summary nodes the limit keeps room for: one per column.
const SUMMARY_SLOTS: usize = 3;

/// What is known about one node before placing it.
struct NodeFacts {
    /// The first (worst) edge it is an end of, and which end.
    first: (usize, bool),
    calls: bool,
    called: bool,
}

/// The map of `edges` (worst first). `focus`: the component reference keys whose services are
/// the map's subject; none for a whole mesh.
pub fn draw(edges: &[Edge], focus: Option<&HashSet<String>>) -> GraphView {
    let mut facts: HashMap<String, NodeFacts> = HashMap::new();
    let mut met: Vec<String> = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        for from in [true, false] {
            let key = end_key(e, from);
            let f = facts.entry(key.clone()).or_insert_with(|| {
                met.push(key);
                NodeFacts {
                    first: (i, from),
                    calls: false,
                    called: false,
                }
            });
            if from {
                f.calls = true;
            } else {
                f.called = true;
            }
        }
    }
    let in_focus = |key: &str| focus.is_some_and(|f| f.contains(key));
    let focus_callers: HashSet<String> = edges
        .iter()
        .filter(|e| in_focus(&end_key(e, false)))
        .map(|e| end_key(e, true))
        .collect();
    let layer = |key: &str| -> i32 {
        let f = &facts[key];
        match focus {
            Some(_) if in_focus(key) => 0,
            // Beside a focus, a node calling it is a caller even if the focus calls it back.
            Some(_) if focus_callers.contains(key) => -1,
            Some(_) => 1,
            None => match (f.calls, f.called) {
                (true, false) => -1,
                (false, true) => 1,
                _ => 0,
            },
        }
    };
    // The focus first, then the others in the order of their worst edge.
    met.sort_by_key(|k| !in_focus(k));
    let keep = if met.len() > MAX_NODES {
        MAX_NODES - SUMMARY_SLOTS
    } else {
        met.len()
    };
    let mut nodes: Vec<PlacedNode> = Vec::with_capacity(keep + SUMMARY_SLOTS);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut left_out: BTreeMap<i32, usize> = BTreeMap::new();
    for (n, key) in met.iter().enumerate() {
        let l = layer(key);
        if n >= keep {
            *left_out.entry(l).or_default() += 1;
            continue;
        }
        let (edge, from) = facts[key].first;
        index.insert(key.clone(), nodes.len());
        nodes.push(end_node(&edges[edge], from, l));
    }
    let mut drawn: HashSet<(usize, usize)> = HashSet::new();
    let mut graph_edges = Vec::new();
    for e in edges {
        let (Some(&from), Some(&to)) = (index.get(&end_key(e, true)), index.get(&end_key(e, false))) else {
            continue;
        };
        // Two services of the same components: the worst edge (met first) stands for both.
        if drawn.insert((from, to)) {
            graph_edges.push(GraphEdge {
                from,
                to,
                relation: "traffic".to_owned(),
                traffic: Some(layer_of(e)),
            });
        }
    }
    for (l, count) in left_out {
        let side = match l {
            -1 => "callers",
            0 => "services",
            _ => "destinations",
        };
        nodes.push(PlacedNode {
            key: format!("summary:{side}"),
            label: format!("+{count} more {side}"),
            kind: "summary".to_owned(),
            layer: l,
            resolved: false,
            summary: true,
        });
    }
    compact_layers(&mut nodes);
    layout_rootless(nodes, graph_edges)
}

/// Renumbers layers so that no column is empty (a mesh of callers and destinations only gets
/// two columns, not three with a gap).
fn compact_layers(nodes: &mut [PlacedNode]) {
    let used: std::collections::BTreeSet<i32> = nodes.iter().map(|n| n.layer).collect();
    let rank: HashMap<i32, i32> = used.into_iter().zip(0..).collect();
    for n in nodes {
        n.layer = rank[&n.layer];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{EdgeEnd, Permission};

    fn edge(from: &str, to: &str, class: &str) -> Edge {
        let end = |s: &str| EdgeEnd {
            service: s.to_owned(),
            component: (s != "*" && !s.starts_with("kuma-")).then(|| format!("component:default/{s}")),
        };
        Edge {
            control_plane: "cp".into(),
            mesh: "default".into(),
            from: end(from),
            to: end(to),
            declared: true,
            declared_via: vec!["dependsOn".into()],
            observed: None,
            permitted: Permission {
                allowed: true,
                enforced: true,
                policy: Some("allow".into()),
                rule: None,
                reason: "allow, from[0]".into(),
            },
            mtls: true,
            class: class.into(),
        }
    }

    fn focus(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| format!("component:default/{n}")).collect()
    }

    fn x_of(g: &GraphView, key: &str) -> i32 {
        g.nodes
            .iter()
            .find(|n| n.key == key)
            .unwrap_or_else(|| panic!("{key} not drawn"))
            .x
    }

    #[test]
    fn the_focus_sits_between_its_callers_and_destinations() {
        let edges = vec![
            edge("web", "orders", "healthy"),
            edge("orders", "payments", "will_break"),
            edge("kuma-stranger", "orders", "denied_unknown"),
            edge("orders", "web", "undeclared"),
        ];
        let g = draw(&edges, Some(&focus(&["orders"])));
        let orders = x_of(&g, "component:default/orders");
        assert!(x_of(&g, "component:default/web") < orders, "web calls orders: a caller");
        assert!(x_of(&g, "service:cp/default/kuma-stranger") < orders);
        assert!(x_of(&g, "component:default/payments") > orders);
        assert!(g.nodes.iter().all(|n| !n.root), "a map has no root");
        assert_eq!(g.edges.len(), 4);
        assert!(g.edges.iter().all(|e| e.traffic.is_some()));
        for n in &g.nodes {
            assert!(
                n.x + crate::graph::NODE_WIDTH <= g.width,
                "{} inside the drawing",
                n.key
            );
        }
    }

    #[test]
    fn a_whole_mesh_puts_pure_callers_left_and_pure_destinations_right() {
        let edges = vec![edge("web", "orders", "healthy"), edge("orders", "db", "healthy")];
        let g = draw(&edges, None);
        let (web, orders, db) = (
            x_of(&g, "component:default/web"),
            x_of(&g, "component:default/orders"),
            x_of(&g, "component:default/db"),
        );
        assert!(web < orders && orders < db);
        let two = draw(&[edge("web", "db", "healthy")], None);
        assert!(two.width < g.width, "no empty middle column");
    }

    #[test]
    fn above_the_limit_each_side_is_summarised() {
        let callers: Vec<String> = (0..80).map(|i| format!("caller-{i:02}")).collect();
        let mut edges: Vec<Edge> = callers.iter().map(|c| edge(c, "orders", "undeclared")).collect();
        edges.push(edge("orders", "db", "healthy"));
        let g = draw(&edges, Some(&focus(&["orders"])));
        assert!(g.nodes.len() <= MAX_NODES, "{} nodes", g.nodes.len());
        let summary = g
            .nodes
            .iter()
            .find(|n| n.key == "summary:callers")
            .expect("a summary of the callers");
        assert!(summary.summary);
        let drawn_callers = g.nodes.iter().filter(|n| n.label.starts_with("caller-")).count();
        assert_eq!(summary.label, format!("+{} more callers", 80 - drawn_callers));
        assert!(
            g.nodes.iter().any(|n| n.key == "component:default/orders"),
            "the focus stays"
        );
        assert!(summary.x < x_of(&g, "component:default/orders"));
    }

    #[test]
    fn the_worst_edge_stands_for_a_pair_drawn_once() {
        let mut second = edge("web", "orders", "healthy");
        second.mesh = "other".into();
        let g = draw(&[edge("web", "orders", "declared_denied"), second], None);
        assert_eq!(g.edges.len(), 1);
        assert_eq!(
            g.edges[0].traffic.as_ref().map(|t| t.class.as_str()),
            Some("declared_denied")
        );
    }
}
