//! The map's edges as a table: what the drawing shows, readable by keyboard and screen reader.
//! Column headers are sort links (`?sort=`), worst class first by default; `aria-sort` says
//! which column orders the rows.

use leptos::prelude::*;

use super::map_href;
use crate::catalog::ref_href;
use crate::graph::MapQuery;
use crate::mesh::format_rate;
use crate::policy::{class_rank, Edge, EdgeEnd};
use crate::ui::ClassBadge;

/// How the table is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EdgeSort {
    /// Worst class first (the server's order).
    #[default]
    Worst,
    /// Healthiest class first.
    Best,
    /// By caller name.
    From,
    /// By destination name.
    To,
    /// Most requests per second first.
    Busiest,
}

impl EdgeSort {
    /// `?sort=`; anything else is the default order (sorting is presentation, never an error).
    pub fn parse(text: Option<&str>) -> EdgeSort {
        match text {
            Some("best") => EdgeSort::Best,
            Some("from") => EdgeSort::From,
            Some("to") => EdgeSort::To,
            Some("busiest") => EdgeSort::Busiest,
            _ => EdgeSort::Worst,
        }
    }

    /// The query-string value; none for the default.
    pub fn param(self) -> Option<&'static str> {
        match self {
            EdgeSort::Worst => None,
            EdgeSort::Best => Some("best"),
            EdgeSort::From => Some("from"),
            EdgeSort::To => Some("to"),
            EdgeSort::Busiest => Some("busiest"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            EdgeSort::Worst => "worst class first",
            EdgeSort::Best => "healthiest class first",
            EdgeSort::From => "by caller",
            EdgeSort::To => "by destination",
            EdgeSort::Busiest => "busiest first",
        }
    }
}

/// The name an end reads as in the table.
fn end_name(end: &EdgeEnd) -> String {
    match &end.component {
        Some(c) => crate::catalog::split_ref(c)
            .map_or(c.as_str(), |(_, _, n)| n)
            .to_owned(),
        None if end.service == "*" => "any other service".to_owned(),
        None => end.service.clone(),
    }
}

/// `edges` in the order `sort` asks for (stable, so ties keep the server's worst-first order).
pub fn sorted(mut edges: Vec<Edge>, sort: EdgeSort) -> Vec<Edge> {
    match sort {
        EdgeSort::Worst => edges.sort_by_key(|e| class_rank(&e.class)),
        EdgeSort::Best => edges.sort_by_key(|e| std::cmp::Reverse(class_rank(&e.class))),
        EdgeSort::From => edges.sort_by_key(|e| end_name(&e.from)),
        EdgeSort::To => edges.sort_by_key(|e| end_name(&e.to)),
        EdgeSort::Busiest => edges.sort_by(|a, b| {
            let rps = |e: &Edge| e.observed.as_ref().map_or(-1.0, |o| o.requests_per_s);
            rps(b).total_cmp(&rps(a))
        }),
    }
    edges
}

fn end_cell(end: &EdgeEnd) -> AnyView {
    let name = end_name(end);
    match &end.component {
        Some(c) => view! { <a href=ref_href(c) class="text-indigo-700 hover:underline">{name}</a> }.into_any(),
        None => {
            view! { <span class="font-mono text-xs" title="Kuma service, not in the catalog">{name}</span> }.into_any()
        }
    }
}

/// The table of `edges` (at most [`crate::graph::MAX_TABLE_ROWS`] of `total`), ordered by `sort`.
#[component]
pub fn EdgeTable(edges: Vec<Edge>, total: u64, sort: EdgeSort, query: MapQuery) -> impl IntoView {
    let shown = edges.len() as u64;
    // A column sorts one way or both; sorted one way, its link sorts the other way (if any).
    let header = |label: &'static str, asc: Option<EdgeSort>, desc: Option<EdgeSort>| {
        let (aria, next) = if Some(sort) == desc {
            ("descending", asc.or(desc))
        } else if Some(sort) == asc {
            ("ascending", desc.or(asc))
        } else {
            ("none", desc.or(asc))
        };
        let current = aria != "none";
        let next = next.unwrap_or_default();
        let href = map_href(&query, next);
        view! {
            <th scope="col" class="pr-3 font-medium" aria-sort=aria>
                <a href=href class="hover:text-slate-900 hover:underline" data-test-sort=next.param().unwrap_or("worst")>
                    {label}{current.then(|| view! { <span aria-hidden="true">{if aria == "descending" { " ▼" } else { " ▲" }}</span> })}
                    <span class="sr-only">{format!(", sort {}", next.describe())}</span>
                </a>
            </th>
        }
        .into_any()
    };
    let rows = sorted(edges, sort)
        .into_iter()
        .map(|e| {
            let key = format!(
                "{}|{}",
                e.from.component.clone().unwrap_or_else(|| e.from.service.clone()),
                e.to.component.clone().unwrap_or_else(|| e.to.service.clone())
            );
            let rps = match &e.observed {
                Some(o) => view! { <span>{format_rate(o.requests_per_s)}</span> }.into_any(),
                None => view! { <span class="text-slate-400">"not observed"</span> }.into_any(),
            };
            let mut policy = e.permitted.reason.clone();
            if !e.permitted.enforced {
                policy.push_str(" · not enforced");
            }
            let declared = if e.declared_via.is_empty() {
                "not declared".to_owned()
            } else {
                format!("declared: {}", e.declared_via.join(", "))
            };
            view! {
                <tr class="border-t border-slate-100 align-top" data-test-edge-row=key data-test-class=e.class.clone()>
                    <td class="py-1.5 pr-3">{end_cell(&e.from)}</td>
                    <td class="py-1.5 pr-3">{end_cell(&e.to)}</td>
                    <td class="py-1.5 pr-3"><ClassBadge class=e.class.clone()/></td>
                    <td class="py-1.5 pr-3 whitespace-nowrap">{rps}</td>
                    <td class="py-1.5 pr-3 text-xs">
                        <span data-test-edge-policy="">{policy}</span>
                        <span class="block text-slate-500">{declared}{e.mtls.then_some(" · mTLS")}</span>
                    </td>
                    <td class="py-1.5 text-xs text-slate-500">{e.mesh.clone()}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <div class="mt-4 overflow-x-auto">
            <table class="w-full text-left text-sm" data-test-edge-table="">
                <caption class="mb-1 text-left text-sm text-slate-600">
                    {if shown < total {
                        format!("The {shown} worst of {total} edges, {}.", sort.describe())
                    } else {
                        format!("{total} edges, {}.", sort.describe())
                    }}
                </caption>
                <thead><tr class="text-xs uppercase tracking-wide text-slate-500">
                    {header("From", Some(EdgeSort::From), None)}
                    {header("To", Some(EdgeSort::To), None)}
                    {header("Class", Some(EdgeSort::Best), Some(EdgeSort::Worst))}
                    {header("Req/s", None, Some(EdgeSort::Busiest))}
                    <th scope="col" class="pr-3 font-medium">"Deciding policy"</th>
                    <th scope="col" class="font-medium">"Mesh"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_round_trips_and_unknown_is_the_default() {
        for s in [
            EdgeSort::Worst,
            EdgeSort::Best,
            EdgeSort::From,
            EdgeSort::To,
            EdgeSort::Busiest,
        ] {
            assert_eq!(EdgeSort::parse(s.param()), s);
        }
        assert_eq!(EdgeSort::parse(Some("<script>")), EdgeSort::Worst);
    }
}
