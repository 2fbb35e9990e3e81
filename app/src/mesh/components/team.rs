//! A team page's mesh health: the team's components with the worst status of their services.

use leptos::prelude::*;

use crate::catalog::ref_href;
use crate::error::{error_fallback, AppError};
use crate::mesh::{format_age, format_rate, TeamMeshRow};
use crate::ui::{Loading, MeshStatusBadge};

use super::day;

/// A team's components with their mesh health. `rows` is `None` when the page is not a team's.
#[component]
pub fn TeamMeshSection(rows: Resource<Result<Option<Vec<TeamMeshRow>>, AppError>>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="team-mesh-heading" data-test-team-mesh="">
            <h2 id="team-mesh-heading" class="font-semibold">"Mesh health"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        rows.await.map(|r| {
                            r.map(|rows| {
                                // The team page's mesh sections (this one, traffic drift) show
                                // the state of these components.
                                crate::rendered::mark_shows_mesh_of(rows.iter().map(|r| r.entity_ref.as_str()));
                                team_table(rows)
                            })
                        })
                    })}
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
