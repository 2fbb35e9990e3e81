//! The dependency graph drawn on entity pages, and the maps of `/graph` (a team's, a
//! system's or a mesh's services with the mesh's edges): laid out on the server, rendered as SVG.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod layout;
#[cfg(feature = "ssr")]
pub mod map;
#[cfg(feature = "ssr")]
pub mod overlay;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
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

/// What `/graph` draws: a team's or a system's services (optionally in one mesh), or a whole
/// mesh's, with only the edges of the given classes. Every field is as the query string gave
/// it; the service validates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MapQuery {
    /// `team-checkout` or `group:default/team-checkout`.
    pub team: Option<String>,
    /// `commerce` or `system:default/commerce`.
    pub system: Option<String>,
    pub mesh: Option<String>,
    /// Comma-separated classes, as `GET /api/v1/mesh/edges` takes them.
    pub class: Option<String>,
}

impl MapQuery {
    /// Blank values count as not given (an HTML form submits every select, chosen or not).
    pub fn normalised(self) -> MapQuery {
        let keep = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        MapQuery {
            team: keep(self.team),
            system: keep(self.system),
            mesh: keep(self.mesh),
            class: keep(self.class),
        }
    }

    /// Nothing to draw was chosen: the page shows the pickers only.
    pub fn is_empty(&self) -> bool {
        self.team.is_none() && self.system.is_none() && self.mesh.is_none()
    }
}

/// A drawn map: the graph, the edges it draws (for the table) and the counts per class that
/// the class filters link to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapView {
    /// What the map is of, e.g. "Team team-checkout in mesh default".
    pub title: String,
    /// None when no edge matches.
    pub graph: Option<GraphView>,
    /// The matching edges, worst first, at most [`MAX_TABLE_ROWS`].
    pub edges: Vec<crate::policy::Edge>,
    /// Matching edges in all (after the class filter).
    pub total: u64,
    /// Edges per class before the class filter, worst first.
    pub counts: Vec<crate::policy::ClassCount>,
    /// The CSV export of the same edges, where the edges API can select them (not for systems).
    pub csv_href: Option<String>,
}

/// How `/graph` links name a team or a system: its name in the default namespace, else its
/// reference (`group:ops/payments`); the `team` and `system` parameters take both.
pub fn map_param(kind: &str, namespace: &str, name: &str) -> String {
    if namespace == "default" {
        name.to_owned()
    } else {
        format!("{kind}:{namespace}/{name}")
    }
}

/// Most edges the map's table lists; the CSV export has the rest.
pub const MAX_TABLE_ROWS: usize = 500;

/// One option of a picker: the query-string value and what the option reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapChoice {
    pub value: String,
    pub label: String,
}

/// What the pickers of `/graph` offer: the teams, systems and meshes that exist.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapChoices {
    pub teams: Vec<MapChoice>,
    pub systems: Vec<MapChoice>,
    pub meshes: Vec<MapChoice>,
}
