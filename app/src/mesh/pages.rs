//! `/mesh`: per control plane and mesh, mTLS, proxies, services by status, certificates
//! expiring soonest, policy counts, unmapped services, traffic drift (edges per class),
//! ownership drift (dataplanes whose team label disagrees with the catalog), and when the data
//! was read; below, the catalog services with no Kuma identity.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{get_mesh_drift, get_mesh_overview, get_ownership_drift};
use super::components::{drift_links, team_mismatches, without_identity, StaleNotice};
use super::drift::MeshDrift;
use super::ownership::{OwnershipDrift, OwnershipDriftKind};
use super::{format_age, ControlPlaneOverview, MeshOverview, MeshOverviewRow};
use crate::error::{error_fallback, AppError, SectionError};
use crate::ui::{href_with, CertBadge, EmptyState, Loading, MeshStatusBadge};

/// The drift of every mesh, or why it could not be counted (the rest of the page still shows).
type Drift = Result<Vec<MeshDrift>, AppError>;

/// The ownership drift of every mesh, or why it could not be read.
type Ownership = Result<OwnershipDrift, AppError>;

/// How many names a list shows before folding the rest away.
const SHOWN: usize = 30;

/// The mesh overview page.
#[component]
pub fn MeshOverviewPage() -> impl IntoView {
    crate::rendered::mark_shows(crate::rendered::Shows::Mesh);
    let overview = Resource::new(|| (), |_| get_mesh_overview());
    // Requested alongside the overview, not after it.
    let drift = Resource::new(|| (), |_| get_mesh_drift());
    let ownership = Resource::new(|| (), |_| get_ownership_drift(None));
    view! {
        <Title text="Mesh"/>
        <h1 class="mb-4 text-2xl font-semibold">"Service mesh"</h1>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let drift = drift.await;
                    let ownership = ownership.await;
                    overview.await.map(|o| overview_body(o, drift, ownership))
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

fn overview_body(o: MeshOverview, drift: Drift, ownership: Ownership) -> AnyView {
    if o.control_planes.is_empty() {
        return view! {
            <EmptyState title="No Kuma control plane is configured"
                hint="Start Bearing with --kuma-url (BEARING_KUMA_URL) to read mesh state.">
                <span></span>
            </EmptyState>
        }
        .into_any();
    }
    let not_in_mesh = match &ownership {
        Ok(o) => without_identity(o),
        Err(error) => {
            view! { <SectionError what="the catalog services not in the mesh" error=error.clone()/> }.into_any()
        }
    };
    view! {
        {o.control_planes.into_iter().map(|cp| control_plane(cp, &drift, &ownership)).collect_view()}
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="not-in-mesh" data-test-not-in-mesh-section="">
            <h2 id="not-in-mesh" class="font-semibold">"Catalog services not in the mesh"</h2>
            <p class="text-sm text-slate-500">"Service and website components that no Kuma service with proxies maps to: they have no Kuma identity."</p>
            <div class="mt-1">{not_in_mesh}</div>
        </section>
    }
    .into_any()
}

/// A list of names (linked when they have an address), folding all past [`SHOWN`].
fn name_list(items: Vec<(String, Option<String>)>) -> AnyView {
    if items.is_empty() {
        return view! { <p class="mt-1 text-sm text-slate-500">"None."</p> }.into_any();
    }
    let item = |(label, href): (String, Option<String>)| match href {
        Some(h) => view! { <li><a href=h class="text-indigo-700 hover:underline">{label}</a></li> }.into_any(),
        None => view! { <li class="font-mono text-xs">{label}</li> }.into_any(),
    };
    let mut items = items;
    let rest = items.split_off(items.len().min(SHOWN));
    view! {
        <ul class="mt-1 columns-2 text-sm sm:columns-3">{items.into_iter().map(item).collect_view()}</ul>
        {(!rest.is_empty()).then(|| view! {
            <details class="mt-1 text-sm"><summary class="cursor-pointer text-indigo-700">{format!("{} more", rest.len())}</summary>
                <ul class="mt-1 columns-2 sm:columns-3">{rest.into_iter().map(item).collect_view()}</ul>
            </details>
        })}
    }
    .into_any()
}

fn control_plane(cp: ControlPlaneOverview, drift: &Drift, ownership: &Ownership) -> impl IntoView {
    let read = match cp.freshness.age_s {
        Some(age) => format!("last read {} ago", format_age(age)),
        None => "not read yet".to_owned(),
    };
    let error = cp.last_error.clone().map(|e| {
        let at = cp.last_error_at.clone().unwrap_or_default();
        view! { <p class="text-sm text-red-700" data-test-last-error="">{format!("Last error ({at}): {e}")}</p> }
    });
    let meshes = cp.meshes.clone();
    view! {
        <section class="mb-6" aria-label=format!("Control plane {}", cp.name) data-test-control-plane=cp.name.clone()>
            <div class="mb-2 flex flex-wrap items-baseline gap-3">
                <h2 class="text-lg font-semibold">{format!("Control plane {}", cp.name)}</h2>
                <span class="text-sm text-slate-500" data-test-last-read="">{read}</span>
            </div>
            <StaleNotice freshness=cp.freshness.clone()/>
            {error}
            {if meshes.is_empty() {
                view! { <p class="text-sm text-slate-500">"No meshes read yet."</p> }.into_any()
            } else {
                let panels = meshes
                    .into_iter()
                    .map(|m| {
                        let counts = match drift {
                            Ok(all) => Ok(all
                                .iter()
                                .find(|d| d.control_plane == cp.name && d.mesh == m.mesh)
                                .map(|d| d.counts.clone())
                                .unwrap_or_default()),
                            Err(e) => Err(e.clone()),
                        };
                        let owners = ownership_panel(&cp.name, &m.mesh, ownership);
                        mesh_panel(m, counts, owners)
                    })
                    .collect_view();
                view! { <div class="mt-2 grid gap-4 lg:grid-cols-2">{panels}</div> }.into_any()
            }}
        </section>
    }
}

fn mesh_panel(
    m: MeshOverviewRow,
    drift: Result<Vec<crate::policy::ClassCount>, AppError>,
    ownership: AnyView,
) -> impl IntoView {
    let mtls = if m.mtls_enabled {
        format!(
            "on — {} ({}){}",
            m.mtls_backend.clone().unwrap_or_default(),
            m.mtls_type.clone().unwrap_or_default(),
            m.mtls_mode.clone().map(|x| format!(", {x}")).unwrap_or_default()
        )
    } else {
        "off".to_owned()
    };
    let statuses = m
        .services_by_status
        .iter()
        .map(|(s, n)| view! { <li class="flex items-center gap-2"><MeshStatusBadge status=s.clone()/><span>{*n}</span></li> })
        .collect_view();
    let policies = m
        .policy_counts
        .iter()
        .map(|(k, n)| view! { <li>{format!("{k}: {n}")}</li> })
        .collect_view();
    let expiring = m
        .expiring
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td class="pr-2 font-mono text-xs">{c.proxy.clone()}</td>
                    <td class="pr-2"><CertBadge state=c.cert_state.clone()/></td>
                    <td class="text-xs">{c.expires_at.get(..10).unwrap_or_default().to_owned()}</td>
                </tr>
            }
        })
        .collect_view();
    let unmapped = m.unmapped.iter().map(|s| (s.clone(), None)).collect::<Vec<_>>();
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-4" data-test-mesh=m.mesh.clone()>
            <h3 class="font-semibold">{format!("Mesh {}", m.mesh)}</h3>
            <dl class="mt-2 grid grid-cols-2 gap-3 text-sm">
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"mTLS"</dt><dd data-test-mtls="">{mtls}</dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Proxies online"</dt>
                    <dd data-test-mesh-proxies="">{format!("{} / {}", m.proxies.online, m.proxies.total)}</dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Services by status"</dt><dd><ul>{statuses}</ul></dd></div>
                <div><dt class="text-xs uppercase tracking-wide text-slate-500">"Policies"</dt><dd><ul>{policies}</ul></dd></div>
            </dl>
            <h4 class="mt-3 text-xs font-semibold uppercase tracking-wide text-slate-500">"Certificates expiring soonest"</h4>
            {if m.expiring.is_empty() { view! { <p class="text-sm text-slate-500">"No certificates with an expiry."</p> }.into_any() }
             else { view! { <table class="text-sm"><tbody>{expiring}</tbody></table> }.into_any() }}
            {drift_panel(&m.mesh, drift)}
            {ownership}
            <h4 class="mt-3 text-xs font-semibold uppercase tracking-wide text-slate-500">{format!("Not in the catalog ({})", m.unmapped.len())}</h4>
            <div data-test-unmapped="">{name_list(unmapped)}</div>
        </div>
    }
}

