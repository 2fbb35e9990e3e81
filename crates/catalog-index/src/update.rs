//! The next version of an index from the previous one and a few changed entries, in time
//! proportional to the catalog's size only for copying slot numbers (milliseconds at 100,000
//! entities), not to indexing it again (seconds).

use std::collections::HashMap;
use std::sync::Arc;

use super::order::{merged, By};
use super::{intern, position, CatalogIndex, Entry, IndexError};

impl<T> CatalogIndex<T> {
    /// This index with the entities keyed `removals` taken out and then `upserts` put in (an
    /// upsert replaces the entry with its key, or adds one; of two upserts with one key, the
    /// last counts; removing a key the index does not hold does nothing). `self` is unchanged
    /// and keeps answering: readers holding it are not disturbed.
    ///
    /// Entries are shared between the two versions, and the sort orders are merged rather than
    /// sorted again, so the cost is a copy of a few numbers per entity plus the changed
    /// entities' text: meant for edits of a few entities, where [`CatalogIndex::build`] would
    /// index everything again. The text index is changed in place when `self` is the latest
    /// version made from its build (otherwise it is built again, slower but as correct).
    ///
    /// ```
    /// use bearing_catalog_index::{CatalogIndex, Entry, Query};
    ///
    /// let entry = |name: &str, owner: &str| Entry {
    ///     key: format!("component:default/{name}"),
    ///     kind: "component".into(),
    ///     name: name.into(),
    ///     title: None,
    ///     description: None,
    ///     entity_type: Some("service".into()),
    ///     lifecycle: Some("production".into()),
    ///     owner: Some(owner.into()),
    ///     tags: vec![],
    ///     orphaned: false,
    ///     updated_at: 0,
    ///     payload: (),
    /// };
    /// let before = CatalogIndex::build(vec![entry("ledger", "group:default/core"), entry("checkout", "group:default/web")])?;
    /// let after = before.with_changes(vec![entry("ledger", "group:default/web")], &[])?;
    /// let web = Query { owner: Some("group:default/web"), ..Query::default() };
    /// assert_eq!((before.query(&web)?.total, after.query(&web)?.total), (1, 2));
    /// let gone = after.with_changes(Vec::new(), &["component:default/checkout".to_owned()])?;
    /// assert_eq!(gone.len(), 1);
    /// # Ok::<(), bearing_catalog_index::IndexError>(())
    /// ```
    pub fn with_changes(&self, upserts: Vec<Entry<T>>, removals: &[String]) -> Result<Self, IndexError> {
        // The last upsert of each key.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(upserts.len());
        for (i, e) in upserts.iter().enumerate() {
            last.insert(e.key.as_str(), i);
        }
        let mut keep: Vec<bool> = vec![false; upserts.len()];
        for i in last.into_values() {
            keep[i] = true;
        }
        let upserts: Vec<Entry<T>> = upserts
            .into_iter()
            .zip(keep)
            .filter_map(|(e, k)| k.then_some(e))
            .collect();

        let mut slots = self.slots.clone();
        let mut ids = self.ids.clone();
        let mut tag_pool = self.tag_pool.clone();
        let mut values = self.values.clone();
        let (mut orphans_dropped, mut orphans_added) = (0usize, 0usize);
        // Slots whose entry is gone or replaced: out of every order and the text index.
        let mut dropped = vec![false; slots.len()];
        let mut dropped_slots = Vec::new();
        let mut drop_key = |key: &str, slots: &mut Vec<Option<Arc<Entry<T>>>>| -> Option<u32> {
            let mut freed = None;
            for s in self.slots_of(key) {
                if let Some(old) = slots[s as usize].take() {
                    orphans_dropped += usize::from(old.orphaned);
                    dropped[s as usize] = true;
                    dropped_slots.push(s);
                    freed.get_or_insert(s);
                }
            }
            freed
        };
        for key in removals {
            drop_key(key, &mut slots);
        }
        let mut added = Vec::with_capacity(upserts.len());
        for e in upserts {
            // A replaced entry keeps its slot (so does one removed and put back in one call).
            let slot = match drop_key(&e.key, &mut slots) {
                Some(s) => s,
                None => match self.slots_of(&e.key).next() {
                    Some(s) => s,
                    None => {
                        slots.push(None);
                        ids.push(Default::default());
                        position(slots.len() - 1)
                    }
                },
            };
            orphans_added += usize::from(e.orphaned);
            ids[slot as usize] = intern(&mut values, &mut tag_pool, &e);
            slots[slot as usize] = Some(Arc::new(e));
            added.push(slot);
        }
        let orphaned = (self.orphaned + orphans_added).saturating_sub(orphans_dropped);
        let reorder = |by: By, old: &[u32]| merged(by, old, &dropped, &added, &self.slots, &slots);
        let (by_key, by_name) = (reorder(By::Key, &self.by_key), reorder(By::Name, &self.by_name));
        let by_name_desc = reorder(By::NameDesc, &self.by_name_desc);
        let by_kind = reorder(By::Kind, &self.by_kind);
        let by_updated = reorder(By::Updated, &self.by_updated);
        let added_entries: Vec<(u32, &Entry<T>)> = added.iter().map(|&s| (s, super::entry(&slots, s))).collect();
        let text = self.text.with_changes(&dropped_slots, &added_entries, &slots)?;
        drop(added_entries);
        let mut next = CatalogIndex {
            slots,
            ids,
            tag_pool,
            values,
            by_key,
            by_name,
            by_name_desc,
            by_kind,
            by_updated,
            orphaned,
            text,
        };
        next.compact_tags();
        Ok(next)
    }

    /// The slots holding `key` (more than one only if it was built with duplicate keys).
    fn slots_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = u32> + 'a {
        let start = self
            .by_key
            .partition_point(|s| super::entry(&self.slots, *s).key.as_str() < key);
        self.by_key[start..]
            .iter()
            .copied()
            .take_while(move |s| super::entry(&self.slots, *s).key == key)
    }

    /// Copies the live entries' tags into a new pool once replaced entries' tags make up more
    /// than half of it.
    fn compact_tags(&mut self) {
        let live: usize = self
            .by_key
            .iter()
            .map(|s| self.ids[*s as usize].tags_len as usize)
            .sum();
        if self.tag_pool.len() <= 2 * live + 1024 {
            return;
        }
        let mut pool = Vec::with_capacity(live);
        for &s in &self.by_key {
            let ids = &mut self.ids[s as usize];
            let start = ids.tags_start as usize;
            let tags = self
                .tag_pool
                .get(start..start + ids.tags_len as usize)
                .unwrap_or_default();
            ids.tags_start = position(pool.len());
            pool.extend_from_slice(tags);
        }
        self.tag_pool = pool;
    }
}
