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

/// One edge's mesh layers in words: the tooltip, and what a screen reader or keyboard user gets.
fn traffic_description(from: &str, to: &str, t: &super::TrafficLayer) -> String {
    let observed = match t.requests_per_s {
        Some(rps) => format!("{rps:.1} req/s observed"),
        None => "not observed".to_owned(),
    };
    let declared = if t.declared { "declared" } else { "not declared" };
    let verdict = match (t.allowed, t.enforced) {
        (true, _) => "permitted",
        (false, true) => "denied",
        (false, false) => "would be denied (not enforced)",
    };
    let mtls = if t.mtls { "mTLS" } else { "no mTLS" };
    format!(
        "{from} → {to}: {} ({}); {declared}, {observed}, {verdict} by {}; {mtls}",
        crate::policy::class_label(&t.class),
        crate::policy::class_meaning(&t.class),
        t.decided_by
    )
}

/// The description (`aria-label`) of the mesh edge an event happened on, if it happened on one.
fn edge_label(ev: &leptos::web_sys::Event) -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<leptos::web_sys::Element>().ok()?;
    target
        .closest("[data-test-graph-edge]")
        .ok()
        .flatten()?
        .get_attribute("aria-label")
}

/// Draws the graph. Unresolved nodes are dashed and not linked; mesh edges are coloured by class.
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
    let classes_drawn: std::collections::BTreeSet<usize> = edges
        .iter()
        .filter_map(|e| e.traffic.as_ref())
        .map(|t| {
            crate::policy::CLASSES
                .iter()
                .position(|c| *c == t.class)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let paths = edges
        .iter()
        .filter_map(|e| {
            let (from, to) = (nodes.get(e.from)?, nodes.get(e.to)?);
            // Leave the right edge of the left box, enter the left edge of the right box.
            let (a, b) = if from.x <= to.x { (from, to) } else { (to, from) };
            let (x1, y1) = (a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2);
            let (x2, y2) = (b.x, b.y + NODE_HEIGHT / 2);
            let mid = (x1 + x2) / 2;
            let d = if x1 > x2 {
                // Same column: curve out to the right.
                format!("M{x1},{y1} C{},{y1} {},{y2} {},{y2}", x1 + 40, x1 + 40, x2 + NODE_WIDTH)
            } else {
                format!("M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}")
            };
            let Some(t) = e.traffic.as_ref() else {
                let dashed = e.relation != "dependsOn";
                return Some(view! {
                    <path d=d fill="none" stroke="#94a3b8" stroke-width="1.5" stroke-dasharray=if dashed { "4 3" } else { "" }>
                        <title>{e.relation.clone()}</title>
                    </path>
                }.into_any());
            };
            // Observed: solid; declared (or permitted) only: dashed.
            let dashed = t.requests_per_s.is_none();
            let color = crate::policy::class_color(&t.class);
            let description = traffic_description(&from.label, &to.label, t);
            let (lx, ly) = ((x1 + x2) / 2, (y1 + y2) / 2);
            Some(view! {
                <g tabindex="0" role="img" aria-label=description.clone() class="graph-edge focus:outline-none"
                    data-test-graph-edge=format!("{}|{}", from.key, to.key) data-test-class=t.class.clone()>
                    <path d=d.clone() fill="none" stroke="transparent" stroke-width="10"/>
                    <path d=d fill="none" stroke=color stroke-width="2.5" stroke-dasharray=if dashed { "6 4" } else { "" }/>
                    {t.mtls.then(|| view! {
                        <text x=lx y=ly + 4 font-size="11" text-anchor="middle" aria-hidden="true">"🔒"</text>
                    })}
                    <title>{description.clone()}</title>
                </g>
            }.into_any())
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
            let caption = if n.resolved || n.summary || kind == "kuma service" {
                kind
            } else {
                format!("{kind} · unresolved")
            };
            let body = view! {
                <rect x=n.x y=n.y width=NODE_WIDTH height=NODE_HEIGHT rx="6" fill=fill stroke=stroke
                    stroke-dasharray=if n.resolved { "" } else { "4 3" }/>
                <text x=n.x + 10 y=n.y + 15 font-size="10" fill=if n.root { "#c7d2fe" } else { "#64748b" }>
                    {caption}
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
    let legend = (!classes_drawn.is_empty()).then(|| {
        let items = classes_drawn
            .into_iter()
            .filter_map(|i| crate::policy::CLASSES.get(i).copied())
            .map(|class| view! {
                <li class="flex items-center gap-1" title=crate::policy::class_meaning(class)>
                    // An SVG swatch: the page's CSP allows no inline styles.
                    <svg width="20" height="6" aria-hidden="true">
                        <line x1="0" y1="3" x2="20" y2="3" stroke=crate::policy::class_color(class) stroke-width="3"/>
                    </svg>
                    {crate::policy::class_label(class)}
                </li>
            })
            .collect_view();
        view! {
            <div class="mt-2 text-xs text-slate-600" data-test-graph-legend="">
                <ul class="flex flex-wrap gap-x-4 gap-y-1">{items}</ul>
                <p class="mt-1">"Solid: calls observed · dashed: declared or permitted only · 🔒 mTLS · grey: catalog relation. Hover or focus an edge for the deciding policy."</p>
            </div>
        }
    });
    // The edge under the pointer or keyboard focus, described in words below the drawing:
    // a sighted keyboard user gets no tooltip from `<title>`. Screen readers read the edge's
    // own label, so the line is hidden from them.
    let described = RwSignal::new(String::new());
    let describe = move |ev: leptos::web_sys::Event| {
        if let Some(text) = edge_label(&ev) {
            described.set(text);
        }
    };
    view! {
        <div class="overflow-x-auto" on:focusin=move |ev| describe(ev.into()) on:mouseover=move |ev| describe(ev.into())>
            <svg role="img" aria-label="Dependency graph" width=width height=height viewBox=format!("0 0 {width} {height}")
                class="max-w-none" font-family="ui-sans-serif, system-ui, sans-serif">
                {paths}
                {boxes}
            </svg>
            <p class="mt-1 min-h-5 text-sm text-slate-700" aria-hidden="true" data-test-edge-description="">{move || described.get()}</p>
            {legend}
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
                    {move || Suspend::new(async move {
                        graph.await.map(|g| {
                            // Edges between components carry the mesh's traffic and permissions.
                            crate::rendered::mark_shows_mesh_of(
                                g.nodes.iter().filter(|n| n.kind == "component" && n.resolved).map(|n| n.key.as_str()),
                            );
                            view! { <DependencyGraph graph=g/> }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
