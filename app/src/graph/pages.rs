//! `/graph?team=&system=&mesh=&class=`: the map of a team's, a system's or a whole mesh's
//! services, drawn like the entity page's graph, with class filters, a legend and the table of
//! its edges.
//!
//! All state lives in the query string and every control is a plain link or a GET form, so the
//! page works without JavaScript; once hydrated, the router turns them into in-place updates.
//! Sorting the table changes no data: only the rendering reruns, not the server function.

mod table;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use self::table::{EdgeSort, EdgeTable};
use super::api::{get_map, get_map_choices};
use super::components::DependencyGraph;
use super::{MapChoice, MapChoices, MapQuery, MapView};
use crate::error::error_fallback;
use crate::policy::{class_label, class_meaning, ClassCount};
use crate::ui::{href_with, EmptyState, Loading};

/// The map page.
#[component]
pub fn GraphPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        MapQuery {
            team: q.get("team"),
            system: q.get("system"),
            mesh: q.get("mesh"),
            class: q.get("class"),
        }
        .normalised()
    });
    let sort = Memo::new(move |_| EdgeSort::parse(query.read().get("sort").as_deref()));
    // Both requests go out when the page is entered.
    let map = Resource::new(move || params.get(), |q| get_map(q.team, q.system, q.mesh, q.class));
    let choices = Resource::new(|| (), |_| get_map_choices());
    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Service map"</h1>
        <Transition fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || {
                    let p = params.get();
                    Suspend::new(async move { choices.await.map(|c| view! { <MapPickers choices=c query=p/> }) })
                }}
            </ErrorBoundary>
        </Transition>
        <Transition fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || {
                    let (p, s) = (params.get(), sort.get());
                    Suspend::new(async move { map.await.map(|m| map_body(m, p, s)) })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

/// The address of the map for `query`, sorted by `sort`.
fn map_href(query: &MapQuery, sort: EdgeSort) -> String {
    href_with(
        "/graph",
        &[
            ("team", query.team.clone()),
            ("system", query.system.clone()),
            ("mesh", query.mesh.clone()),
            ("class", query.class.clone()),
            ("sort", sort.param().map(str::to_owned)),
        ],
    )
}

/// Team, system and mesh pickers: a GET form, so it works without JavaScript.
#[component]
fn MapPickers(choices: MapChoices, query: MapQuery) -> impl IntoView {
    let select = |id: &'static str, label: &'static str, options: Vec<MapChoice>, chosen: Option<String>| {
        let options = options
            .into_iter()
            .map(|o| {
                let selected = chosen.as_deref() == Some(o.value.as_str());
                view! { <option value=o.value selected=selected>{o.label}</option> }
            })
            .collect_view();
        view! {
            <div class="flex flex-col">
                <label for=format!("map-{id}") class="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</label>
                <select id=format!("map-{id}") name=id class="w-56 rounded border border-slate-300 bg-white px-2 py-1.5 text-sm">
                    <option value="">"—"</option>
                    {options}
                </select>
            </div>
        }
    };
    view! {
        <Form method="GET" action="/graph" attr:class="mb-6 flex flex-wrap items-end gap-4 rounded-lg border border-slate-200 bg-white p-4" attr:data-test-map-form="">
            {select("team", "Team", choices.teams, query.team)}
            {select("system", "or system", choices.systems, query.system)}
            {select("mesh", "Mesh", choices.meshes, query.mesh)}
            <button type="submit" class="rounded bg-indigo-600 px-4 py-1.5 text-sm text-white hover:bg-indigo-700">"Show map"</button>
        </Form>
    }
}

fn map_body(map: Option<MapView>, query: MapQuery, sort: EdgeSort) -> AnyView {
    let Some(m) = map else {
        return view! {
            <Title text="Service map"/>
            <div data-test-map-choose="">
                <EmptyState title="Choose what to map"
                    hint="Pick a team or a system to see its services with their callers and destinations, or a mesh to see all of it.">
                    <span></span>
                </EmptyState>
            </div>
        }
        .into_any();
    };
    let drawing = match m.graph {
        Some(g) => view! { <DependencyGraph graph=g/> }.into_any(),
        None => {
            let why = if query.class.is_some() {
                "No edges of the chosen classes. Show all classes to see the others."
            } else {
                "No edges: nothing these services declare or call meets a mesh Bearing reads, and no traffic permission grants them anything."
            };
            view! { <p class="py-6 text-sm text-slate-500" data-test-map-empty="">{why}</p> }.into_any()
        }
    };
    let table = (!m.edges.is_empty())
        .then(|| view! { <EdgeTable edges=m.edges.clone() total=m.total sort=sort query=query.clone()/> }.into_any());
    let csv = m.csv_href.clone().map(|href| {
        view! { <a href=href class="text-sm text-indigo-700 hover:underline" data-test-map-csv="">"Download these edges as CSV"</a> }
    });
    view! {
        <Title text=m.title.clone()/>
        <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="map-heading" data-test-map=m.title.clone()>
            <div class="mb-3 flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="map-heading" class="text-lg font-semibold" data-test-map-title="">{m.title.clone()}</h2>
                {csv}
            </div>
            <ClassFilters counts=m.counts.clone() query=query.clone() sort=sort/>
            {drawing}
            {table}
        </section>
    }
    .into_any()
}

/// "All" and one link per class present (with its count), worst first; the chosen one marked.
#[component]
fn ClassFilters(counts: Vec<ClassCount>, query: MapQuery, sort: EdgeSort) -> impl IntoView {
    let all: u64 = counts.iter().map(|c| c.count).sum();
    let chosen = query.class.clone();
    let link = move |class: Option<String>, label: String, count: u64, title: &'static str| {
        let current = class == chosen;
        let href = map_href(
            &MapQuery {
                class: class.clone(),
                ..query.clone()
            },
            sort,
        );
        let style = if current {
            "rounded-full bg-indigo-600 px-3 py-1 text-white"
        } else {
            "rounded-full border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-50"
        };
        view! {
            <li><a href=href class=style title=title aria-current=current.then_some("page")
                data-test-class-filter=class.unwrap_or_else(|| "all".to_owned()) data-test-count=count>
                {format!("{label} ({count})")}
            </a></li>
        }
        .into_any()
    };
    let mut items = vec![link(None, "All classes".to_owned(), all, "every edge")];
    items.extend(counts.iter().map(|c| {
        link(
            Some(c.class.clone()),
            class_label(&c.class).to_owned(),
            c.count,
            class_meaning(&c.class),
        )
    }));
    view! {
        <nav aria-label="Edge classes" class="mb-3">
            <ul class="flex flex-wrap gap-2 text-sm">{items}</ul>
        </nav>
    }
    .into_any()
}
