//! The component page's "Runs & deployments" section and the run page (`/delivery/run?id=`),
//! where a failed run shows its error beside its upstream.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{get_run, BindProducer};
use super::{status_color, ComponentDelivery, DeploymentView, Producers, RunDetail, RunView, Upstream};
use crate::catalog::ref_href;
use crate::error::{error_fallback, AppError};
use crate::ui::{href_with, Loading, MeshStatusBadge};

/// The link to a run's page.
pub fn run_href(run_id: &str) -> String {
    href_with("/delivery/run", &[("id", Some(run_id.to_owned()))])
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 120_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        Some(ms) => format!("{} min", ms / 60_000),
        None => "—".to_owned(),
    }
}

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    view! {
        <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {}", status_color(&status)) data-test-run-status=status.clone()>
            {status.clone()}
        </span>
    }
}

pub(super) fn run_row(r: RunView) -> impl IntoView {
    let when = r.started_at.clone().unwrap_or_default();
    view! {
        <tr class="border-t border-slate-100" data-test-run=r.run_id.clone()>
            <td class="py-1.5 pr-3"><StatusBadge status=r.status.clone()/></td>
            <td class="py-1.5 pr-3">
                <a class="text-indigo-700 hover:underline" href=run_href(&r.run_id)>{format!("{}/{}", r.job.namespace, r.job.name)}</a>
            </td>
            <td class="py-1.5 pr-3 text-slate-600"><time datetime=when.clone()>{when.clone()}</time></td>
            <td class="py-1.5 pr-3 text-slate-600">{duration(r.duration_ms)}</td>
            <td class="py-1.5 pr-3 text-slate-600" title="The verified identity that sent the events">{r.producer.clone()}</td>
            <td class="py-1.5 text-red-800">{r.error.clone().unwrap_or_default()}</td>
        </tr>
    }
}

pub(super) fn deployment_row(d: DeploymentView) -> impl IntoView {
    view! {
        <tr class="border-t border-slate-100" data-test-deployment="">
            <td class="py-1.5 pr-3 font-medium">{d.action}</td>
            <td class="py-1.5 pr-3">{d.environment.unwrap_or_default()}</td>
            <td class="py-1.5 pr-3 break-all text-slate-600">{d.artifact.unwrap_or_default()}</td>
            <td class="py-1.5 pr-3 text-slate-600"><time datetime=d.at.clone()>{d.at.clone()}</time></td>
            <td class="py-1.5 text-slate-600">{d.producer}</td>
        </tr>
    }
}