/// The mesh's edges per class, worst first, each linked to the map of those edges, and the
/// CSV export of all of them.
fn drift_panel(mesh: &str, drift: Result<Vec<crate::policy::ClassCount>, AppError>) -> impl IntoView {
    let csv = href_with(
        "/api/v1/mesh/edges",
        &[("mesh", Some(mesh.to_owned())), ("format", Some("csv".to_owned()))],
    );
    let map = href_with("/graph", &[("mesh", Some(mesh.to_owned()))]);
    let body = match drift {
        Ok(counts) => drift_links(counts, ("mesh", mesh.to_owned())),
        Err(error) => view! { <SectionError what="the drift counts" error=error/> }.into_any(),
    };
    view! {
        <div class="mt-3" data-test-drift=mesh.to_owned()>
            <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Traffic drift: edges by class"</h4>
            <div class="mt-1 max-w-sm">{body}</div>
            <p class="mt-1 flex gap-3 text-sm">
                <a href=map class="text-indigo-700 hover:underline" data-test-drift-map="">"Map"</a>
                <a href=csv class="text-indigo-700 hover:underline" data-test-drift-csv="">"CSV of all edges"</a>
            </p>
        </div>
    }
}

/// The mesh's dataplanes whose team label names another team than the catalog owner, one
/// sentence each, and the JSON of them.
fn ownership_panel(control_plane: &str, mesh: &str, ownership: &Ownership) -> AnyView {
    let json = href_with(
        "/api/v1/mesh/ownership-drift",
        &[
            ("control_plane", Some(control_plane.to_owned())),
            ("mesh", Some(mesh.to_owned())),
        ],
    );
    let body = match ownership {
        Ok(o) => {
            let here = || {
                o.of(OwnershipDriftKind::TeamMismatch)
                    .filter(|f| f.control_plane.as_deref() == Some(control_plane) && f.mesh.as_deref() == Some(mesh))
            };
            let listed = o.of(OwnershipDriftKind::TeamMismatch).count() as u64;
            // Past the listing limit this mesh may have more than are listed: the JSON of this
            // mesh alone lists them.
            let unlisted = (o.totals.team_mismatch > listed)
                .then(|| view! { <p class="text-xs text-slate-500">"More may not be listed here; the JSON lists this mesh's."</p> });
            view! { {team_mismatches(here(), here().count() as u64, &o.team_label)}{unlisted} }.into_any()
        }
        Err(error) => view! { <SectionError what="the ownership drift" error=error.clone()/> }.into_any(),
    };
    view! {
        <div class="mt-3" data-test-ownership-drift=mesh.to_owned()>
            <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Ownership drift"</h4>
            <div class="mt-1">{body}</div>
            <a href=json class="mt-1 inline-block text-sm text-indigo-700 hover:underline" data-test-ownership-json="">"JSON"</a>
        </div>
    }
    .into_any()
}
