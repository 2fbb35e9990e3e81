//! `kuma-sim`: a Kuma control plane for tests, demos and benchmarks.
//!
//! It serves Kuma 2.x's real API shapes (checked against Kuma's OpenAPI spec and golden responses
//! in `../shared/kuma`) for a configurable world: meshes with and without mTLS, services and their
//! proxies (online, offline, partially degraded, gateways), certificates with expiry times,
//! MeshTrafficPermissions and legacy TrafficPermissions, and Envoy `/stats` whose counters grow
//! with a traffic matrix. `/_sim/` control endpoints change the world while it runs and inject
//! faults. See the crate README.
//!
//! - [`spec`]: the world file format; [`default_world`]: the demo catalog as a mesh;
//!   [`generate`]: large worlds for benchmarks.
//! - [`sim`]: the state and the traffic model; [`wire`], [`envoy`]: Kuma's JSON and Envoy's text.
//! - [`api`]: the HTTP router.

#![deny(missing_docs)]

pub mod api;
pub mod clock;
pub mod default_world;
pub mod envoy;
pub mod generate;
pub mod policies;
pub mod sim;
pub mod spec;
pub mod wire;
pub mod writes;
pub mod yaml;

pub use api::router;
pub use sim::Sim;
pub use spec::WorldSpec;