/// Who may report the component, and (for its lead) a form to bind or unbind producers.
fn producers_view(p: Producers, namespace: String, name: String, bind: ServerAction<BindProducer>) -> impl IntoView {
    let may_bind = p.may_bind;
    view! {
        <div class="mt-3 text-sm" data-test="delivery-producers">
            <h3 class="font-semibold">"Who may report it"</h3>
            {if p.items.is_empty() {
                view! { <p class="text-slate-500">"No producer yet: nothing reported for it is accepted."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-1 space-y-0.5">
                        {p.items.into_iter().map(|b| {
                            let (ns, n, producer) = (namespace.clone(), name.clone(), b.producer.clone());
                            let unbind = (may_bind && b.removable).then(move || view! {
                                <ActionForm action=bind attr:class="inline">
                                    <input type="hidden" name="namespace" value=ns/>
                                    <input type="hidden" name="name" value=n/>
                                    <input type="hidden" name="producer" value=producer/>
                                    <input type="hidden" name="bind" value="false"/>
                                    <button class="ml-2 text-red-700 hover:underline">"Unbind"</button>
                                </ActionForm>
                            });
                            view! {
                                <li data-test-producer=b.producer.clone()>
                                    <code>{b.producer.clone()}</code>
                                    <span class="ml-2 text-slate-500">{b.via}</span>
                                    {unbind}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {may_bind.then(|| view! {
                <ActionForm action=bind attr:class="mt-2 flex flex-wrap items-end gap-2" attr:data-test="bind-producer-form">
                    <input type="hidden" name="namespace" value=namespace.clone()/>
                    <input type="hidden" name="name" value=name.clone()/>
                    <input type="hidden" name="bind" value="true"/>
                    <label class="flex flex-col">"Producer (token name or client:ID)"
                        <input name="producer" required maxlength="107" class="rounded border px-2 py-1"/>
                    </label>
                    <button class="rounded bg-indigo-600 px-3 py-1.5 text-white">"Bind"</button>
                </ActionForm>
            })}
            {move || bind.value().get().and_then(Result::err).map(|e| view! {
                <p class="mt-1 text-red-700" role="alert">{e.to_string()}</p>
            })}
        </div>
    }
}

/// The run filters: all, or one status.
const RUN_FILTERS: [(Option<&str>, &str); 5] = [
    (None, "all"),
    (Some("fail"), "failed"),
    (Some("running"), "running"),
    (Some("complete"), "complete"),
    (Some("lost"), "lost"),
];

fn section_body(
    d: ComponentDelivery,
    namespace: String,
    name: String,
    bind: ServerAction<BindProducer>,
    status: Option<String>,
) -> AnyView {
    let producers = producers_view(d.producers, namespace, name, bind);
    if d.runs.items.is_empty() && d.deployments.is_empty() && status.is_none() {
        return view! {
            <p class="mt-2 text-sm text-slate-500" data-test-delivery-empty="">
                "No runs or deployments reported yet. Point an OpenLineage or CDEvents producer at Bearing with a producer token, and name it in the "
                <code>"bearing.dev/producers"</code>" annotation."
            </p>
            {producers}
        }
        .into_any();
    }
    let next = d.runs.next_cursor.clone().map(|c| {
        view! {
            <a class="mt-2 inline-block text-sm text-indigo-700 hover:underline" data-test="runs-next"
                href=format!("?{}#delivery-heading", href_with("", &[("runs", status.clone()), ("runs_cursor", Some(c))]).trim_start_matches('?'))>
                "Older runs →"
            </a>
        }
    });
    view! {
        {producers}
        <nav aria-label="Filter runs by status" class="mt-3 flex flex-wrap gap-1 text-xs" data-test="run-filter">
            {RUN_FILTERS.iter().map(|(value, label)| {
                let current = status.as_deref() == *value;
                let href = match value {
                    Some(v) => format!("?runs={v}#delivery-heading"),
                    None => "?#delivery-heading".to_owned(),
                };
                view! {
                    <a href=href aria-current=current.then_some("true")
                        class=if current { "rounded bg-indigo-600 px-2 py-0.5 text-white" } else { "rounded px-2 py-0.5 text-slate-600 hover:bg-slate-100" }>
                        {*label}
                    </a>
                }
            }).collect_view()}
        </nav>
        <table class="mt-2 w-full text-left text-sm" data-test-runs="">
            <caption class="sr-only">"Runs, newest first"</caption>
            <thead class="text-xs uppercase text-slate-500">
                <tr><th class="pr-3">"Status"</th><th class="pr-3">"Job"</th><th class="pr-3">"Started"</th><th class="pr-3">"Duration"</th><th class="pr-3">"Sent by"</th><th>"Error"</th></tr>
            </thead>
            <tbody>{d.runs.items.into_iter().map(run_row).collect_view()}</tbody>
        </table>
        {next}
        {(!d.deployments.is_empty()).then(|| view! {
            <h3 class="mt-4 text-sm font-semibold">"Deployments"</h3>
            <table class="mt-1 w-full text-left text-sm" data-test-deployments="">
                <thead class="text-xs uppercase text-slate-500">
                    <tr><th class="pr-3">"What"</th><th class="pr-3">"Environment"</th><th class="pr-3">"Artifact"</th><th class="pr-3">"When"</th><th>"Sent by"</th></tr>
                </thead>
                <tbody>{d.deployments.into_iter().map(deployment_row).collect_view()}</tbody>
            </table>
        })}
    }
    .into_any()
}

/// The component page's "Runs & deployments" section.
#[component]
pub fn DeliverySection(
    delivery: Resource<Result<Option<ComponentDelivery>, AppError>>,
    namespace: String,
    name: String,
    bind: ServerAction<BindProducer>,
    /// The status the runs are filtered by (`?runs=`), if any.
    status: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="delivery-heading" data-test="delivery-section">
            <h2 id="delivery-heading" class="font-semibold">"Runs & deployments"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || {
                        let (namespace, name, status) = (namespace.clone(), name.clone(), status.get());
                        Suspend::new(async move {
                            delivery.await.map(|d| d.map(|d| section_body(d, namespace, name, bind, status)))
                        })
                    }}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn upstream_row(u: Upstream) -> impl IntoView {
    // A reported job by its name (its component may be this run's own); a declared dependency
    // by its catalog entity.
    let name = match (&u.job, &u.component) {
        (Some(j), _) => view! { <span>{format!("{}/{}", j.namespace, j.name)}</span> }.into_any(),
        (None, Some(c)) => {
            view! { <a class="text-indigo-700 hover:underline" href=ref_href(c)>{c.clone()}</a> }.into_any()
        }
        (None, None) => view! { <span>"?"</span> }.into_any(),
    };
    let latest = match u.latest_run {
        Some(r) => view! {
            <a href=run_href(&r.run_id) class="inline-flex items-center gap-1"><StatusBadge status=r.status.clone()/></a>
        }
        .into_any(),
        None => view! { <span class="text-slate-500">"no runs reported"</span> }.into_any(),
    };
    view! {
        <tr class="border-t border-slate-100" data-test-upstream=u.component.clone().unwrap_or_default()>
            <td class="py-1.5 pr-3">{name}</td>
            <td class="py-1.5 pr-3 text-slate-600">{u.via}</td>
            <td class="py-1.5 pr-3">{latest}</td>
            <td class="py-1.5 pr-3">{match u.mesh_status {
                Some(s) => view! { <MeshStatusBadge status=s/> }.into_any(),
                None => view! { <span class="text-slate-500">"not in the mesh"</span> }.into_any(),
            }}</td>
            <td class="py-1.5">{u.owner.map(|o| view! { <a class="text-indigo-700 hover:underline" href=ref_href(&o)>{o.clone()}</a> })}</td>
        </tr>
    }
}

fn run_page_body(d: RunDetail) -> impl IntoView {
    let r = d.run;
    let title = format!("{}/{}", r.job.namespace, r.job.name);
    view! {
        <Title text=format!("Run of {title}")/>
        <h1 class="text-2xl font-semibold">{format!("Run of {title}")}</h1>
        <p class="mt-1 text-sm text-slate-600">
            <StatusBadge status=r.status.clone()/>
            <span class="ml-2">{format!("run {} · sent by {} · {}", r.run_id, r.producer, duration(r.duration_ms))}</span>
            {r.component.clone().map(|c| view! { <span class="ml-2">"for "<a class="text-indigo-700 hover:underline" href=ref_href(&c)>{c.clone()}</a></span> })}
            {r.parent_run_id.clone().map(|p| view! { <span class="ml-2">"part of "<a class="text-indigo-700 hover:underline" href=run_href(&p)>{p.clone()}</a></span> })}
        </p>
        <div class="mt-4 grid gap-4 lg:grid-cols-2">
            <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="error-heading" data-test="run-error">
                <h2 id="error-heading" class="font-semibold">"Error"</h2>
                {match (r.error.clone(), d.error_stack) {
                    (None, None) => view! { <p class="mt-2 text-sm text-slate-500">"The run reported no error."</p> }.into_any(),
                    (message, stack) => view! {
                        <p class="mt-2 text-sm text-red-800">{message.unwrap_or_default()}</p>
                        {stack.map(|s| view! { <pre class="mt-2 max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{s}</pre> })}
                    }.into_any(),
                }}
            </section>
            <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="upstream-heading" data-test="run-upstream">
                <h2 id="upstream-heading" class="font-semibold">"Upstream"</h2>
                <p class="text-xs text-slate-500">"What this run depends on: declared in the catalog, or reported by the run. The real cause is often here."</p>
                {if d.upstream.is_empty() {
                    view! { <p class="mt-2 text-sm text-slate-500">"Nothing upstream is known."</p> }.into_any()
                } else {
                    view! {
                        <table class="mt-2 w-full text-left text-sm">
                            <thead class="text-xs uppercase text-slate-500">
                                <tr><th class="pr-3">"Depends on"</th><th class="pr-3">"Via"</th><th class="pr-3">"Latest run"</th><th class="pr-3">"Mesh"</th><th>"Owner"</th></tr>
                            </thead>
                            <tbody>{d.upstream.into_iter().map(upstream_row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        </div>
        {(!d.tasks.is_empty()).then(|| view! {
            <section class="mt-4 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="tasks-heading" data-test="run-tasks">
                <h2 id="tasks-heading" class="font-semibold">"Tasks"</h2>
                <table class="mt-2 w-full text-left text-sm">
                    <thead class="text-xs uppercase text-slate-500">
                        <tr><th class="pr-3">"Status"</th><th class="pr-3">"Job"</th><th class="pr-3">"Started"</th><th class="pr-3">"Duration"</th><th class="pr-3">"Sent by"</th><th>"Error"</th></tr>
                    </thead>
                    <tbody>{d.tasks.into_iter().map(run_row).collect_view()}</tbody>
                </table>
            </section>
        })}
    }
}

/// The admin page's list of jobs and services no component claims.
#[component]
pub fn UnmappedSection() -> impl IntoView {
    let list = Resource::new(|| (), |_| super::api::get_unmapped());
    let cell = "border-b border-slate-100 px-2 py-1.5 text-left align-top";
    view! {
        <section aria-labelledby="unmapped-h" class="mb-10" data-test="unmapped-subjects">
            <h2 id="unmapped-h" class="mb-1 text-lg font-semibold">"Reported jobs and services no component claims"</h2>
            <p class="mb-2 text-sm text-slate-600">
                "Their events are kept. Claim one with the annotation "<code>"openlineage.io/job"</code>" or "
                <code>"cdevents.dev/service"</code>" on the component that owns it, or name the job after the component."
            </p>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        list.await.map(|items| if items.is_empty() {
                            view! { <p class="text-sm text-slate-500">"None: every event maps to a component."</p> }.into_any()
                        } else {
                            view! {
                                <table class="w-full text-sm">
                                    <thead><tr><th class=cell>"Reported by"</th><th class=cell>"Names"</th><th class=cell>"Spec"</th><th class=cell>"Events"</th><th class=cell>"Last seen"</th></tr></thead>
                                    <tbody>
                                        {items.into_iter().map(|u| {
                                            let key = u.subject.clone();
                                            view! {
                                                <tr data-test-unmapped=key>
                                                    <td class=cell>{u.producer}</td><td class=cell><code class="break-all">{u.subject}</code></td>
                                                    <td class=cell>{u.spec}</td><td class=cell>{u.events}</td><td class=cell>{u.last_seen}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// `/delivery/run?id=RUN`: one run, its error, its upstream and its tasks.
#[component]
pub fn RunPage() -> impl IntoView {
    let query = use_query_map();
    let run = Resource::new(move || query.read().get("id").unwrap_or_default(), get_run);
    view! {
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { run.await.map(run_page_body) })}
            </ErrorBoundary>
        </Suspense>
    }
}
