//! Catalog widgets: the entity table, the facet side bar and the list parameters they share.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

use super::{ref_href, EntitySummary, FacetCount, Facets, ListQuery, Sort};
use crate::ui::{href_with, KindBadge, LifecycleBadge, OrphanBadge};

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

/// The catalog table: name, kind, type, owner, lifecycle, description.
#[component]
pub fn EntityTable(items: Vec<EntitySummary>) -> impl IntoView {
    let rows = items
        .into_iter()
        .map(|e| {
            let owner = e.owner.clone().map(|o| {
                let label = super::split_ref(&o)
                    .map(|(_, _, n)| n.to_owned())
                    .unwrap_or_else(|| o.clone());
                let href = ref_href(&o);
                view! { <a href=href class="text-indigo-700 hover:underline">{label}</a> }
            });
            let href = e.href();
            let display = e.display_name().to_owned();
            let subtitle = e.title.is_some().then(|| e.name.clone());
            let description = e.description.clone().unwrap_or_default();
            let description_title = description.clone();
            let EntitySummary {
                entity_ref,
                kind,
                entity_type,
                lifecycle,
                orphaned,
                ..
            } = e;
            view! {
                <tr class="border-t border-slate-100 hover:bg-slate-50" data-test-entity-row=entity_ref>
                    <td class="px-3 py-2">
                        <a href=href class="font-medium text-indigo-700 hover:underline">{display}</a>
                        {subtitle.map(|n| view! { <span class="ml-1 text-xs text-slate-400">{n}</span> })}
                        {orphaned.then(|| view! { <span class="ml-2"><OrphanBadge/></span> })}
                    </td>
                    <td class="px-3 py-2"><KindBadge kind=kind/></td>
                    <td class="px-3 py-2 text-sm text-slate-600">{entity_type.unwrap_or_default()}</td>
                    <td class="px-3 py-2 text-sm">{owner}</td>
                    <td class="px-3 py-2">{lifecycle.map(|l| view! { <LifecycleBadge lifecycle=l/> })}</td>
                    <td class="max-w-md truncate px-3 py-2 text-sm text-slate-600" title=description_title>
                        {description}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="w-full text-left">
                <thead class="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Name"</th>
                        <th scope="col" class="px-3 py-2">"Kind"</th>
                        <th scope="col" class="px-3 py-2">"Type"</th>
                        <th scope="col" class="px-3 py-2">"Owner"</th>
                        <th scope="col" class="px-3 py-2">"Lifecycle"</th>
                        <th scope="col" class="px-3 py-2">"Description"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One facet's values as filter links; the active value links back to "any".
#[component]
fn FacetGroup(
    title: &'static str,
    values: Vec<FacetCount>,
    active: Option<String>,
    href: impl Fn(Option<String>) -> String + 'static,
) -> impl IntoView {
    if values.is_empty() && active.is_none() {
        return ().into_any();
    }
    let clear = active.clone().map(|a| {
        view! {
            <li><a href=href(None) class="text-xs text-indigo-700 hover:underline" data-test-clear=title>
                {format!("✕ clear {}", a)}
            </a></li>
        }
    });
    let items = values
        .into_iter()
        .map(|f| {
            let is_active = active.as_deref() == Some(f.value.as_str());
            let label = super::split_ref(&f.value)
                .map(|(_, _, n)| n.to_owned())
                .unwrap_or_else(|| f.value.clone());
            let class = if is_active {
                "flex justify-between rounded bg-indigo-50 px-2 py-0.5 font-medium text-indigo-800"
            } else {
                "flex justify-between rounded px-2 py-0.5 text-slate-700 hover:bg-slate-100"
            };
            view! {
                <li>
                    <a href=href(Some(f.value.clone())) class=class data-test-facet=format!("{title}={}", f.value)>
                        <span class="truncate">{label}</span>
                        <span class="text-slate-400">{f.count}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="mb-4">
            <h3 class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{title}</h3>
            <ul class="space-y-0.5 text-sm">{clear}{items}</ul>
        </section>
    }
    .into_any()
}

/// Builds the link for one facet's values: the current parameters with that filter set to the
/// value (or cleared), back on page 1.
fn facet_href(
    params: &CatalogParams,
    base: &'static str,
    field: fn(&mut CatalogParams) -> &mut Option<String>,
) -> impl Fn(Option<String>) -> String + 'static {
    let params = params.clone();
    move |value| {
        params.href(base, |p| {
            *field(p) = value;
            p.page = 1;
        })
    }
}

/// Filter side bar: kind, type, owner, lifecycle and tag, each with counts.
#[component]
pub fn FacetSidebar(facets: Facets, params: CatalogParams, base: &'static str) -> impl IntoView {
    let kind_href = facet_href(&params, base, |p| &mut p.kind);
    let type_href = facet_href(&params, base, |p| &mut p.entity_type);
    let owner_href = facet_href(&params, base, |p| &mut p.owner);
    let lifecycle_href = facet_href(&params, base, |p| &mut p.lifecycle);
    let tag_href = facet_href(&params, base, |p| &mut p.tag);
    view! {
        <aside aria-label="Filters" class="w-56 shrink-0">
            <FacetGroup title="Kind" values=facets.kind active=params.kind.clone() href=kind_href/>
            <FacetGroup title="Type" values=facets.entity_type active=params.entity_type.clone() href=type_href/>
            <FacetGroup title="Owner" values=facets.owner active=params.owner.clone() href=owner_href/>
            <FacetGroup title="Lifecycle" values=facets.lifecycle active=params.lifecycle.clone() href=lifecycle_href/>
            <FacetGroup title="Tag" values=facets.tag active=params.tag.clone() href=tag_href/>
        </aside>
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
