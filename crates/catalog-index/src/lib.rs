//! The catalog's list, search and facet counts, answered from memory.
//!
//! Every catalog page that lists entities (the catalog list with its filter side bar, search,
//! the home page, the JSON list API) asks the same question: which entities match some
//! filters and some text, in which order, how many in all, and how many per value of each
//! facet. Answering it in SQL costs a scan, a window count and five facet queries per request,
//! which a cache can only hide for repeated requests. This crate keeps every entity's summary
//! in a [`CatalogIndex`] built once from a snapshot (the server rebuilds it when the catalog
//! changes and swaps it whole), and answers any such question in one pass over the entries:
//! filters compare interned ids, the four orders are precomputed permutations, facet counts are
//! gathered in the same pass, and free text goes through a tantivy index (prefix and typo
//! tolerant, ranked by BM25 with the name weighted highest).
//!
//! ```
//! use bearing_catalog_index::{CatalogIndex, Entry, Query, Sort};
//!
//! let entry = |name: &str, owner: &str| Entry {
//!     key: format!("component:default/{name}"),
//!     kind: "component".into(),
//!     name: name.into(),
//!     title: None,
//!     description: Some("Moves money".into()),
//!     entity_type: Some("service".into()),
//!     lifecycle: Some("production".into()),
//!     owner: Some(owner.into()),
//!     tags: vec!["payments".into()],
//!     orphaned: false,
//!     updated_at: 0,
//!     payload: name.to_owned(),
//! };
//! let index = CatalogIndex::build(vec![entry("ledger", "group:default/core"), entry("checkout", "group:default/web")])?;
//! let page = index.query(&Query { text: Some("ledgr"), limit: 10, ..Query::default() })?;
//! assert_eq!(page.items, vec![&"ledger".to_owned()]);
//! let page = index.query(&Query { owner: Some("group:default/web"), sort: Sort::Name, ..Query::default() })?;
//! assert_eq!((page.total, page.facets.owner.len()), (1, 2), "the owner facet ignores its own filter");
//! # Ok::<(), bearing_catalog_index::IndexError>(())
//! ```
#![deny(missing_docs)]

mod facets;
mod order;
mod text;
mod update;

use std::collections::HashMap;
use std::sync::Arc;

pub use facets::{FacetCounts, FACET_LIMIT};

/// One entity as the index keeps it. `payload` is what a query hands back for each hit (the
/// caller's summary type): the index never looks inside it.
#[derive(Clone, Debug)]
pub struct Entry<T> {
    /// The reference key (`component:default/ledger`), unique; the last tie breaker of every
    /// order.
    pub key: String,
    /// Lower case, as stored.
    pub kind: String,
    /// As declared (`metadata.name`).
    pub name: String,
    /// `metadata.title`.
    pub title: Option<String>,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `spec.type`.
    pub entity_type: Option<String>,
    /// `spec.lifecycle`.
    pub lifecycle: Option<String>,
    /// The owner's reference key, lower case.
    pub owner: Option<String>,
    /// `metadata.tags`.
    pub tags: Vec<String>,
    /// Its source no longer declares it.
    pub orphaned: bool,
    /// When it last changed, in any unit that orders (the server uses Unix nanoseconds).
    pub updated_at: i64,
    /// Returned with each hit.
    pub payload: T,
}

/// The orders a list can be asked in. Every order ends with the reference key, so pages never
/// overlap or skip an entity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// With text: best match first, then by name. Without: as [`Sort::Name`].
    #[default]
    Relevance,
    /// Name, then kind.
    Name,
    /// Name descending, then kind.
    NameDesc,
    /// Kind, then name.
    Kind,
    /// Most recently changed first, then name.
    Updated,
}

/// What to list: filters (exact values; kind and owner compared in lower case), optional free
/// text, order and page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<'a> {
    /// Entities of this kind.
    pub kind: Option<&'a str>,
    /// Entities of this `spec.type`.
    pub entity_type: Option<&'a str>,
    /// Entities owned by this reference key.
    pub owner: Option<&'a str>,
    /// Entities in this lifecycle.
    pub lifecycle: Option<&'a str>,
    /// Entities carrying this tag.
    pub tag: Option<&'a str>,
    /// Free text: every word must match a word of the name, title, description, tags, type or
    /// kind, as a prefix or within one typo (two for words of eight letters or more).
    pub text: Option<&'a str>,
    /// The order.
    pub sort: Sort,
    /// Hits to skip.
    pub offset: usize,
    /// Zero means no items (counts only).
    pub limit: usize,
}

/// One page of a query's answer.
#[derive(Debug)]
pub struct Page<'a, T> {
    /// The hits of the page, in order.
    pub items: Vec<&'a T>,
    /// Every entity matching the query, over all pages.
    pub total: usize,
    /// Per facet, the most frequent values among the entities matching every filter but that
    /// facet's own (so the side bar offers the alternatives), and the text.
    pub facets: FacetCounts,
}

