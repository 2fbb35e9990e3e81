//! Catalog widgets. Each takes the data it shows: the entity table and the facet side bar of the
//! list pages (and the list parameters they share), the parts of the entity page.

mod entity;
mod facets;
mod group;
mod table;

pub use entity::EntityView;
pub use facets::FacetSidebar;
pub use group::GroupPanel;
pub use table::EntityTable;

use leptos_router::params::ParamsMap;

use super::{ListQuery, Sort};
use crate::ui::href_with;

/// Rows per page on catalog and search pages.
pub const PER_PAGE: i64 = 25;

/// The list parameters as they appear in the address bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogParams {
    pub kind: Option<String>,
    pub entity_type: Option<String>,
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub tag: Option<String>,
    pub q: Option<String>,
    pub sort: Sort,
    pub page: i64,
}

impl CatalogParams {
    /// Reads the parameters from the query string; bad page numbers mean page 1.
    pub fn from_map(map: &ParamsMap) -> Self {
        let get = |k: &str| map.get(k).filter(|v| !v.trim().is_empty());
        CatalogParams {
            kind: get("kind"),
            entity_type: get("type"),
            owner: get("owner"),
            lifecycle: get("lifecycle"),
            tag: get("tag"),
            q: get("q"),
            sort: get("sort").map(|s| Sort::parse(&s)).unwrap_or_default(),
            page: get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1),
        }
    }

    /// The query the server function takes.
    pub fn to_query(&self) -> ListQuery {
        ListQuery {
            kind: self.kind.clone(),
            entity_type: self.entity_type.clone(),
            owner: self.owner.clone(),
            lifecycle: self.lifecycle.clone(),
            tag: self.tag.clone(),
            q: self.q.clone(),
            sort: self.sort,
            offset: (self.page - 1).saturating_mul(PER_PAGE),
            limit: PER_PAGE,
        }
    }

    /// The address of these parameters on `base`, after applying `change`.
    pub fn href(&self, base: &str, change: impl FnOnce(&mut Self)) -> String {
        let mut p = self.clone();
        change(&mut p);
        href_with(
            base,
            &[
                ("q", p.q),
                ("kind", p.kind),
                ("type", p.entity_type),
                ("owner", p.owner),
                ("lifecycle", p.lifecycle),
                ("tag", p.tag),
                ("sort", (p.sort != Sort::Relevance).then(|| p.sort.as_str().to_owned())),
                ("page", (p.page > 1).then(|| p.page.to_string())),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_through_href() {
        let p = CatalogParams {
            kind: Some("component".into()),
            q: Some("pay".into()),
            page: 2,
            ..Default::default()
        };
        assert_eq!(p.href("/catalog", |_| {}), "/catalog?q=pay&kind=component&page=2");
        assert_eq!(p.href("/catalog", |p| p.kind = None), "/catalog?q=pay&page=2");
        assert_eq!(p.to_query().offset, PER_PAGE);
    }
}
