//! The HTTP API: Bearing's own JSON API under `/api/v1`, Backstage-compatible catalog reads
//! under `/api/catalog`, the OpenAPI document, health and metrics.

pub mod backstage;
pub mod edit;
pub mod entities;
pub mod error;
pub mod extract;
pub mod health;
pub mod identity;
pub mod import;
pub mod mesh;
pub mod metrics;
pub mod openapi;
