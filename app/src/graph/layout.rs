//! Layered layout: the root in the middle column, what it points at to the right, what points
//! at it to the left, one column per step. Deterministic, so pages and tests are stable.

use std::collections::BTreeMap;

use super::{GraphEdge, GraphNode, GraphView, NODE_HEIGHT, NODE_WIDTH};

const COLUMN_GAP: i32 = 90;
const ROW_GAP: i32 = 18;
const MARGIN: i32 = 12;

/// A node before layout: its key, label, kind, signed layer and whether it resolves.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlacedNode {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub layer: i32,
    pub resolved: bool,
    /// Stands for the nodes left out above the node limit.
    pub summary: bool,
}

/// Positions nodes by layer (columns) and, within a layer, by kind then label (rows).
/// `nodes[0]` is the root.
pub fn layout(nodes: Vec<PlacedNode>, edges: Vec<GraphEdge>, depth: u8, truncated: bool) -> GraphView {
    place(nodes, edges, depth, truncated, true)
}

/// [`layout`] without a root: for maps of many services (a team's, a mesh's), where no node is
/// the page's own and every node links to its entity.
pub fn layout_rootless(nodes: Vec<PlacedNode>, edges: Vec<GraphEdge>) -> GraphView {
    place(nodes, edges, 1, false, false)
}

fn place(nodes: Vec<PlacedNode>, edges: Vec<GraphEdge>, depth: u8, truncated: bool, rooted: bool) -> GraphView {
    let min_layer = nodes.iter().map(|n| n.layer).min().unwrap_or(0);
    let mut columns: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        columns.entry(n.layer).or_default().push(i);
    }
    let tallest = columns.values().map(Vec::len).max().unwrap_or(1) as i32;
    let height = MARGIN * 2 + tallest * NODE_HEIGHT + (tallest - 1).max(0) * ROW_GAP;
    let mut pos = vec![(0, 0); nodes.len()];
    for (layer, members) in &mut columns {
        members.sort_by(|a, b| (&nodes[*a].kind, &nodes[*a].label).cmp(&(&nodes[*b].kind, &nodes[*b].label)));
        let column_height = members.len() as i32 * NODE_HEIGHT + (members.len() as i32 - 1) * ROW_GAP;
        let top = (height - column_height) / 2;
        for (row, &i) in members.iter().enumerate() {
            let x = MARGIN + (layer - min_layer) * (NODE_WIDTH + COLUMN_GAP);
            let y = top + row as i32 * (NODE_HEIGHT + ROW_GAP);
            pos[i] = (x, y);
        }
    }
    // Columns are placed by layer, so a layer nobody is in still takes its column's width.
    let span = columns.keys().next_back().map_or(0, |max| max - min_layer + 1);
    let width = MARGIN * 2 + span * NODE_WIDTH + (span - 1).max(0) * COLUMN_GAP;
    GraphView {
        nodes: nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| GraphNode {
                root: rooted && i == 0,
                key: n.key,
                label: n.label,
                kind: n.kind,
                x: pos[i].0,
                y: pos[i].1,
                resolved: n.resolved,
                summary: n.summary,
            })
            .collect(),
        edges,
        width,
        height,
        depth,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, layer: i32) -> PlacedNode {
        PlacedNode {
            key: key.into(),
            label: key.into(),
            kind: "component".into(),
            layer,
            resolved: true,
            summary: false,
        }
    }

    #[test]
    fn columns_follow_layers_and_nothing_overlaps() {
        let g = layout(
            vec![node("root", 0), node("b", 1), node("a", 1), node("up", -1)],
            vec![GraphEdge {
                from: 0,
                to: 1,
                relation: "dependsOn".into(),
                traffic: None,
            }],
            1,
            false,
        );
        let x = |k: &str| g.nodes.iter().find(|n| n.key == k).unwrap().x;
        let y = |k: &str| g.nodes.iter().find(|n| n.key == k).unwrap().y;
        assert!(x("up") < x("root") && x("root") < x("a"));
        assert_eq!(x("a"), x("b"));
        assert!(y("a") + NODE_HEIGHT <= y("b"), "sorted by label, no overlap");
        assert!(g.nodes[0].root);
        assert!(g.width >= 3 * NODE_WIDTH && g.height >= 2 * NODE_HEIGHT);
        for n in &g.nodes {
            assert!(n.x + NODE_WIDTH <= g.width && n.y + NODE_HEIGHT <= g.height);
        }
    }
}
