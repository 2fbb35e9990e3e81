//! Drift counts: edges per class, worst first, each a link to the map of those edges. Shown per
//! mesh on `/mesh` and for a team's components on its page, where the team's ownership drift
//! follows them.

use leptos::prelude::*;

use crate::error::{error_fallback, AppError};
use crate::graph::map_param;
use crate::mesh::api::{get_ownership_drift, get_team_drift};
use crate::mesh::ownership::OwnershipDrift;
use crate::policy::{class_label, class_meaning, ClassCount};
use crate::ui::{href_with, Loading};

/// The counts as links to `/graph` with `scope` (e.g. `("mesh", "default")`) and the class.
pub fn drift_links(counts: Vec<ClassCount>, scope: (&'static str, String)) -> AnyView {
    if counts.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-test-drift-none="">"No edges."</p> }.into_any();
    }
    let items = counts
        .into_iter()
        .map(|c| {
            let href = href_with("/graph", &[(scope.0, Some(scope.1.clone())), ("class", Some(c.class.clone()))]);
            let healthy = c.class == "healthy";
            view! {
                <li>
                    <a href=href title=class_meaning(&c.class) data-test-drift-class=c.class.clone() data-test-count=c.count
                        class=if healthy { "flex justify-between gap-3 rounded px-2 py-0.5 text-green-800 hover:bg-slate-50" }
                              else { "flex justify-between gap-3 rounded px-2 py-0.5 text-red-800 hover:bg-slate-50" }>
                        <span class="hover:underline">{class_label(&c.class)}</span>
                        <span class="font-medium tabular-nums">{c.count}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="text-sm">{items}</ul> }.into_any()
}

/// A team's drift, with the `/graph` value naming the team.
pub type TeamDrift = (String, Vec<ClassCount>);

/// The team's drift when the URL (`kind`, `namespace`, `name`) names a group; nothing to request
/// otherwise.
pub async fn team_drift_for((kind, namespace, name): (String, String, String)) -> Result<Option<TeamDrift>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    let team = map_param("group", &namespace.to_ascii_lowercase(), &name.to_ascii_lowercase());
    let counts = get_team_drift(namespace, name).await?;
    Ok(Some((team, counts)))
}

/// The team's ownership drift when the URL names a group; nothing to request otherwise.
pub async fn team_ownership_for(
    (kind, namespace, name): (String, String, String),
) -> Result<Option<OwnershipDrift>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    get_ownership_drift(Some(format!("group:{namespace}/{name}")))
        .await
        .map(Some)
}

/// A team page's drift: edges per class touching the team's components, linked to its map, and
/// where the mesh and the catalog disagree about who owns them.
#[component]
pub fn TeamDriftSection(
    drift: Resource<Result<Option<TeamDrift>, AppError>>,
    ownership: Resource<Result<Option<OwnershipDrift>, AppError>>,
) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="team-drift-heading" data-test-team-drift="">
            <h2 id="team-drift-heading" class="font-semibold">"Traffic drift"</h2>
            <p class="text-sm text-slate-500">"Edges from or to this team's services, by what the catalog declares, the mesh observed and its policies permit."</p>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        drift.await.map(|d| d.map(|(team, counts)| {
                            let map = href_with("/graph", &[("team", Some(team.clone()))]);
                            view! {
                                <div class="mt-2 max-w-sm">{drift_links(counts, ("team", team))}</div>
                                <a href=map class="mt-2 inline-block text-sm text-indigo-700 hover:underline" data-test-team-map="">"Open the team's map"</a>
                            }
                        }))
                    })}
                </ErrorBoundary>
            </Transition>
            <h3 class="mt-4 text-sm font-semibold">"Ownership drift"</h3>
            <p class="text-sm text-slate-500">"Where the mesh disagrees with the catalog about this team's services."</p>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { ownership.await.map(|o| o.map(super::ownership::team_ownership)) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
