//! The entity page's main sections: the entity's fields and its relations.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::catalog::{ref_href, split_ref, EntityDetail, RelationView};
use crate::ui::{KindBadge, LifecycleBadge, OrphanBadge};

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

/// The entity itself: heading, description, every field, links, labels, annotations, profile,
/// definition, spec, and its relations both ways. A team's own sections ([`super::GroupPanel`])
/// and the page's other sections are the page's to place.
#[component]
pub fn EntityView(e: EntityDetail) -> impl IntoView {
    let s = e.summary;
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
    let kind_href = format!("/catalog?kind={}", s.kind);
    let tags = s.tags.clone();
    let kind_label = s.kind.clone();
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
                    {field("Domain", e.domain.map(|d| view! { <a href=ref_href(&d) class="text-indigo-700 hover:underline">{ref_label(&d)}</a> }.into_any()).unwrap_or_else(none))}
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
                {e.definition.map(|d| view! {
                    <h2 class="mt-6 font-semibold">"Definition"</h2>
                    <pre class="mt-2 max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-test-definition="">{d}</pre>
                })}
                <details class="mt-6">
                    <summary class="cursor-pointer font-semibold">"Spec"</summary>
                    <pre class="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{e.spec_json}</pre>
                </details>
                {e.source.map(|src| view! { <p class="mt-4 text-xs text-slate-500">"Source: "<code>{src}</code></p> })}
            </section>
            <RelationsPanel relations=e.relations/>
        </div>
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
