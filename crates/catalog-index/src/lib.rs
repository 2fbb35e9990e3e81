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
mod text;

use std::collections::HashMap;

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
#[derive(Debug, Default)]
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

/// An entry's facet values as ids.
#[derive(Debug)]
struct Ids {
    kind: u32,
    entity_type: Option<u32>,
    owner: Option<u32>,
    lifecycle: Option<u32>,
    tags: Vec<u32>,
}

/// Every entity's summary, with what answers list queries fast. Immutable: built whole from a
/// snapshot of the catalog and replaced whole when it changes.
pub struct CatalogIndex<T> {
    entries: Vec<Entry<T>>,
    ids: Vec<Ids>,
    values: [Interner; 5],
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
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl<T> CatalogIndex<T> {
    /// Indexes `entries` (their order does not matter). Keys are expected to be unique; a
    /// duplicate is listed twice.
    pub fn build(entries: Vec<Entry<T>>) -> Result<Self, IndexError> {
        let mut values: [Interner; 5] = Default::default();
        let ids: Vec<Ids> = entries
            .iter()
            .map(|e| {
                let [kind, entity_type, owner, lifecycle, tags] = &mut values;
                Ids {
                    kind: kind.intern(&e.kind),
                    entity_type: e.entity_type.as_deref().map(|v| entity_type.intern(v)),
                    owner: e.owner.as_deref().map(|v| owner.intern(v)),
                    lifecycle: e.lifecycle.as_deref().map(|v| lifecycle.intern(v)),
                    tags: e.tags.iter().map(|t| tags.intern(t)).collect(),
                }
            })
            .collect();
        let order = |cmp: &dyn Fn(&Entry<T>, &Entry<T>) -> std::cmp::Ordering| {
            let mut order: Vec<u32> = (0..entries.len()).map(position).collect();
            order.sort_by(|a, b| cmp(&entries[*a as usize], &entries[*b as usize]));
            order
        };
        let by_name = order(&|a, b| (&a.name, &a.kind, &a.key).cmp(&(&b.name, &b.kind, &b.key)));
        let by_name_desc = order(&|a, b| {
            b.name
                .cmp(&a.name)
                .then_with(|| (&a.kind, &a.key).cmp(&(&b.kind, &b.key)))
        });
        let by_kind = order(&|a, b| (&a.kind, &a.name, &a.key).cmp(&(&b.kind, &b.name, &b.key)));
        let by_updated = order(&|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| (&a.name, &a.key).cmp(&(&b.name, &b.key)))
        });
        let text = text::TextIndex::build(&entries)?;
        Ok(CatalogIndex {
            orphaned: entries.iter().filter(|e| e.orphaned).count(),
            entries,
            ids,
            values,
            by_name,
            by_name_desc,
            by_kind,
            by_updated,
            text,
        })
    }

    /// How many entities it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many of them are orphaned.
    pub fn orphaned(&self) -> usize {
        self.orphaned
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
            (None, Sort::Relevance | Sort::Name) => &self.by_name,
            (None, Sort::NameDesc) => &self.by_name_desc,
            (None, Sort::Kind) => &self.by_kind,
            (None, Sort::Updated) => &self.by_updated,
        };
        let mut counts = facets::Counter::new(&self.values);
        let mut items = Vec::with_capacity(q.limit.min(order.len()));
        let mut total = 0usize;
        for &i in order {
            let ids = &self.ids[i as usize];
            let mask = filters.mismatches(ids);
            counts.add(ids, mask);
            if mask == 0 {
                if total >= q.offset && items.len() < q.limit {
                    items.push(&self.entries[i as usize].payload);
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

    /// Each entry's position in the order `sort` lists it without text.
    fn rank_of(&self, sort: Sort) -> Vec<u32> {
        let order = match sort {
            Sort::Relevance | Sort::Name => &self.by_name,
            Sort::NameDesc => &self.by_name_desc,
            Sort::Kind => &self.by_kind,
            Sort::Updated => &self.by_updated,
        };
        let mut rank = vec![0u32; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            rank[i as usize] = position(pos);
        }
        rank
    }

    fn name_order(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (a, b) = (&self.entries[a as usize], &self.entries[b as usize]);
        (&a.name, &a.key).cmp(&(&b.name, &b.key))
    }
}

/// An entry's position as the u32 the orders hold. A catalog beyond four billion entities is
/// not one this index is for; positions saturate rather than wrap.
fn position(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
