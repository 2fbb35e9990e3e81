//! Mesh views placed on catalog pages: the component's mesh card and the team's mesh health,
//! plus the small badges and chart they share with the overview.

use leptos::prelude::*;

use super::api::{get_component_mesh, get_team_mesh};
use super::{format_age, format_rate, CallerView, Freshness, MeshCard, ServiceCard, TeamMeshRow, TrafficPoint};
use crate::catalog::ref_href;
use crate::error::error_fallback;
use crate::ui::Loading;

/// Kuma's status as a coloured label.
#[component]
pub fn MeshStatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let (color, label) = match status.as_str() {
        "online" => ("bg-green-50 text-green-700", "online"),
        "offline" => ("bg-red-100 text-red-800", "offline"),
        "partially_degraded" => ("bg-amber-100 text-amber-800", "partially degraded"),
        "not_available" => ("bg-slate-100 text-slate-600", "not available"),
        _ => ("bg-slate-100 text-slate-600", "unknown"),
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {color}") data-test-mesh-status=status.clone()>{label}</span> }
}

/// A certificate's state as a label.
#[component]
pub fn CertBadge(#[prop(into)] state: String) -> impl IntoView {
    let (color, label) = match state.as_str() {
        "valid" => ("bg-green-50 text-green-700", "valid"),
        "expires_soon" => ("bg-amber-100 text-amber-800", "expires soon"),
        "expired" => ("bg-red-100 text-red-800", "expired"),
        "managed_externally" => ("bg-slate-100 text-slate-600", "managed externally"),
        _ => ("bg-slate-100 text-slate-600", "no mTLS"),
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs {color}") data-test-cert=state.clone()>{label}</span> }
}

/// "Stale: last read 5 min ago" when the data is old; nothing when it is fresh.
#[component]
pub fn StaleNotice(freshness: Freshness) -> impl IntoView {
    freshness.stale.then(|| {
        let age = freshness
            .age_s
            .map(|a| format!("the last successful read was {} ago", format_age(a)))
            .unwrap_or_else(|| "the control plane has not been read successfully yet".into());
        view! {
            <p class="rounded border border-amber-200 bg-amber-50 px-3 py-1.5 text-sm text-amber-900" role="status" data-test-stale="">
                {format!("Stale: {age}. Showing the last known state.")}
            </p>
        }
    })
}

/// The date part of an RFC 3339 time.
fn day(t: &str) -> String {
    t.get(..10).unwrap_or(t).to_owned()
}

/// Requests per second (and 5xx per second, in red) as a small line chart.
#[component]
pub fn TrafficChart(points: Vec<TrafficPoint>) -> impl IntoView {
    if points.len() < 2 {
        return view! { <p class="text-sm text-slate-500">"Not enough traffic samples yet for a chart."</p> }
            .into_any();
    }
    let (w, h) = (320.0_f64, 60.0_f64);
    let max = points
        .iter()
        .map(|p| p.requests_per_s)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let step = w / (points.len() - 1) as f64;
    let line = |value: fn(&TrafficPoint) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", i as f64 * step, h - value(p) / max * (h - 4.0) - 2.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let label = format!(
        "Inbound requests per second from {} to {}, peak {}",
        points.first().map(|p| p.at.as_str()).unwrap_or_default(),
        points.last().map(|p| p.at.as_str()).unwrap_or_default(),
        format_rate(max)
    );
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="h-16 w-full max-w-sm" role="img" aria-label=label data-test-traffic-chart="">
            <polyline points=line(|p| p.requests_per_s) fill="none" class="stroke-indigo-500" stroke-width="1.5"/>
            <polyline points=line(|p| p.errors_per_s) fill="none" class="stroke-red-500" stroke-width="1"/>
        </svg>
    }
    .into_any()
}

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

