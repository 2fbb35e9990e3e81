//! The component page's mesh card: every Kuma service the component maps to, with its proxies,
//! certificates, traffic and who may call it.

use leptos::prelude::*;

use super::{day, StaleNotice, TrafficChart};
use crate::catalog::ref_href;
use crate::error::{error_fallback, AppError};
use crate::mesh::{format_rate, CallerView, MeshCard, ServiceCard};
use crate::ui::{CertBadge, Loading, MeshStatusBadge};

/// A caller, linked to its component when the catalog has one.
fn caller_item(c: CallerView) -> impl IntoView {
    let name = match c.component.clone() {
        Some(r) => view! { <a href=ref_href(&r) class="text-indigo-700 hover:underline">{c.service.clone()}</a> }.into_any(),
        None => view! { <span>{c.service.clone()}<span class="ml-1 text-xs text-slate-400">"(not in the catalog)"</span></span> }.into_any(),
    };
    let shadow = (c.decision == "allow_with_shadow_deny")
        .then(|| view! { <span class="ml-1 rounded bg-amber-50 px-1 text-xs text-amber-800">"shadow deny"</span> });
    view! {
        <li data-test-caller=format!("{}={}", c.service, c.decision)>
            {name}{shadow}<span class="ml-1 text-xs text-slate-500">{format!("— {}", c.reason)}</span>
        </li>
    }
}

/// Under a callers list cut short for the page: how many are left out, and where all are.
fn more_callers(shown: usize, total: usize, api: &str) -> Option<impl IntoView> {
    (total > shown).then(|| {
        view! {
            <p class="mt-1 text-xs text-slate-500" data-test-more-callers=total.to_string()>
                {format!("Showing {shown} of {total}; all of them in ")}
                <a href=api.to_owned() class="text-indigo-700 hover:underline">"the JSON API"</a>"."
            </p>
        }
    })
}

