//! `/catalog/{kind}/{namespace}/{name}`: every field, relations both ways, the dependency
//! graph, and for Groups the team view (members, owned entities, child teams, coverage).

use leptos::prelude::*;

use crate::catalog::ownership::api::{get_edit_state, DecideTransfer, EditEntity, TransferEntity};
use crate::catalog::ownership::panel::EditPanel;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use crate::catalog::api::{get_entity, get_entity_graph};
use crate::catalog::components::EntityTable;
use crate::catalog::{ref_href, split_ref, EntityDetail, GroupView, RelationView};
use crate::error::{error_fallback, AppError, SectionError};
use crate::graph::components::DependencyGraph;
use crate::graph::GraphView;
use crate::mesh::card::{MeshCardSection, TeamMeshSection};
use crate::ui::{KindBadge, LifecycleBadge, Loading, OrphanBadge};

/// The entity page.
#[component]
pub fn EntityPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let p = params.read();
        (
            p.get("kind").unwrap_or_default(),
            p.get("namespace").unwrap_or_default(),
            p.get("name").unwrap_or_default(),
        )
    };
    let depth = move || {
        query
            .read()
            .get("depth")
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|d| (1..=3).contains(d))
            .unwrap_or(1)
    };
    let edit = ServerAction::<EditEntity>::new();
    let transfer = ServerAction::<TransferEntity>::new();
    let decide = ServerAction::<DecideTransfer>::new();
    // Refetched after every edit, transfer or decision.
    let edits = move || edit.version().get() + transfer.version().get() + decide.version().get();
    let entity = Resource::new(move || (key(), edits()), |((k, ns, n), _)| get_entity(k, ns, n));
    let edit_state = Resource::new(move || (key(), edits()), |((k, ns, n), _)| get_edit_state(k, ns, n));
    let graph = Resource::new(
        move || (key(), depth()),
        |((k, ns, n), d)| get_entity_graph(k, ns, n, d),
    );
    view! {
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let state = edit_state.await;
                    entity.await.map(|e| {
                        let panel = match state {
                            Ok(state) => view! {
                                <EditPanel state=state entity=e.clone() edit=edit transfer=transfer decide=decide/>
                            }
                            .into_any(),
                            Err(error) => view! { <SectionError what="the edit panel" error=error/> }.into_any(),
                        };
                        view! { <EntityView e=e/>{panel}<GraphSection graph=graph depth=Signal::derive(depth)/> }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// The dependency graph with its depth switch; shown once the entity itself has loaded.
#[component]
fn GraphSection(graph: Resource<Result<GraphView, AppError>>, depth: Signal<u8>) -> impl IntoView {
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

fn ref_label(key: &str) -> String {
    split_ref(key)
        .map(|(_, ns, n)| {
            if ns == "default" {
                n.to_owned()
            } else {
                format!("{ns}/{n}")
            }
        })
        .unwrap_or_else(|| key.to_owned())
}

/// A link to a reference key, or plain text marked unresolved.
#[component]
fn RefLink(#[prop(into)] target: String, resolved: bool, #[prop(optional)] title: Option<String>) -> impl IntoView {
    let label = title.unwrap_or_else(|| ref_label(&target));
    if resolved {
        view! { <a href=ref_href(&target) class="text-indigo-700 hover:underline">{label}</a> }.into_any()
    } else {
        view! {
            <span class="text-slate-500" data-test-unresolved=target.clone() title="Not in the catalog (yet)">
                {label}<span class="ml-1 rounded bg-amber-100 px-1 text-xs text-amber-800">"unresolved"</span>
            </span>
        }
        .into_any()
    }
}

#[component]
fn EntityView(e: EntityDetail) -> impl IntoView {
    let s = e.summary.clone();
    let find = |rel: &str| e.relations.iter().find(|r| r.relation == rel).cloned();
    let owner = find("ownedBy");
    let system = find("partOf").filter(|r| r.target.starts_with("system:"));
    let field = |label: &'static str, value: AnyView| {
        view! { <div><dt class="text-xs uppercase tracking-wide text-slate-500">{label}</dt><dd class="mt-0.5">{value}</dd></div> }
    };
    let none = || view! { <span class="text-slate-400">"—"</span> }.into_any();
    let links = e
        .links
        .iter()
        .map(|l| {
            let label = l.title.clone().unwrap_or_else(|| l.url.clone());
            if l.safe {
                view! { <li><a href=l.url.clone() rel="noopener noreferrer" class="text-indigo-700 hover:underline">{label}</a></li> }.into_any()
            } else {
                view! { <li class="text-slate-500" title="Not a web link; shown as text">{format!("{label} ({})", l.url)}</li> }.into_any()
            }
        })
        .collect_view();
    let kv = |items: &[(String, String)]| {
        items
            .iter()
            .map(|(k, v)| view! { <tr><td class="pr-4 align-top font-mono text-xs text-slate-500">{k.clone()}</td><td class="break-all text-sm">{v.clone()}</td></tr> })
            .collect_view()
    };
    let group = e.group.clone();
    let kind_href = format!("/catalog?kind={}", s.kind);
    let tags = s.tags.clone();
    let kind_label = s.kind.clone();
    // Mesh state: the card for components, the team's health for groups.
    let mesh = match s.kind.as_str() {
        "component" => Some(
            view! { <MeshCardSection kind=s.kind.clone() namespace=s.namespace.clone() name=s.name.clone()/> }
                .into_any(),
        ),
        "group" => Some(view! { <TeamMeshSection namespace=s.namespace.clone() name=s.name.clone()/> }.into_any()),
        _ => None,
    };
    view! {
        <Title text=s.display_name().to_owned()/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm text-slate-500">
            <a href="/catalog" class="hover:underline">"Catalog"</a>" / "
            <a href=kind_href class="hover:underline">{kind_label}</a>" / "{s.name.clone()}
        </nav>
        <header class="mb-4 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">{s.display_name().to_owned()}</h1>
            <KindBadge kind=s.kind.clone()/>
            {s.lifecycle.clone().map(|l| view! { <LifecycleBadge lifecycle=l/> })}
            {s.orphaned.then(|| view! { <OrphanBadge/> })}
            <code class="text-xs text-slate-500">{s.entity_ref.clone()}</code>
        </header>
        {s.orphaned.then(|| view! {
            <p class="mb-4 rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" role="status">
                "This entity is no longer in its source file. Re-add it there, or remove it from the catalog."
            </p>
        })}
        <p class="mb-6 max-w-3xl text-slate-700">{s.description.clone().unwrap_or_else(|| "No description.".into())}</p>
        <div class="grid gap-6 lg:grid-cols-3">
            <section class="rounded-lg border border-slate-200 bg-white p-4 lg:col-span-2" aria-label="About">
                <dl class="grid grid-cols-2 gap-4 sm:grid-cols-3">
                    {field("Owner", owner.map(|o| view! { <RefLink target=o.target resolved=o.resolved title=o.target_title.unwrap_or_default()/> }.into_any()).unwrap_or_else(none))}
                    {field("System", system.map(|o| view! { <RefLink target=o.target resolved=o.resolved/> }.into_any()).unwrap_or_else(none))}
                    {field("Domain", e.domain.clone().map(|d| view! { <a href=ref_href(&d) class="text-indigo-700 hover:underline">{ref_label(&d)}</a> }.into_any()).unwrap_or_else(none))}
                    {field("Type", s.entity_type.clone().map(|t| view! { <span>{t}</span> }.into_any()).unwrap_or_else(none))}
                    {field("Namespace", view! { <span>{s.namespace.clone()}</span> }.into_any())}
                    {field("Tags", if tags.is_empty() { none() } else { tags.into_iter().map(|t| {
                        let href = crate::ui::href_with("/catalog", &[("tag", Some(t.clone()))]);
                        view! { <a href=href class="mr-1 inline-block rounded bg-slate-100 px-1.5 text-xs text-slate-700 hover:bg-slate-200">{t}</a> }
                    }).collect_view().into_any() })}
                </dl>
                {(!e.links.is_empty()).then(|| view! {
                    <h2 class="mt-6 font-semibold">"Links"</h2>
                    <ul class="mt-1 list-disc pl-5 text-sm">{links}</ul>
                })}
                {(!e.labels.is_empty()).then(|| view! { <h2 class="mt-6 font-semibold">"Labels"</h2><table class="mt-1"><tbody>{kv(&e.labels)}</tbody></table> })}
                {(!e.annotations.is_empty()).then(|| view! { <h2 class="mt-6 font-semibold">"Annotations"</h2><table class="mt-1"><tbody>{kv(&e.annotations)}</tbody></table> })}
                {(!e.profile.is_empty()).then(|| view! { <h2 class="mt-6 font-semibold">"Profile"</h2><table class="mt-1"><tbody>{kv(&e.profile)}</tbody></table> })}
                {e.definition.clone().map(|d| view! {
                    <h2 class="mt-6 font-semibold">"Definition"</h2>
                    <pre class="mt-2 max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-test-definition="">{d}</pre>
                })}
                <details class="mt-6">
                    <summary class="cursor-pointer font-semibold">"Spec"</summary>
                    <pre class="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{e.spec_json.clone()}</pre>
                </details>
                {e.source.clone().map(|src| view! { <p class="mt-4 text-xs text-slate-500">"Source: "<code>{src}</code></p> })}
            </section>
            <RelationsPanel relations=e.relations.clone()/>
        </div>
        {mesh}
        {group.map(|g| view! { <GroupPanel g=g/> })}
    }
}

/// A readable heading for a relation name (`dependencyOf` → "Dependency of").
fn relation_label(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(if i == 0 { c.to_ascii_uppercase() } else { c });
    }
    out.replace(" Api", " API")
}

/// Relations grouped by name, in both directions.
#[component]
fn RelationsPanel(relations: Vec<RelationView>) -> impl IntoView {
    let mut names: Vec<String> = relations.iter().map(|r| r.relation.clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    let body = if relations.is_empty() {
        view! { <p class="text-sm text-slate-500">"No relations."</p> }.into_any()
    } else {
        names
            .into_iter()
            .map(|name| {
                let items = relations
                    .iter()
                    .filter(|r| r.relation == name)
                    .map(|r| view! { <li data-test-relation=format!("{}={}", r.relation, r.target)>
                        <RefLink target=r.target.clone() resolved=r.resolved/></li> })
                    .collect_view();
                view! {
                    <h3 class="mt-3 text-xs font-semibold uppercase tracking-wide text-slate-500" title=name.clone()>{relation_label(&name)}</h3>
                    <ul class="text-sm">{items}</ul>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="relations-heading">
            <h2 id="relations-heading" class="font-semibold">"Relations"</h2>
            {body}
        </section>
    }
}

/// Team view: coverage, members, child teams, owned entities.
#[component]
fn GroupPanel(g: GroupView) -> impl IntoView {
    let c = g.coverage.clone();
    let bar = move |label: &'static str, n: i64| {
        let pct = c.percent(n);
        view! {
            <div>
                <div class="flex justify-between text-sm"><span>{label}</span><span>{format!("{pct}%")}</span></div>
                <svg class="h-2 w-full" aria-hidden="true"><rect width="100%" height="8" rx="4" class="fill-slate-100"/><rect width=format!("{pct}%") height="8" rx="4" class="fill-indigo-500"/></svg>
            </div>
        }
    };
    let link_list = |items: &[crate::catalog::EntitySummary]| {
        items
            .iter()
            .map(|m| (m.href(), m.display_name().to_owned()))
            .map(|(href, name)| view! { <li><a href=href class="text-indigo-700 hover:underline">{name}</a></li> })
            .collect_view()
    };
    let people = link_list(&g.members);
    let children = link_list(&g.children);
    let c = g.coverage.clone();
    view! {
        <section class="mt-6 grid gap-6 lg:grid-cols-3" aria-label="Team">
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">"Ownership coverage"</h2>
                <p class="mb-3 text-sm text-slate-500">{format!("{} components owned", c.components)}</p>
                <div class="space-y-2" data-test-coverage="">
                    {bar("Described", c.with_description)}
                    {bar("Lifecycle set", c.with_lifecycle)}
                    {bar("In a known system", c.with_system)}
                    {bar("Has links", c.with_links)}
                </div>
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">{format!("Members ({})", g.members.len())}</h2>
                {if g.members.is_empty() { view! { <p class="text-sm text-slate-500">"No members."</p> }.into_any() } else { view! { <ul class="mt-2 text-sm">{people}</ul> }.into_any() }}
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">{format!("Child teams ({})", g.children.len())}</h2>
                {if g.children.is_empty() { view! { <p class="text-sm text-slate-500">"No child teams."</p> }.into_any() } else { view! { <ul class="mt-2 text-sm">{children}</ul> }.into_any() }}
            </div>
        </section>
        <section class="mt-6" aria-label="Owned entities">
            <h2 class="mb-2 font-semibold">{format!("Owned entities ({})", g.owned.len())}</h2>
            {if g.owned.is_empty() { view! { <p class="text-sm text-slate-500">"This team owns nothing in the catalog yet."</p> }.into_any() } else { view! { <EntityTable items=g.owned/> }.into_any() }}
        </section>
    }
}
