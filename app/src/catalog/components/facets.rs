//! The filter side bar of the list pages.

use leptos::prelude::*;

use super::CatalogParams;
use crate::catalog::{split_ref, FacetCount, Facets};

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
            let label = split_ref(&f.value)
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
