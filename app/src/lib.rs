//! Bearing's user interface: pages and components by domain, each with its server functions
//! beside it. Server-only code (SQL, services) is behind the `ssr` feature; the same crate is
//! compiled to wasm with `hydrate` for the browser.

pub mod access_reviews;
pub mod audit;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod cache;
pub mod catalog;
pub mod delivery;
pub mod error;
pub mod evidence;
pub mod graph;
pub mod mesh;
pub mod policy;
pub mod rendered;
mod routes;
pub mod scorecards;
#[cfg(feature = "ssr")]
pub mod server_call;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod text;
pub mod ui;
#[cfg(feature = "ssr")]
pub mod wire;

pub use routes::{shell, App};

/// Browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
