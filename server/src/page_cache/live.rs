//! Changes of the live state (mesh, scorecards) this server has been told of, and whether a
//! page rendered earlier still shows the current state.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use app::mesh::repo::change::Changed;
use app::rendered::{MeshShown, Shown};

/// Components remembered with the change that last touched them; past this many, the oldest
/// knowledge is dropped by counting one change of everything instead.
const MAX_COMPONENTS: usize = 100_000;

/// The changes told so far.
#[derive(Debug, Default)]
pub(super) struct LiveChanges(RwLock<Counts>);

#[derive(Debug, Default)]
struct Counts {
    /// Changes of the mesh state, numbered from 1.
    mesh: u64,
    /// The last change of everything in the mesh.
    mesh_everything_at: u64,
    /// The last change that touched each component.
    components: HashMap<String, u64>,
    /// Scorecard rounds that changed results.
    scorecards: u64,
}

/// How many changes had been told at some moment (before a page's render began).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Seen {
    mesh: u64,
    scorecards: u64,
}

impl LiveChanges {
    fn read(&self) -> RwLockReadGuard<'_, Counts> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Counts> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The changes told so far, to be remembered by the page about to render.
    pub(super) fn seen(&self) -> Seen {
        let counts = self.read();
        Seen {
            mesh: counts.mesh,
            scorecards: counts.scorecards,
        }
    }

    /// The mesh state changed as `changed` says.
    pub(super) fn mesh_changed(&self, changed: &Changed) {
        let mut counts = self.write();
        counts.mesh += 1;
        let at = counts.mesh;
        match changed {
            Changed::Components(refs) if counts.components.len() + refs.len() <= MAX_COMPONENTS => {
                for r in refs {
                    counts.components.insert(r.clone(), at);
                }
            }
            _ => {
                counts.mesh_everything_at = at;
                counts.components.clear();
            }
        }
    }

    /// How many changes of the mesh state were told.
    pub(super) fn mesh_changes(&self) -> u64 {
        self.read().mesh
    }

    /// Scorecard results changed.
    pub(super) fn scorecards_changed(&self) {
        self.write().scorecards += 1;
    }

    /// Whether a page that showed `shown`, rendered after the changes in `seen`, shows the
    /// current state.
    pub(super) fn is_current(&self, shown: &Shown, seen: Seen) -> bool {
        let counts = self.read();
        let scorecards = !shown.scorecards || counts.scorecards == seen.scorecards;
        let mesh = counts.mesh == seen.mesh
            || match &shown.mesh {
                MeshShown::Nothing => true,
                MeshShown::Everything => false,
                MeshShown::Components(refs) => {
                    counts.mesh_everything_at <= seen.mesh
                        && refs
                            .iter()
                            .all(|r| counts.components.get(r).is_none_or(|&at| at <= seen.mesh))
                }
            };
        scorecards && mesh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn components(refs: &[&str]) -> MeshShown {
        MeshShown::Components(refs.iter().map(|r| (*r).to_owned()).collect())
    }

    fn touched(refs: &[&str]) -> Changed {
        Changed::Components(refs.iter().map(|r| (*r).to_owned()).collect())
    }

    #[test]
    fn a_page_is_stale_only_once_what_it_shows_changed() {
        let live = LiveChanges::default();
        let page = |mesh: MeshShown, scorecards: bool| Shown { mesh, scorecards };
        let plain = page(MeshShown::Nothing, false);
        let a = page(components(&["component:default/a"]), false);
        let b = page(components(&["component:default/b"]), true);
        let overview = page(MeshShown::Everything, false);
        let seen = live.seen();
        for shown in [&plain, &a, &b, &overview] {
            assert!(live.is_current(shown, seen), "nothing changed: {shown:?}");
        }

        live.mesh_changed(&touched(&["component:default/a"]));
        assert!(live.is_current(&plain, seen));
        assert!(!live.is_current(&a, seen), "a's state changed");
        assert!(live.is_current(&b, seen), "b's did not");
        assert!(!live.is_current(&overview, seen), "the overview shows all");
        let later = live.seen();
        assert!(live.is_current(&a, later), "rendered after the change");

        live.mesh_changed(&touched(&[]));
        assert!(
            live.is_current(&a, later) && !live.is_current(&overview, later),
            "unmapped services"
        );

        live.scorecards_changed();
        assert!(!live.is_current(&b, later) && live.is_current(&a, later));

        let later = live.seen();
        live.mesh_changed(&Changed::Everything);
        assert!(live.is_current(&plain, later));
        for shown in [&a, &b, &overview] {
            assert!(!live.is_current(shown, later), "everything changed: {shown:?}");
        }
    }
}