/// One Kuma service on the component page.
#[component]
fn ServiceCardView(card: ServiceCard) -> impl IntoView {
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
                    <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{format!("Allowed callers ({})", allowed.len())}</h3>
                    {callers.note.clone().map(|n| view! { <p class="text-sm text-slate-600">{n}</p> })}
                    {if allowed.is_empty() { view! { <p class="text-sm text-slate-500">"No service may call it."</p> }.into_any() }
                     else { view! { <ul class="text-sm" data-test-allowed="">{allowed.into_iter().map(caller_item).collect_view()}</ul> }.into_any() }}
                </div>
                <div>
                    <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{format!("Denied callers ({})", denied.len())}</h3>
                    {if denied.is_empty() { view! { <p class="text-sm text-slate-500">"None."</p> }.into_any() }
                     else { view! { <ul class="max-h-48 overflow-y-auto text-sm" data-test-denied="">{denied.into_iter().map(caller_item).collect_view()}</ul> }.into_any() }}
                </div>
            </div>
        </div>
    }
}

/// The component page's mesh card.
#[component]
pub fn MeshCardSection(kind: String, namespace: String, name: String) -> impl IntoView {
    let card = Resource::new(
        move || (kind.clone(), namespace.clone(), name.clone()),
        |(k, ns, n)| get_component_mesh(k, ns, n),
    );
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="mesh-heading" data-test-mesh-card="">
            <div class="flex items-center justify-between">
                <h2 id="mesh-heading" class="font-semibold">"Service mesh"</h2>
                <a href="/mesh" class="text-sm text-indigo-700 hover:underline">"Mesh overview"</a>
            </div>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { card.await.map(|c: MeshCard| card_body(c)) })}
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
    c.services
        .into_iter()
        .map(|s| view! { <ServiceCardView card=s/> })
        .collect_view()
        .into_any()
}

/// A team's components with their mesh health.
#[component]
pub fn TeamMeshSection(namespace: String, name: String) -> impl IntoView {
    let rows = Resource::new(
        move || (namespace.clone(), name.clone()),
        |(ns, n)| get_team_mesh(ns, n),
    );
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="team-mesh-heading" data-test-team-mesh="">
            <h2 id="team-mesh-heading" class="font-semibold">"Mesh health"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { rows.await.map(team_table) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// The team row's stale label with the data's age, e.g. "stale, 12 min": a row stale for a
/// minute and one stale for a day must not look the same.
fn stale_label(age_s: Option<i64>) -> String {
    match age_s {
        Some(a) => format!("stale, {}", format_age(a)),
        None => "stale, never read".into(),
    }
}

fn team_table(rows: Vec<TeamMeshRow>) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500">"This team owns no components."</p> }.into_any();
    }
    let body = rows
        .into_iter()
        .map(|r| {
            let name = crate::catalog::split_ref(&r.entity_ref).map(|(_, _, n)| n.to_owned()).unwrap_or_default();
            view! {
                <tr class="border-t border-slate-100" data-test-team-mesh-row=r.entity_ref.clone()>
                    <td class="py-1.5 pr-3"><a href=ref_href(&r.entity_ref) class="text-indigo-700 hover:underline">{name}</a></td>
                    <td class="py-1.5 pr-3">{match r.status.clone() {
                        Some(s) => view! { <MeshStatusBadge status=s/> }.into_any(),
                        None => view! { <span class="text-xs text-slate-500">"not in the mesh"</span> }.into_any(),
                    }}{r.stale.then(|| view! { <span class="ml-1 text-xs text-amber-700" data-test-stale="">{stale_label(r.age_s)}</span> })}</td>
                    <td class="py-1.5 pr-3">{(r.proxies.total > 0).then(|| format!("{} / {}", r.proxies.online, r.proxies.total))}</td>
                    <td class="py-1.5 pr-3">{r.status.as_ref().map(|_| if r.mtls_enabled { "on" } else { "off" })}</td>
                    <td class="py-1.5 pr-3 text-xs">{r.earliest_expiry.as_deref().map(day)}</td>
                    <td class="py-1.5">{r.requests_per_s.map(format_rate)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="mt-2 w-full text-left text-sm">
            <thead><tr class="text-xs uppercase tracking-wide text-slate-500">
                <th class="pr-3 font-medium">"Component"</th><th class="pr-3 font-medium">"Status"</th>
                <th class="pr-3 font-medium">"Proxies online"</th><th class="pr-3 font-medium">"mTLS"</th>
                <th class="pr-3 font-medium">"First cert expiry"</th><th class="font-medium">"Requests"</th>
            </tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_team_rows_say_how_old() {
        assert_eq!(stale_label(Some(720)), "stale, 12 min");
        assert_eq!(stale_label(None), "stale, never read");
    }
}
