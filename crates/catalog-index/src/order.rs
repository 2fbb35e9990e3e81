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

/// `old` (sorted by `by`) without the slots marked in `dropped`, merged with `added` (in any
/// order), all compared on the entries of `slots`.
pub(crate) fn merged<T>(
    by: By,
    old: &[u32],
    dropped: &[bool],
    added: &[u32],
    slots: &[Option<Arc<Entry<T>>>],
) -> Vec<u32> {
    let mut added = added.to_vec();
    added.sort_by(|a, b| by.cmp(entry(slots, *a), entry(slots, *b)));
    let mut out = Vec::with_capacity(old.len() + added.len());
    let mut new = added.into_iter().peekable();
    for &s in old {
        if dropped.get(s as usize).copied().unwrap_or(false) {
            continue;
        }
        while let Some(&n) = new.peek() {
            if by.cmp(entry(slots, n), entry(slots, s)) == Ordering::Less {
                out.push(n);
                new.next();
            } else {
                break;
            }
        }
        out.push(s);
    }
    out.extend(new);
    out
}
