//! SVG rendering of a laid-out [`GraphView`] (nodes are links to their entity pages), and the
//! entity page's section around it.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::{GraphView, NODE_HEIGHT, NODE_WIDTH};
use crate::catalog::ref_href;
use crate::error::{error_fallback, AppError};
use crate::ui::Loading;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Draws the graph. Unresolved nodes are dashed and not linked.
#[component]
pub fn DependencyGraph(graph: GraphView) -> impl IntoView {
    let GraphView {
        nodes,
        edges,
        width,
        height,
        truncated,
        ..
    } = graph;
    if nodes.len() <= 1 {
        return view! {
            <p class="text-sm text-slate-500" data-test-graph-empty="">"No declared dependencies, APIs or system membership to draw."</p>
        }
        .into_any();
    }
    let paths = edges
        .iter()
        .filter_map(|e| {
            let (a, b) = (nodes.get(e.from)?, nodes.get(e.to)?);
            // Leave the right edge of the left box, enter the left edge of the right box.
            let (a, b) = if a.x <= b.x { (a, b) } else { (b, a) };
            let (x1, y1) = (a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2);
            let (x2, y2) = (b.x, b.y + NODE_HEIGHT / 2);
            let mid = (x1 + x2) / 2;
            let d = if x1 > x2 {
                // Same column: curve out to the right.
                format!("M{x1},{y1} C{},{y1} {},{y2} {},{y2}", x1 + 40, x1 + 40, x2 + NODE_WIDTH)
            } else {
                format!("M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}")
            };
            let dashed = e.relation != "dependsOn";
            Some(view! {
                <path d=d fill="none" stroke="#94a3b8" stroke-width="1.5" stroke-dasharray=if dashed { "4 3" } else { "" }>
                    <title>{e.relation.clone()}</title>
                </path>
            })
        })
        .collect_view();
    let boxes = nodes
        .into_iter()
        .map(|n| {
            let fill = if n.root {
                "#4f46e5"
            } else if n.resolved {
                "#ffffff"
            } else {
                "#f8fafc"
            };
            let text = if n.root { "#ffffff" } else { "#0f172a" };
            let stroke = if n.resolved { "#6366f1" } else { "#94a3b8" };
            let label = truncate(&n.label, 24);
            let kind = n.kind.clone();
            let body = view! {
                <rect x=n.x y=n.y width=NODE_WIDTH height=NODE_HEIGHT rx="6" fill=fill stroke=stroke
                    stroke-dasharray=if n.resolved { "" } else { "4 3" }/>
                <text x=n.x + 10 y=n.y + 15 font-size="10" fill=if n.root { "#c7d2fe" } else { "#64748b" }>
                    {if n.resolved { kind } else { format!("{kind} · unresolved") }}
                </text>
                <text x=n.x + 10 y=n.y + 30 font-size="13" fill=text>{label}</text>
                <title>{n.key.clone()}</title>
            };
            if n.resolved && !n.root {
                view! { <a href=ref_href(&n.key) class="graph-node" data-test-graph-node=n.key.clone()>{body}</a> }
                    .into_any()
            } else {
                view! { <g data-test-graph-node=n.key.clone()>{body}</g> }.into_any()
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto">
            <svg role="img" aria-label="Dependency graph" width=width height=height viewBox=format!("0 0 {width} {height}")
                class="max-w-none" font-family="ui-sans-serif, system-ui, sans-serif">
                {paths}
                {boxes}
            </svg>
            {truncated.then(|| view! {
                <p class="mt-1 text-xs text-slate-500">"Showing the first 60 entities; lower the depth to see fewer."</p>
            })}
        </div>
    }
    .into_any()
}

/// The entity page's dependency graph with its depth switch (links that set `?depth=`).
#[component]
pub fn GraphSection(graph: Resource<Result<GraphView, AppError>>, depth: Signal<u8>) -> impl IntoView {
    let path = use_location().pathname;
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="graph-heading">
            <div class="mb-2 flex items-center justify-between">
                <h2 id="graph-heading" class="font-semibold">"Dependency graph"</h2>
                <nav aria-label="Graph depth" class="flex gap-1 text-sm">
                    {(1..=3u8).map(|d| view! {
                        <a href=move || format!("{}?depth={d}", path.get())
                            aria-current=move || (depth.get() == d).then_some("true")
                            class=move || if depth.get() == d { "rounded bg-indigo-600 px-2 py-0.5 text-white" } else { "rounded px-2 py-0.5 text-slate-600 hover:bg-slate-100" }>
                            {format!("depth {d}")}
                        </a>
                    }).collect_view()}
                </nav>
            </div>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { graph.await.map(|g| view! { <DependencyGraph graph=g/> }) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
