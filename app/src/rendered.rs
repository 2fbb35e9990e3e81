//! What a server-rendered page shows besides the catalog, told to the rendered-page cache
//! (`server::page_cache`).
//!
//! The catalog's generation is part of every cached page's key, but the mesh state and
//! scorecard results change on their own (each poll that finds something new, each scorecard
//! round), and most pages show neither: the catalog list, search and home page never do; an
//! API's or a user's page does only when its dependency graph reaches a component. A page
//! marks here what it showed, and a change drops only the pages marked with what changed: a
//! component's page shows the mesh state of that component and of those its graph draws, so a
//! proxy of another service going offline leaves it alone (see `crate::mesh::repo::change`).

use std::collections::BTreeSet;
#[cfg(feature = "ssr")]
use std::sync::{Arc, Mutex};

/// Live state a page can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shows {
    /// Kuma's state as a whole: every proxy, service and policy (the mesh overview).
    Mesh,
    /// Scorecard results.
    Scorecards,
}

/// How much of the mesh state a page showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MeshShown {
    /// None of it.
    #[default]
    Nothing,
    /// What every mesh page depends on (meshes, policies, which proxies exist) and the state
    /// of these components (reference keys, lower case).
    Components(BTreeSet<String>),
    /// All of it.
    Everything,
}

/// A page that names more components than this counts as showing the whole mesh: a change
/// is checked against each name on every request for the page.
#[cfg(feature = "ssr")]
const MAX_COMPONENTS: usize = 500;

/// What one render showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub mesh: MeshShown,
    pub scorecards: bool,
}

/// Collects what one render showed. The page cache puts one in the request's extensions
/// before rendering and reads it once the page is complete; the marks never leave the server.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct RenderMarks(Arc<Mutex<Shown>>);

#[cfg(feature = "ssr")]
impl RenderMarks {
    /// What the render showed so far.
    pub fn shown(&self) -> Shown {
        self.0
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn update(&self, f: impl FnOnce(&mut Shown)) {
        let mut shown = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut shown);
    }

    fn add(&self, what: Shows) {
        self.update(|shown| match what {
            Shows::Mesh => shown.mesh = MeshShown::Everything,
            Shows::Scorecards => shown.scorecards = true,
        });
    }

    fn add_components<'a>(&self, refs: impl IntoIterator<Item = &'a str>) {
        let mut refs = refs.into_iter().peekable();
        if refs.peek().is_none() {
            // No component shown: none of the mesh state either.
            return;
        }
        self.update(|shown| {
            let mut names = match std::mem::take(&mut shown.mesh) {
                MeshShown::Everything => {
                    shown.mesh = MeshShown::Everything;
                    return;
                }
                MeshShown::Nothing => BTreeSet::new(),
                MeshShown::Components(names) => names,
            };
            names.extend(refs.map(str::to_ascii_lowercase));
            shown.mesh = if names.len() > MAX_COMPONENTS {
                MeshShown::Everything
            } else {
                MeshShown::Components(names)
            };
        });
    }
}

/// The marks of the render in progress, when the page cache asked for them.
#[cfg(feature = "ssr")]
fn marks() -> Option<RenderMarks> {
    leptos::reactive::owner::with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<RenderMarks>().cloned()
    })
    .flatten()
}

/// During server rendering, marks the page as showing `what`. Does nothing in the browser,
/// or when nobody collects the marks.
pub fn mark_shows(what: Shows) {
    #[cfg(feature = "ssr")]
    if let Some(marks) = marks() {
        marks.add(what);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = what;
}

/// During server rendering, marks the page as showing the mesh state of the components
/// `refs` (reference keys, `component:default/checkout`). Does nothing in the browser.
pub fn mark_shows_mesh_of<'a>(refs: impl IntoIterator<Item = &'a str>) {
    #[cfg(feature = "ssr")]
    if let Some(marks) = marks() {
        marks.add_components(refs);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = refs;
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn marks_add_up_and_the_whole_mesh_absorbs_components() {
        let marks = RenderMarks::default();
        marks.add_components([]);
        assert_eq!(marks.shown(), Shown::default(), "no component, no mesh state");
        marks.add_components(["Component:default/A"]);
        marks.add_components(["component:default/b"]);
        marks.add(Shows::Scorecards);
        let names = ["component:default/a", "component:default/b"].map(str::to_owned);
        assert_eq!(
            marks.shown(),
            Shown {
                mesh: MeshShown::Components(names.into_iter().collect()),
                scorecards: true
            }
        );
        marks.add(Shows::Mesh);
        marks.add_components(["component:default/c"]);
        assert_eq!(marks.shown().mesh, MeshShown::Everything);

        let many = RenderMarks::default();
        let refs: Vec<String> = (0..=MAX_COMPONENTS)
            .map(|i| format!("component:default/c{i}"))
            .collect();
        many.add_components(refs.iter().map(String::as_str));
        assert_eq!(many.shown().mesh, MeshShown::Everything, "too many names to check");
    }
}
