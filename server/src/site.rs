//! The Leptos site: rendering options, the app's page routes, what every render finds in its
//! context, and the built assets (wasm, JS, CSS) under `/pkg`.

use std::path::PathBuf;

use anyhow::Context;
use app::ssr::ServerCtx;
use app::App;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing};
use tower_http::compression::Compression;
use tower_http::services::ServeDir;

use crate::state::AppState;

/// Leptos options for serving the site built by cargo-leptos. `site_root` overrides where the
/// built assets are (`target/site` by default, relative to the working directory).
pub fn leptos_options(site_root: Option<PathBuf>) -> anyhow::Result<LeptosOptions> {
    let mut options = leptos::config::get_configuration(None)
        .context("invalid LEPTOS_* configuration")?
        .leptos_options;
    // leptos_config bakes LEPTOS_OUTPUT_NAME in at compile time, and cargo does not rebuild a
    // registry crate when that variable changes: after a plain `cargo build`/`cargo test` in the
    // same target dir, a binary built by cargo-leptos has no output name and pages load
    // `/pkg/.js`. The name is fixed by Cargo.toml's [[workspace.metadata.leptos]].
    if options.output_name.is_empty() {
        options.output_name = "bearing".into();
    }
    if let Some(root) = site_root {
        options.site_root = root.to_string_lossy().into_owned().into();
    }
    Ok(options)
}

/// The app's page routes (`app/src/routes.rs`), generated once per process.
///
/// Generating them runs the whole app with resource loading suppressed through a
/// process-global flag; a resource first polled by a page rendering meanwhile, in any router
/// of the process, waits forever (leptos-rs/leptos#4773). `bearing serve` builds one router
/// before it serves, but the tests build one per test while others render, and pages hung
/// until the 30 s request timeout. Generated once, the window is before any router exists.
pub fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// What every rendered page and server function (routes and the 404 fallback alike) finds in
/// its context: the server context and the nonce the security middleware chose for this request.
pub fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let ctx: ServerCtx = state.ctx.clone();
    move || {
        provide_context(ctx.clone());
        crate::security::provide_request_nonce();
    }
}

/// The document shell around every page.
pub fn shell(options: LeptosOptions) -> impl leptos::IntoView {
    app::shell(options)
}

/// `/pkg/*`: the wasm bundle, JS and CSS cargo-leptos built, gzip-compressed for the browser
/// (the wasm shrinks to about a third). Pages are not compressed: on loopback and LANs the CPU
/// costs more than it saves.
pub fn assets(options: &LeptosOptions) -> Compression<ServeDir> {
    Compression::new(ServeDir::new(
        PathBuf::from(&*options.site_root).join(&*options.site_pkg_dir),
    ))
}
