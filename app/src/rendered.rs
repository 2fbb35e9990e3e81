//! What a server-rendered page shows besides the catalog, told to the rendered-page cache
//! (`server::page_cache`).
//!
//! The catalog's generation is part of every cached page's key, but the mesh state and
//! scorecard results change on their own (each poll that finds something new, each scorecard
//! round), and most pages show neither: the catalog list, search and home page never do; an
//! API's or a user's page does only when its dependency graph reaches a component. A page
//! marks here what it showed, and a change of the mesh or of scorecards drops only the pages
//! marked with it.

/// The response header carrying the marks from the render to the page cache, which removes it
/// before the response leaves the server.
pub const SHOWS_HEADER: &str = "x-bearing-shows";

/// Live state a page can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shows {
    /// Kuma's state: proxies, services, policies, traffic.
    Mesh,
    /// Scorecard results.
    Scorecards,
}

impl Shows {
    /// The header value for this mark.
    pub fn as_str(self) -> &'static str {
        match self {
            Shows::Mesh => "mesh",
            Shows::Scorecards => "scorecards",
        }
    }
}

/// During server rendering, marks the page as showing `what`. Does nothing in the browser.
/// Any time during the render will do: the pages the cache keeps render with
/// `SsrMode::Async`, whose headers are sent once every load has finished.
pub fn mark_shows(what: Shows) {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(
            axum::http::HeaderName::from_static(SHOWS_HEADER),
            axum::http::HeaderValue::from_static(what.as_str()),
        );
    }
    #[cfg(not(feature = "ssr"))]
    let _ = what;
}
