//! Ownership drift as short lists: each dataplane whose team label disagrees with its
//! component's catalog owner as one sentence, and the components without a Kuma identity,
//! linked. Shown per mesh on `/mesh` and for a team's components on its page; each widget takes
//! the findings it shows.

use leptos::prelude::*;

use crate::catalog::{ref_href, split_ref};
use crate::mesh::ownership::{OwnershipDrift, OwnershipDriftKind, OwnershipFinding};

/// How many components without a Kuma identity show before the rest fold away.
const SHOWN: usize = 12;

/// The name part of a reference key, for short sentences (`payments-api`).
fn short(entity_ref: &str) -> String {
    split_ref(entity_ref).map_or(entity_ref, |(_, _, name)| name).to_owned()
}

/// "payments-api: dataplane payments-api-1 says team=checkout, the catalog says
/// group:default/payments".
fn mismatch(f: &OwnershipFinding, team_label: &str) -> impl IntoView {
    let dataplane = f.dataplane.clone().unwrap_or_default();
    let key = format!("{}|{dataplane}", f.component);
    let place = format!(
        "control plane {}, mesh {}",
        f.control_plane.as_deref().unwrap_or("?"),
        f.mesh.as_deref().unwrap_or("?")
    );
    let says = format!("{team_label}={}", f.label.as_deref().unwrap_or_default());
    let owner = f.owner.clone().unwrap_or_default();
    view! {
        <li data-test-ownership-mismatch=key title=place>
            <a href=ref_href(&f.component) class="text-indigo-700 hover:underline">{short(&f.component)}</a>
            ": dataplane " <span class="font-mono text-xs">{dataplane}</span>
            " says " <span class="font-mono text-xs">{says}</span>
            ", the catalog says "
            <a href=ref_href(&owner) class="text-indigo-700 hover:underline">{owner.clone()}</a>
        </li>
    }
}

/// The team mismatches among `findings`, one sentence each, or that there are none. `total` is
/// how many there are, also those not listed.
pub fn team_mismatches<'a>(
    findings: impl Iterator<Item = &'a OwnershipFinding>,
    total: u64,
    team_label: &str,
) -> AnyView {
    let items: Vec<_> = findings.map(|f| mismatch(f, team_label)).collect();
    if items.is_empty() {
        return view! {
            <p class="text-sm text-slate-500" data-test-ownership-none="">
                {format!("No dataplane's {team_label} label disagrees with the catalog owner.")}
            </p>
        }
        .into_any();
    }
    let more = (total > items.len() as u64).then(|| {
        view! { <li class="text-slate-500">{format!("and {} more", total - items.len() as u64)}</li> }
    });
    view! { <ul class="space-y-0.5 text-sm">{items}{more}</ul> }.into_any()
}

/// "N components have no Kuma identity", each linked, folded past [`SHOWN`].
pub fn without_identity(drift: &OwnershipDrift) -> AnyView {
    let total = drift.totals.not_in_mesh;
    if total == 0 {
        return view! {
            <p class="text-sm text-slate-500" data-test-no-identity-none="">
                "Every service and website component has a Kuma identity."
            </p>
        }
        .into_any();
    }
    let item = |f: &OwnershipFinding| {
        view! {
            <li data-test-no-identity=f.component.clone()>
                <a href=ref_href(&f.component) class="text-indigo-700 hover:underline">{short(&f.component)}</a>
            </li>
        }
    };
    let listed: Vec<&OwnershipFinding> = drift.of(OwnershipDriftKind::NotInMesh).collect();
    let (first, rest) = listed.split_at(listed.len().min(SHOWN));
    let unlisted = total.saturating_sub(listed.len() as u64);
    let heading = match total {
        1 => "1 component has no Kuma identity".to_owned(),
        n => format!("{n} components have no Kuma identity"),
    };
    view! {
        <p class="text-sm" data-test-no-identity-count=total>{heading}</p>
        <ul class="mt-1 columns-2 text-sm sm:columns-3">{first.iter().map(|f| item(f)).collect_view()}</ul>
        {(!rest.is_empty()).then(|| view! {
            <details class="mt-1 text-sm">
                <summary class="cursor-pointer text-indigo-700">{format!("{} more", rest.len())}</summary>
                <ul class="mt-1 columns-2 sm:columns-3">{rest.iter().map(|f| item(f)).collect_view()}</ul>
            </details>
        })}
        {(unlisted > 0).then(|| view! {
            <p class="mt-1 text-xs text-slate-500">{format!("{unlisted} more are not listed here.")}</p>
        })}
    }
    .into_any()
}

/// A team's ownership drift: its dataplanes whose label names another team, and its
/// components without a Kuma identity.
pub fn team_ownership(drift: OwnershipDrift) -> AnyView {
    if !drift.polling {
        return view! { <p class="text-sm text-slate-500">"No Kuma control plane is configured."</p> }.into_any();
    }
    view! {
        <div class="mt-2 space-y-2" data-test-team-ownership="">
            {team_mismatches(drift.of(OwnershipDriftKind::TeamMismatch), drift.totals.team_mismatch, &drift.team_label)}
            {without_identity(&drift)}
        </div>
    }
    .into_any()
}
