//! The dependency graph drawn on entity pages: laid out on the server, rendered as SVG.

pub mod components;
#[cfg(feature = "ssr")]
pub mod layout;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// Width of a node box in SVG units.
pub const NODE_WIDTH: i32 = 190;
/// Height of a node box in SVG units.
pub const NODE_HEIGHT: i32 = 38;

/// A positioned node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    /// Reference key.
    pub key: String,
    pub label: String,
    pub kind: String,
    pub x: i32,
    pub y: i32,
    /// The entity exists in the catalog.
    pub resolved: bool,
    /// The entity whose page this is.
    pub root: bool,
}

/// An edge between two nodes (indices into `nodes`), in stored direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub relation: String,
}

/// A laid-out graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphView {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    pub width: i32,
    pub height: i32,
    pub depth: u8,
    /// More entities were reachable than the graph shows.
    pub truncated: bool,
}