/// One Kuma service on the component page.
#[component]
fn ServiceCardView(
    card: ServiceCard,
    /// The component's mesh card in the JSON API, which lists every caller.
    api: String,
) -> impl IntoView {
    let s = card.summary.clone();
    let rate = s.requests_per_s.map(format_rate).unwrap_or_else(|| "—".into());
    let error_rate = match (s.requests_per_s, s.errors_per_s) {
        (Some(r), Some(e)) if r > 0.0 => format!("{:.1}%", e / r * 100.0),
        (Some(_), Some(_)) => "0%".into(),
        _ => "—".into(),
    };
    let mtls = if s.mtls.enabled {
        format!(
            "on — backend {} ({}){}",
            s.mtls.backend.clone().unwrap_or_default(),
            card.mtls_type.clone().unwrap_or_default(),
            card.mtls_mode.clone().map(|m| format!(", {m}")).unwrap_or_default()
        )
    } else {
        "off".to_owned()
    };
    let proxies = card
        .proxies
        .iter()
        .map(|p| {
            view! {
                <tr data-test-proxy=p.name.clone()>
                    <td class="py-1 pr-3 font-mono text-xs">{p.name.clone()}{p.gateway.clone().map(|g| view! { <span class="ml-1 rounded bg-slate-100 px-1 text-xs text-slate-600">{format!("{g} gateway")}</span> })}</td>
                    <td class="py-1 pr-3"><MeshStatusBadge status=p.status.clone()/></td>
                    <td class="py-1 pr-3"><CertBadge state=p.cert_state.clone()/></td>
                    <td class="py-1 text-xs text-slate-600">{p.cert_expires_at.as_deref().map(day).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect_view();
    let callers = card.callers.clone();
    let allowed = callers.allowed.clone();
    let denied = callers.denied.clone();
    view! {
        <div class="mt-3 space-y-3" data-test-mesh-service=format!("{}/{}/{}", s.control_plane, s.mesh, s.service)>
            <StaleNotice freshness=card.freshness.clone()/>
            <div class="flex flex-wrap items-center gap-3 text-sm">
                <span class="font-mono">{s.service.clone()}</span>
                <MeshStatusBadge status=s.status.clone()/>
                <span class="text-slate-500">{format!("mesh {} · control plane {}", s.mesh, s.control_plane)}</span>
            </div>
            <dl class="grid grid-cols-2 gap-3 text-sm sm:grid-cols-5">
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Proxies online"</dt>
                    <dd data-test-proxies-online="">{format!("{} / {}", s.proxies.online, s.proxies.total)}</dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"mTLS"</dt><dd>{mtls}</dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Requests"</dt><dd data-test-rps="">{rate}</dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Error rate (5xx)"</dt><dd>{error_rate}</dd></div>
                {card.p99_ms.map(|p| view! {
                    <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Latency p99"</dt><dd>{format!("{p:.0} ms")}</dd></div>
                })}
            </dl>
            <TrafficChart points=card.history.clone()/>
            {if card.proxies.is_empty() {
                view! { <p class="text-sm text-slate-500">"Kuma knows this service but reports no proxies for it here."</p> }.into_any()
            } else {
                view! {
                    <table class="w-full text-left text-sm">
                        <thead><tr class="text-xs uppercase tracking-wide text-slate-500">
                            <th class="pr-3 font-medium">"Proxy"</th><th class="pr-3 font-medium">"Status"</th>
                            <th class="pr-3 font-medium">"Certificate"</th><th class="font-medium">"Expires"</th>
                        </tr></thead>
                        <tbody>{proxies}</tbody>
                    </table>
                }.into_any()
            }}
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{format!("Allowed callers ({})", callers.allowed_total)}</h3>
                    {callers.note.clone().map(|n| view! { <p class="text-sm text-slate-600">{n}</p> })}
                    {if allowed.is_empty() { view! { <p class="text-sm text-slate-500">"No service may call it."</p> }.into_any() }
                     else { view! { <ul class="max-h-48 overflow-y-auto text-sm" data-test-allowed="">{allowed.iter().cloned().map(caller_item).collect_view()}</ul> }.into_any() }}
                    {more_callers(allowed.len(), callers.allowed_total, &api)}
                </div>
                <div>
                    <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{format!("Denied callers ({})", callers.denied_total)}</h3>
                    {if denied.is_empty() { view! { <p class="text-sm text-slate-500">"None."</p> }.into_any() }
                     else { view! { <ul class="max-h-48 overflow-y-auto text-sm" data-test-denied="">{denied.iter().cloned().map(caller_item).collect_view()}</ul> }.into_any() }}
                    {more_callers(denied.len(), callers.denied_total, &api)}
                </div>
            </div>
        </div>
    }
}

/// The component page's mesh card. `card` is `None` when the page is not a component's.
#[component]
pub fn MeshCardSection(card: Resource<Result<Option<MeshCard>, AppError>>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="mesh-heading" data-test-mesh-card="">
            <div class="flex items-center justify-between">
                <h2 id="mesh-heading" class="font-semibold">"Service mesh"</h2>
                <a href="/mesh" class="text-sm text-indigo-700 hover:underline">"Mesh overview"</a>
            </div>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { card.await.map(|c| c.map(card_body)) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn card_body(c: MeshCard) -> AnyView {
    if !c.polling {
        return view! { <p class="mt-2 text-sm text-slate-500">"No Kuma control plane is configured, so there is no mesh state to show."</p> }.into_any();
    }
    if c.services.is_empty() {
        let mesh = c.kuma_mesh.map(|m| format!(" in mesh {m}")).unwrap_or_default();
        return view! {
            <p class="mt-2 text-sm" data-test-not-in-mesh="">
                <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs font-medium text-slate-700">"not in the mesh"</span>
                <span class="ml-2 text-slate-600">{format!("No Kuma service named {}{mesh} has proxies. Set the annotation kuma.io/service if it runs under another name.", c.kuma_service)}</span>
            </p>
        }
        .into_any();
    }
    let api = format!(
        "/api/v1/entities{}/mesh",
        ref_href(&c.entity_ref).trim_start_matches("/catalog")
    );
    c.services
        .into_iter()
        .map(|s| view! { <ServiceCardView card=s api=api.clone()/> })
        .collect_view()
        .into_any()
}
