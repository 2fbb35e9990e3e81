//! The orders the index keeps as permutations of slots, and how an update keeps them sorted:
//! drop the changed slots, sort the few new ones, merge (linear in the catalog, no full sort).

use std::cmp::Ordering;
use std::sync::Arc;

use super::{entry, Entry};

/// One kept order. Every order ends with the key, so (with unique keys) it is total.
#[derive(Clone, Copy, Debug)]
pub(crate) enum By {
    /// Key: finds an entry by key.
    Key,
    /// Name, kind, key.
    Name,
    /// Name descending, then kind, key.
    NameDesc,
    /// Kind, name, key.
    Kind,
    /// Most recently changed first, then name, key.
    Updated,
}

impl By {
    pub fn cmp<T>(self, a: &Entry<T>, b: &Entry<T>) -> Ordering {
        match self {
            By::Key => a.key.cmp(&b.key),
            By::Name => (&a.name, &a.kind, &a.key).cmp(&(&b.name, &b.kind, &b.key)),
            By::NameDesc => b
                .name
                .cmp(&a.name)
                .then_with(|| (&a.kind, &a.key).cmp(&(&b.kind, &b.key))),
            By::Kind => (&a.kind, &a.name, &a.key).cmp(&(&b.kind, &b.name, &b.key)),
            By::Updated => b
                .updated_at
                .cmp(&a.updated_at)
                .then_with(|| (&a.name, &a.key).cmp(&(&b.name, &b.key))),
        }
    }
}

/// `old` (sorted by `by` on the entries of `old_slots`) without the slots marked in `dropped`,
/// with `added` (in any order; entries in `slots`) each put where it belongs: a binary search
/// per added entry and one copy of the rest, so that one edit costs no comparison per entity.
pub(crate) fn merged<T>(
    by: By,
    old: &[u32],
    dropped: &[bool],
    added: &[u32],
    old_slots: &[Option<Arc<Entry<T>>>],
    slots: &[Option<Arc<Entry<T>>>],
) -> Vec<u32> {
    // Where each goes among the old entries, as they were (a dropped slot may now hold the
    // entry that replaced it, so the old order is compared on the old entries).
    let mut places: Vec<(usize, u32)> = added
        .iter()
        .map(|&n| {
            let e = entry(slots, n);
            let place = old.partition_point(|&s| by.cmp(entry(old_slots, s), e) == Ordering::Less);
            (place, n)
        })
        .collect();
    places.sort_by(|(pa, a), (pb, b)| pa.cmp(pb).then_with(|| by.cmp(entry(slots, *a), entry(slots, *b))));
    let mut out = Vec::with_capacity(old.len() + added.len());
    let mut from = 0;
    for (place, n) in places {
        keep(&mut out, &old[from..place], dropped);
        out.push(n);
        from = place;
    }
    keep(&mut out, &old[from..], dropped);
    out
}

/// Appends the slots of `old` not marked in `dropped`.
fn keep(out: &mut Vec<u32>, old: &[u32], dropped: &[bool]) {
    out.extend(
        old.iter()
            .copied()
            .filter(|s| !dropped.get(*s as usize).copied().unwrap_or(false)),
    );
}
