//! The HTTP API: Bearing's own JSON API under `/api/v1`, Backstage-compatible catalog reads
//! under `/api/catalog`, the OpenAPI document and its reference page, health and metrics.

pub mod access_reviews;
pub mod backstage;
pub mod delivery;
pub mod docs;
pub mod edit;
pub mod entities;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod health;
pub mod identity;
pub mod import;
pub mod mesh;
pub mod metrics;
pub mod openapi;
pub mod policy;
pub mod policy_templates;
pub mod scorecards;