/// Why the index could not be built or queried: tantivy failed, which on an in-memory index
/// means a bug or no memory, never bad input.
#[derive(Debug, thiserror::Error)]
#[error("catalog search index: {0}")]
pub struct IndexError(#[from] tantivy::TantivyError);

/// Distinct values of one facet, each given a small id so filters and counts compare integers.
/// Values are never forgotten before a full build (a value no entry has any more counts zero and
/// is not listed).
#[derive(Clone, Debug, Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn intern(&mut self, value: &str) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.ids.insert(value.to_owned(), id);
        self.values.push(value.to_owned());
        id
    }

    fn get(&self, value: &str) -> Option<u32> {
        self.ids.get(value).copied()
    }
}

/// The facets, in the order of their bits in a mismatch mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Facet {
    Kind = 0,
    Type = 1,
    Owner = 2,
    Lifecycle = 3,
    Tag = 4,
}

const FACETS: [Facet; 5] = [Facet::Kind, Facet::Type, Facet::Owner, Facet::Lifecycle, Facet::Tag];

/// An entry's facet values as ids; its tags are a range of the index's tag pool, so the ids of
/// every entry copy as one block when the index is updated.
#[derive(Clone, Copy, Debug, Default)]
struct Ids {
    kind: u32,
    entity_type: Option<u32>,
    owner: Option<u32>,
    lifecycle: Option<u32>,
    tags_start: u32,
    tags_len: u32,
}

/// Every entity's summary, with what answers list queries fast. Immutable: built whole from a
/// snapshot of the catalog with [`CatalogIndex::build`], and followed by the next version with
/// [`CatalogIndex::with_changes`] when a few entities change.
///
/// Each entry has a slot, its position in `slots`: the permutations and the text index refer to
/// entries by slot. An update keeps the slot of an entry it replaces and appends new ones; a
/// removed entry leaves an empty slot ([`CatalogIndex::holes`]) until the next full build.
pub struct CatalogIndex<T> {
    /// Shared with the versions made from this one: an update copies pointers, not entries.
    slots: Vec<Option<Arc<Entry<T>>>>,
    ids: Vec<Ids>,
    tag_pool: Vec<u32>,
    values: [Interner; 5],
    /// Live slots by key: finds an entry to replace or remove.
    by_key: Vec<u32>,
    by_name: Vec<u32>,
    by_name_desc: Vec<u32>,
    by_kind: Vec<u32>,
    by_updated: Vec<u32>,
    orphaned: usize,
    text: text::TextIndex,
}

impl<T> std::fmt::Debug for CatalogIndex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogIndex")
            .field("entries", &self.len())
            .field("holes", &self.holes())
            .finish()
    }
}

impl<T> CatalogIndex<T> {
    /// Indexes `entries` (their order does not matter). Keys are expected to be unique; a
    /// duplicate is listed twice.
    pub fn build(entries: Vec<Entry<T>>) -> Result<Self, IndexError> {
        let slots: Vec<Option<Arc<Entry<T>>>> = entries.into_iter().map(|e| Some(Arc::new(e))).collect();
        let mut values: [Interner; 5] = Default::default();
        let mut tag_pool = Vec::new();
        let ids: Vec<Ids> = slots
            .iter()
            .flatten()
            .map(|e| intern(&mut values, &mut tag_pool, e))
            .collect();
        let live: Vec<u32> = (0..slots.len()).map(position).collect();
        let sorted = |by: order::By| {
            let mut order = live.clone();
            order.sort_by(|a, b| by.cmp(entry(&slots, *a), entry(&slots, *b)));
            order
        };
        let text = text::TextIndex::build(&slots)?;
        Ok(CatalogIndex {
            orphaned: slots.iter().flatten().filter(|e| e.orphaned).count(),
            by_key: sorted(order::By::Key),
            by_name: sorted(order::By::Name),
            by_name_desc: sorted(order::By::NameDesc),
            by_kind: sorted(order::By::Kind),
            by_updated: sorted(order::By::Updated),
            slots,
            ids,
            tag_pool,
            values,
            text,
        })
    }

    /// How many entities it holds.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// How many of them are orphaned.
    pub fn orphaned(&self) -> usize {
        self.orphaned
    }

    /// Slots left empty by removals since the last full build: memory a full build would give
    /// back, and a reason for the caller to make one when it grows large.
    pub fn holes(&self) -> usize {
        self.slots.len() - self.len()
    }

    /// The entry with this key, if any.
    pub fn get(&self, key: &str) -> Option<&Entry<T>> {
        let i = self
            .by_key
            .binary_search_by(|s| entry(&self.slots, *s).key.as_str().cmp(key))
            .ok()?;
        Some(entry(&self.slots, self.by_key[i]))
    }

