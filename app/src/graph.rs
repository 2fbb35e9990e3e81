//! The dependency graph drawn on entity pages: laid out on the server, rendered as SVG.

pub mod components;
#[cfg(feature = "ssr")]
pub mod layout;
#[cfg(feature = "ssr")]
pub mod overlay;
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
    /// Stands for nodes left out above the node limit (`label` says how many).
    pub summary: bool,
}

/// An edge between two nodes (indices into `nodes`), in stored direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    /// The catalog relation (`dependsOn`, `providesApi`, ...), or `traffic` for an edge only
    /// the mesh knows (observed or permitted, not declared between these two nodes).
    pub relation: String,
    /// What the mesh says about calls along this edge, when the two ends are Kuma services.
    pub traffic: Option<TrafficLayer>,
}

/// The mesh's layers of one edge (see [`crate::policy::Edge`]): drawn solid when observed,
/// dashed when declared only, coloured by class, with a lock when mTLS is on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrafficLayer {
    /// One of [`crate::policy::CLASSES`].
    pub class: String,
    pub declared: bool,
    /// Requests per second at the latest read; none when not observed in the window.
    pub requests_per_s: Option<f64>,
    pub allowed: bool,
    pub enforced: bool,
    pub mtls: bool,
    /// The deciding policy and rule, in words.
    pub decided_by: String,
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
