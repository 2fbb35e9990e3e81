//! Filters as interned ids, and facet counts gathered in the same pass as the hits.
//!
//! Each entry is compared once with every filter, giving a mask of the filters it fails. An
//! entry failing none is a hit and counts for every facet; an entry failing exactly one filter
//! counts for that filter's facet only, since each facet is counted as if its own filter were
//! not set.

use super::{Facet, Ids, Interner, FACETS};

/// Values listed per facet, most frequent first.
pub const FACET_LIMIT: usize = 20;

/// The most frequent values of each facet with their counts, most frequent first (ties by
/// value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FacetCounts {
    /// Kinds.
    pub kind: Vec<(String, usize)>,
    /// Types.
    pub entity_type: Vec<(String, usize)>,
    /// Owners.
    pub owner: Vec<(String, usize)>,
    /// Lifecycles.
    pub lifecycle: Vec<(String, usize)>,
    /// Tags.
    pub tag: Vec<(String, usize)>,
}

/// A query's filters: `None` is no filter, `Some(None)` a value no entry has (nothing passes).
#[derive(Debug)]
pub(crate) struct Filters {
    pub kind: Option<Option<u32>>,
    pub entity_type: Option<Option<u32>>,
    pub owner: Option<Option<u32>>,
    pub lifecycle: Option<Option<u32>>,
    pub tag: Option<Option<u32>>,
}

impl Filters {
    /// The bits (by [`Facet`]) of the filters `ids` (with its `tags`) fails.
    pub fn mismatches(&self, ids: &Ids, tags: &[u32]) -> u8 {
        fn fails(filter: Option<Option<u32>>, value: Option<u32>) -> bool {
            filter.is_some_and(|wanted| wanted.is_none() || wanted != value)
        }
        let mut mask = 0u8;
        if fails(self.kind, Some(ids.kind)) {
            mask |= 1 << Facet::Kind as u8;
        }
        if fails(self.entity_type, ids.entity_type) {
            mask |= 1 << Facet::Type as u8;
        }
        if fails(self.owner, ids.owner) {
            mask |= 1 << Facet::Owner as u8;
        }
        if fails(self.lifecycle, ids.lifecycle) {
            mask |= 1 << Facet::Lifecycle as u8;
        }
        if let Some(wanted) = self.tag {
            if !wanted.is_some_and(|t| tags.contains(&t)) {
                mask |= 1 << Facet::Tag as u8;
            }
        }
        mask
    }
}

/// Counts per facet value id.
pub(crate) struct Counter {
    counts: [Vec<usize>; 5],
}

impl Counter {
    pub fn new(values: &[Interner; 5]) -> Self {
        Counter {
            counts: std::array::from_fn(|f| vec![0; values[f].values.len()]),
        }
    }

    /// Counts `ids` (with its `tags`) for the facets its mismatch `mask` lets it count for.
    pub fn add(&mut self, ids: &Ids, tags: &[u32], mask: u8) {
        let counts_for = |facet: Facet| mask == 0 || mask == 1 << facet as u8;
        let [kind, entity_type, owner, lifecycle, tag] = &mut self.counts;
        if counts_for(Facet::Kind) {
            kind[ids.kind as usize] += 1;
        }
        if counts_for(Facet::Type) {
            if let Some(v) = ids.entity_type {
                entity_type[v as usize] += 1;
            }
        }
        if counts_for(Facet::Owner) {
            if let Some(v) = ids.owner {
                owner[v as usize] += 1;
            }
        }
        if counts_for(Facet::Lifecycle) {
            if let Some(v) = ids.lifecycle {
                lifecycle[v as usize] += 1;
            }
        }
        if counts_for(Facet::Tag) {
            for t in tags {
                tag[*t as usize] += 1;
            }
        }
    }

    pub fn finish(self, values: &[Interner; 5]) -> FacetCounts {
        let mut out = FACETS.map(|facet| {
            let f = facet as usize;
            let mut top: Vec<(&str, usize)> = self.counts[f]
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(id, n)| (values[f].values[id].as_str(), *n))
                .collect();
            top.sort_by(|(va, a), (vb, b)| b.cmp(a).then_with(|| va.cmp(vb)));
            top.into_iter()
                .take(FACET_LIMIT)
                .map(|(v, n)| (v.to_owned(), n))
                .collect::<Vec<_>>()
        });
        FacetCounts {
            tag: std::mem::take(&mut out[Facet::Tag as usize]),
            lifecycle: std::mem::take(&mut out[Facet::Lifecycle as usize]),
            owner: std::mem::take(&mut out[Facet::Owner as usize]),
            entity_type: std::mem::take(&mut out[Facet::Type as usize]),
            kind: std::mem::take(&mut out[Facet::Kind as usize]),
        }
    }
}