    /// One page of the entities matching `q`, their total and the facet counts.
    pub fn query(&self, q: &Query<'_>) -> Result<Page<'_, T>, IndexError> {
        let filters = self.filters(q);
        let text = q.text.map(str::trim).filter(|t| !t.is_empty());
        // With text, the candidates are the text's matches (best first when ranked); without,
        // every entry in the asked order.
        let ranked;
        let order: &[u32] = match (text, q.sort) {
            (Some(text), sort) => {
                let mut hits = self.text.search(text)?;
                match sort {
                    Sort::Relevance => {
                        hits.sort_by(|(a, sa), (b, sb)| sb.total_cmp(sa).then_with(|| self.name_order(*a, *b)))
                    }
                    other => {
                        let rank = self.rank_of(other);
                        hits.sort_by_key(|(i, _)| rank[*i as usize]);
                    }
                }
                ranked = hits.into_iter().map(|(i, _)| i).collect::<Vec<u32>>();
                &ranked
            }
            (None, sort) => self.order(sort),
        };
        let mut counts = facets::Counter::new(&self.values);
        let mut items = Vec::with_capacity(q.limit.min(order.len()));
        let mut total = 0usize;
        for &i in order {
            let ids = &self.ids[i as usize];
            let tags = self.tags(ids);
            let mask = filters.mismatches(ids, tags);
            counts.add(ids, tags, mask);
            if mask == 0 {
                if total >= q.offset && items.len() < q.limit {
                    items.push(&entry(&self.slots, i).payload);
                }
                total += 1;
            }
        }
        Ok(Page {
            items,
            total,
            facets: counts.finish(&self.values),
        })
    }

    fn tags(&self, ids: &Ids) -> &[u32] {
        let start = ids.tags_start as usize;
        self.tag_pool
            .get(start..start + ids.tags_len as usize)
            .unwrap_or_default()
    }

    fn filters(&self, q: &Query<'_>) -> facets::Filters {
        let [kind, entity_type, owner, lifecycle, tag] = &self.values;
        facets::Filters {
            kind: q.kind.map(|v| kind.get(&v.to_ascii_lowercase())),
            entity_type: q.entity_type.map(|v| entity_type.get(v)),
            owner: q.owner.map(|v| owner.get(&v.to_ascii_lowercase())),
            lifecycle: q.lifecycle.map(|v| lifecycle.get(v)),
            tag: q.tag.map(|v| tag.get(v)),
        }
    }

    /// The live slots in the order `sort` lists them without text.
    fn order(&self, sort: Sort) -> &[u32] {
        match sort {
            Sort::Relevance | Sort::Name => &self.by_name,
            Sort::NameDesc => &self.by_name_desc,
            Sort::Kind => &self.by_kind,
            Sort::Updated => &self.by_updated,
        }
    }

    /// Each slot's position in the order `sort` lists it without text.
    fn rank_of(&self, sort: Sort) -> Vec<u32> {
        let mut rank = vec![u32::MAX; self.slots.len()];
        for (pos, &i) in self.order(sort).iter().enumerate() {
            rank[i as usize] = position(pos);
        }
        rank
    }

    fn name_order(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (a, b) = (entry(&self.slots, a), entry(&self.slots, b));
        (&a.name, &a.key).cmp(&(&b.name, &b.key))
    }
}

/// Interns an entry's facet values, appending its tags to `tag_pool`.
fn intern<T>(values: &mut [Interner; 5], tag_pool: &mut Vec<u32>, e: &Entry<T>) -> Ids {
    let [kind, entity_type, owner, lifecycle, tags] = values;
    let tags_start = position(tag_pool.len());
    tag_pool.extend(e.tags.iter().map(|t| tags.intern(t)));
    Ids {
        kind: kind.intern(&e.kind),
        entity_type: e.entity_type.as_deref().map(|v| entity_type.intern(v)),
        owner: e.owner.as_deref().map(|v| owner.intern(v)),
        lifecycle: e.lifecycle.as_deref().map(|v| lifecycle.intern(v)),
        tags_start,
        tags_len: position(e.tags.len()),
    }
}

/// The entry in live slot `i`. Every order, and every hit of the text index, names live slots
/// only: an empty one here is a bug in this crate.
fn entry<T>(slots: &[Option<Arc<Entry<T>>>], i: u32) -> &Entry<T> {
    match slots.get(i as usize) {
        Some(Some(e)) => e,
        _ => unreachable_empty_slot(i),
    }
}

#[cold]
fn unreachable_empty_slot(i: u32) -> ! {
    panic!("catalog index: slot {i} is listed but empty")
}

/// An entry's position as the u32 the orders hold. A catalog beyond four billion entities is
/// not one this index is for; positions saturate rather than wrap.
fn position(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
